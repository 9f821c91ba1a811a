"""MaxToolkit and its tools: options, parity with MCP, errors, progress, and an agent loop."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.types import StreamMode
from mcp import Client

from langchain_integration import PROGRESS_EVENT, MaxTool, MaxToolkit
from max_tools import AsyncMaxClient, ConfigurationError, MaxClient
from max_tools.agent import ACTIONS, ChartResult, ChatResult
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from mcp_server import build_server


def toolkit(emulator: RunningEmulator, **options: Any) -> MaxToolkit:
    return MaxToolkit(api_key=DEFAULT_KEY, host=emulator.url, project_id=1, **options)


def tools_by_name(kit: MaxToolkit) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in kit.get_tools()}


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": str(uuid.uuid4()), "name": name, "args": args}


# Construction and options


def test_the_toolkit_gives_the_twelve_tools_in_catalogue_order() -> None:
    kit = MaxToolkit(api_key="phx_k", host="eu")
    tools = kit.get_tools()

    assert [t.name for t in tools] == [a.name for a in ACTIONS]
    assert all(t.response_format == "content_and_artifact" and t.handle_tool_error for t in tools)
    assert all(isinstance(t, MaxTool) and t.host == "https://eu.posthog.com" for t in tools)


def test_read_only_and_tool_selection() -> None:
    read_only = MaxToolkit(api_key="phx_k", read_only=True).get_tools()
    chosen = MaxToolkit(api_key="phx_k", tools=["max_wait", "max_chat"]).get_tools()

    assert [t.name for t in read_only] == [
        "max_wait",
        "max_list_conversations",
        "max_get_conversation",
        "max_get_chart",
        "max_list_queue",
    ]
    assert [t.name for t in chosen] == ["max_chat", "max_wait"]
    with pytest.raises(ConfigurationError, match="max_fly"):
        MaxToolkit(api_key="phx_k", tools=["max_fly"])


def test_configuration_errors_propagate_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="POSTHOG_PERSONAL_API_KEY"):
        MaxToolkit()
    with pytest.raises(ConfigurationError, match="project token"):
        MaxTool(action="max_chat", api_key="phc_project_token")
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    assert MaxToolkit().get_tools()[0].api_key.get_secret_value() == "phx_from_env"  # type: ignore[attr-defined]  # a MaxTool


def test_the_key_stays_out_of_reprs_and_dumps() -> None:
    kit = MaxToolkit(api_key="phx_secret_value_123")
    tool = kit.get_tools()[0]

    assert "phx_secret_value_123" not in repr(kit) + repr(tool) + str(tool.model_dump()) + str(
        kit.model_dump()
    )


async def test_langchain_and_mcp_publish_the_same_argument_schemas(
    emulator: RunningEmulator,
) -> None:
    async with (
        AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client,
        Client(build_server(client)) as mcp,
    ):
        mcp_tools = {t.name: t for t in (await mcp.list_tools()).tools}
    for tool in toolkit(emulator).get_tools():
        langchain_schema = convert_to_openai_tool(tool)["function"]["parameters"]
        mcp_schema = mcp_tools[tool.name].input_schema
        assert set(langchain_schema["properties"]) == set(mcp_schema["properties"]), tool.name
        for name, prop in mcp_schema["properties"].items():
            assert langchain_schema["properties"][name] == prop, (tool.name, name)
        assert sorted(langchain_schema.get("required", [])) == sorted(
            mcp_schema.get("required", [])
        )
        assert tool.description == mcp_tools[tool.name].description


# Invoking


async def test_ainvoke_returns_text_content_and_a_typed_artifact(emulator: RunningEmulator) -> None:
    tools = tools_by_name(toolkit(emulator))

    message = await tools["max_chat"].ainvoke(
        call("max_chat", message="Show me a trend of signups")
    )

    assert isinstance(message, ToolMessage)
    assert isinstance(message.artifact, ChatResult) and message.artifact.status == "completed"
    assert f"conversation_id: {message.artifact.conversation_id}" in message.content
    assert "status: completed" in message.content


async def test_the_chart_tool_gives_the_table_as_content_and_the_data_as_artifact(
    emulator: RunningEmulator,
) -> None:
    tools = tools_by_name(toolkit(emulator))
    asked = await tools["max_chat"].ainvoke(call("max_chat", message="Plot signups by country"))
    cid = asked.artifact.conversation_id

    message = await tools["max_get_chart"].ainvoke(call("max_get_chart", conversation_id=cid))

    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        _, truth = await client.chart_data(cid, 1)
    artifact = message.artifact
    assert isinstance(artifact, ChartResult)
    assert [s["data"] for s in artifact.series or []] == [s.data for s in truth.series or []]
    assert artifact.vega_lite is not None and artifact.vega_lite["data"]["values"]
    first = truth.series[0] if truth.series else None
    assert first is not None
    assert f"| {first.days[0]} | {int(first.data[0])} |" in message.content


def test_invoke_from_sync_code_through_the_sync_facade(emulator: RunningEmulator) -> None:
    tools = tools_by_name(toolkit(emulator))

    message = tools["max_chat"].invoke(call("max_chat", message="How many signups?"))
    listed = tools["max_list_conversations"].invoke({"limit": 5})

    assert message.artifact.status == "completed"
    assert message.artifact.conversation_id in listed


def test_a_shared_sync_client_is_used(emulator: RunningEmulator) -> None:
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as shared:
        tools = tools_by_name(MaxToolkit(client=shared))
        reply = shared.ask("Seeded through the shared client")
        listed = tools["max_list_conversations"].invoke({})

    assert reply.conversation_id in listed


async def test_agent_actionable_failures_become_error_tool_messages(
    emulator: RunningEmulator,
) -> None:
    tools = tools_by_name(toolkit(emulator))
    missing = str(uuid.uuid4())

    not_found = await tools["max_get_conversation"].ainvoke(
        call("max_get_conversation", conversation_id=missing)
    )
    malformed = await tools["max_wait"].ainvoke(call("max_wait", conversation_id="../../etc"))
    blank = await tools["max_chat"].ainvoke(call("max_chat", message="  "))

    assert not_found.status == "error" and "Not found" in not_found.content
    assert malformed.status == "error"
    assert "conversation_id must be a conversation id" in malformed.content
    assert blank.status == "error" and "message is empty" in blank.content


async def test_programming_errors_propagate(emulator: RunningEmulator) -> None:
    closed = AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1)
    await closed.aclose()
    tool = tools_by_name(MaxToolkit(client=closed))["max_list_conversations"]

    with pytest.raises(RuntimeError):
        await tool.ainvoke(call(tool.name))


# Progress


async def test_progress_goes_out_as_custom_events(emulator: RunningEmulator) -> None:
    tools = tools_by_name(toolkit(emulator))

    events = [
        event
        async for event in tools["max_chat"].astream_events(
            {"message": "Plot weekly signups"}, version="v2"
        )
        if event["event"] == "on_custom_event"
    ]

    assert events and all(e["name"] == PROGRESS_EVENT for e in events)
    data: list[dict[str, Any]] = [dict(e["data"]) for e in events]
    progress = [d["progress"] for d in data]
    assert progress == sorted(set(progress))
    assert any("Creating a trends insight" in d["message"] for d in data)
    assert any(d["message"].startswith("Here is what I found") for d in data)


# An agent loop


class ToolCallingFakeModel(GenericFakeChatModel):
    """A chat model that plays back scripted messages and accepts any tools."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingFakeModel:
        return self


async def test_an_agent_chats_waits_and_reads_the_queue(emulator: RunningEmulator) -> None:
    from langchain.agents import create_agent

    cid = str(uuid.uuid4())
    script: list[AIMessage | str] = [
        AIMessage(
            content="",
            tool_calls=[
                call("max_chat", message="How many signups last week?", conversation_id=cid)
            ],
        ),
        AIMessage(
            content="",
            tool_calls=[
                call("max_wait", conversation_id=cid),
                call("max_list_queue", conversation_id=cid),
            ],
        ),
        AIMessage(content="PostHog AI answered; the queue is empty."),
    ]
    agent = create_agent(
        ToolCallingFakeModel(messages=iter(script)), tools=toolkit(emulator).get_tools()
    )

    custom: list[Any] = []
    final: Any = {}
    modes: list[StreamMode] = ["custom", "values"]
    inputs: Any = {"messages": [HumanMessage("Ask PostHog AI about signups")]}
    async for mode, chunk in agent.astream(inputs, stream_mode=modes):
        if mode == "custom":
            custom.append(chunk)
        else:
            final = chunk

    tool_messages = [m for m in final["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["max_chat", "max_wait", "max_list_queue"]
    assert all(m.status != "error" for m in tool_messages)
    assert tool_messages[0].artifact.conversation_id == cid
    assert "status: completed" in tool_messages[1].content
    assert "The queue is empty" in tool_messages[2].content
    assert final["messages"][-1].content == "PostHog AI answered; the queue is empty."
    assert custom and all(
        c["tool"] in ("max_chat", "max_wait") for c in custom
    )  # stream_mode="custom"
