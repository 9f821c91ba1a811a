"""OpenAI strict function schemas: every tool converts with openai-agents and means the same.

openai-agents converts an MCP tool's input schema with `convert_schemas_to_strict=True` (every
property required, `additionalProperties: false`) and silently falls back to a loose schema
when it cannot; a strict-mode model then fills every argument, with null for "the default".
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from agents import RunContextWrapper
from agents.mcp import MCPServer, MCPUtil
from agents.strict_schema import ensure_strict_json_schema
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp import Client
from mcp_types import CallToolResult, GetPromptResult, ListPromptsResult
from mcp_types import Tool as MCPTool

from langchain_integration import MaxToolkit
from max_tools import AsyncMaxClient, ToolResultMessage
from max_tools.agent import ACTIONS_BY_NAME, input_schema, parse_arguments
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


class OfficialClientServer(MCPServer):
    """max-mcp as openai-agents sees it, reached through the official MCP client in memory."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    async def connect(self) -> None:
        """Connected already: the official client is open."""

    @property
    def name(self) -> str:
        return "max-mcp"

    async def cleanup(self) -> None:
        """The official client is closed by its owner."""

    async def list_tools(self, run_context: Any = None, agent: Any = None) -> list[MCPTool]:
        return list((await self.client.list_tools()).tools)

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        return await self.client.call_tool(tool_name, arguments or {})

    async def list_prompts(self) -> ListPromptsResult:
        return await self.client.list_prompts()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        return await self.client.get_prompt(name, arguments)


def nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every subschema of `schema`."""
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from nodes(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from nodes(value)


def takes_null(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(takes_null(branch) for branch in prop.get("anyOf", []))


def assert_means_the_same(tool: str, published: dict[str, Any], strict: dict[str, Any]) -> None:
    """The strict schema asks for what the published one does: optional = nullable, no less."""
    required = set(published.get("required", []))
    assert strict["required"] == list(published["properties"]), tool
    assert strict["additionalProperties"] is False, tool
    for name, prop in strict["properties"].items():
        assert takes_null(prop) == (name not in required), (tool, name)
    for node in nodes(strict):
        if node.get("type") == "object" or "properties" in node:
            # A free-form object closed by the conversion would accept only {}.
            assert node.get("properties"), f"{tool}: an open object lost its meaning: {node}"


async def test_every_mcp_tool_converts_to_a_strict_schema_with_openai_agents(mcp: Client) -> None:
    server = OfficialClientServer(mcp)
    tools = await server.list_tools()

    assert len(tools) == 15
    for tool in tools:
        function = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
        assert function.strict_json_schema, f"{tool.name} fell back to a loose schema"
        assert_means_the_same(tool.name, tool.input_schema, function.params_json_schema)


async def test_every_langchain_tool_converts_to_a_strict_schema_with_openai_agents(
    emulator: RunningEmulator,
) -> None:
    kit = MaxToolkit(api_key=DEFAULT_KEY, host=emulator.url, project_id=1)

    for tool in kit.get_tools():
        published = convert_to_openai_tool(tool)["function"]["parameters"]
        strict = ensure_strict_json_schema(copy.deepcopy(published))
        assert_means_the_same(tool.name, published, strict)


async def call_strictly(server: OfficialClientServer, name: str, **arguments: Any) -> str:
    """Call a tool as openai-agents does for a strict-mode model: every argument, nulls too."""
    [tool] = [tool for tool in await server.list_tools() if tool.name == name]
    function = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
    assert set(arguments) == set(function.params_json_schema["properties"])
    output = await MCPUtil.invoke_mcp_tool(
        server, tool, RunContextWrapper(context=None), json.dumps(arguments)
    )
    items: list[Any] = output if isinstance(output, list) else [output]
    return "\n".join(str(item["text"]) for item in items if item["type"] == "text")


async def test_strict_calls_with_nulls_for_defaults_chat_approve_with_a_payload_and_answer(
    mcp: Client, max_client: AsyncMaxClient
) -> None:
    server = OfficialClientServer(mcp)
    defaults = {"conversation_id": None, "agent_mode": None, "wait_s": None}

    asked = await call_strictly(server, "max_chat", message="How many signups?", **defaults)
    assert "status: completed" in asked

    paused = await call_strictly(
        server, "max_chat", message="Delete the onboarding dashboard", **defaults
    )
    assert "status: needs_approval" in paused
    cid, proposal = _ids(paused)
    done = await call_strictly(
        server,
        "max_approve",
        conversation_id=cid,
        proposal_id=proposal,
        decision="approve",
        feedback=None,
        payload='{"dashboard_id": 590}',
        wait_s=None,
    )
    assert "status: completed" in done
    stored = await max_client.get_conversation(cid)
    tool = next(m for m in stored.messages if isinstance(m, ToolResultMessage))
    assert '"dashboard_id": 590' in tool.content  # the edited payload reached PostHog AI

    form = await call_strictly(server, "max_chat", message="Make me a chart", **defaults)
    assert "status: needs_answer" in form
    form_cid, _ = _ids(form)
    answered = await call_strictly(
        server,
        "max_answer",
        conversation_id=form_cid,
        answers=[
            {"question_id": "time_range", "answer": "Last 30 days"},
            {"question_id": "breakdown", "answer": ["Country"]},
        ],
        wait_s=None,
    )
    assert "Thanks for the answers." in answered
    stored = await max_client.get_conversation(form_cid)
    tool = next(m for m in stored.messages if isinstance(m, ToolResultMessage))
    assert tool.content == (
        "Which time range should I use?: Last 30 days\nBreak the chart down by?: Country"
    )


def _ids(text: str) -> tuple[str, str]:
    """The conversation id and the proposal id (if any) that a result's text states."""
    cid = text.split("conversation_id: ", 1)[1].split()[0]
    proposal = text.split("proposal_id: ", 1)[1].split(")")[0] if "proposal_id: " in text else ""
    return cid, proposal


@pytest.mark.parametrize(
    ("tool", "given"),
    [
        ("max_chat", {"message": "How many signups?"}),
        ("max_wait", {"conversation_id": "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"}),
        (
            "max_approve",
            {
                "conversation_id": "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77",
                "proposal_id": "p1",
                "decision": "reject",
            },
        ),
        ("max_answer", {"conversation_id": "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77", "answers": []}),
        ("max_list_conversations", {}),
        ("max_get_conversation", {"conversation_id": "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"}),
        ("max_get_chart", {"conversation_id": "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"}),
    ],
)
def test_null_for_an_optional_argument_means_its_default(tool: str, given: dict[str, Any]) -> None:
    action = ACTIONS_BY_NAME[tool]
    optional = set(input_schema(action)["properties"]) - set(given)
    assert optional
    strict = {**given, **dict.fromkeys(optional)}

    assert parse_arguments(action, strict) == parse_arguments(action, given)
