"""Bad input, generated: every tool argument and CLI command ends in a clear error or a correct
call; never an internal error, never a request outside the conversations API."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import TextContent

from langchain_integration import MaxTool
from max_tools import AsyncMaxClient
from max_tools.agent import ACTIONS
from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from mcp_server import build_server

UUID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
API_PATH = re.compile(
    r"^/api/environments/1/conversations/"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/"
    r"(?:append_message/|cancel/|queue/(?:clear/|[^/.?#%\s]{1,128}/)?)?)?$"
)

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "../",
        "..%2F..%2Fetc",
        "%2F",
        "a/b",
        "a.b",
        "?x=1",
        "#frag",
        "\x00",
        "\n",
        "é🙂",
        "x" * 50_000,
    ]
)
VALUES = st.one_of(
    st.text(max_size=60),
    NASTY_TEXT,
    st.just(UUID),
    st.just(UUID.upper()),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def arguments_for(action_name: str) -> st.SearchStrategy[dict[str, Any]]:
    action = next(a for a in ACTIONS if a.name == action_name)
    fields = list(action.params.model_fields)
    return st.dictionaries(
        st.sampled_from([*fields, "unexpected", "conversation"]), VALUES, max_size=len(fields) + 1
    )


def handler(requests: list[httpx.Request]) -> httpx.MockTransport:
    """PostHog at the HTTP edge: records every request and answers plausibly."""

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/conversations/"):
            body = json.loads(request.content)
            events = [
                {"content": str(body.get("content")), "id": str(uuid.uuid4()), "type": "human"},
                {"content": "An answer.", "id": str(uuid.uuid4()), "type": "ai"},
            ]
            if body.get("content") is None:
                events = events[1:]
            stream = b"".join(f"event: message\ndata: {json.dumps(e)}\n\n".encode() for e in events)
            return httpx.Response(
                200, headers={"Content-Type": "text/event-stream"}, content=stream
            )
        if "/queue" in path:
            return httpx.Response(200, json={"messages": [], "max_queue_messages": 2})
        if path.endswith("/append_message/"):
            return httpx.Response(201, json={"id": "m1"})
        if request.method in ("PATCH", "DELETE"):
            return httpx.Response(204)
        if path.endswith("/conversations/"):
            return httpx.Response(
                200, json={"count": 0, "next": None, "previous": None, "results": []}
            )
        return httpx.Response(
            200, json={"id": UUID, "status": "idle", "title": "T", "messages": []}
        )

    return httpx.MockTransport(respond)


def client_for(requests: list[httpx.Request]) -> AsyncMaxClient:
    http = httpx.AsyncClient(transport=handler(requests))
    return AsyncMaxClient(api_key="phx_fuzz", project_id=1, http_client=http)


def assert_inside_the_api(requests: list[httpx.Request]) -> None:
    for request in requests:
        assert API_PATH.match(request.url.raw_path.decode().split("?")[0]), request.url


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OUR_ERRORS = re.compile(
    r"^Invalid arguments for max_\w+: |PostHog|Not found|nothing was sent|no charts|chart must be from"
)
"""How the tools' own error sentences read (argument errors start by naming the tool)."""
NOT_OURS = re.compile(
    r"validation error|Input should|type=\w|pydantic|https?://|Traceback|failed internally"
)
"""Library wording, links and crashes: what a model must never be shown."""


async def what_the_agent_sees(
    face: str, action: str, arguments: dict[str, Any], requests: list[httpx.Request]
) -> tuple[bool, str, object]:
    """One tool call through a face: whether it failed, the text and the typed data the model gets."""
    async with client_for(requests) as client:
        if face == "mcp":
            async with Client(build_server(client)) as mcp:
                result = await mcp.call_tool(action, arguments)
            block = result.content[0]
            assert isinstance(block, TextContent), block
            text = block.text
            if result.is_error:  # the SDK's prefix, then our sentence
                assert text.startswith(f"Error executing tool {action}: "), text
                text = text.removeprefix(f"Error executing tool {action}: ")
            return result.is_error, text, result.structured_content
        tool = MaxTool(action=action, client=client)
        message = await tool.ainvoke(
            {"type": "tool_call", "id": "1", "name": action, "args": arguments}
        )
        assert isinstance(message.content, str), message
        return message.status == "error", message.content, message.artifact


@pytest.mark.parametrize("face", ["mcp", "langchain"])
@pytest.mark.parametrize("action", [a.name for a in ACTIONS])
def test_tools_answer_random_arguments_with_a_result_or_one_sentence_of_ours(
    face: str, action: str
) -> None:
    @FUZZ
    @given(arguments=arguments_for(action))
    def check(arguments: dict[str, Any]) -> None:
        requests: list[httpx.Request] = []

        failed, text, data = anyio.run(what_the_agent_sees, face, action, arguments, requests)

        assert text.strip() and len(text) < 3_000, text
        if failed:
            assert OUR_ERRORS.search(text), text
            assert not NOT_OURS.search(text), text
            assert data is None  # no half result next to an error
        else:
            assert data is not None, text  # the typed result travels with the text
        assert_inside_the_api(requests)

    check()


COMMANDS: dict[str, list[str]] = {
    "chat": ["chat", "{text}"],
    "chat-conversation": ["chat", "{text}", "--conversation", "{text}"],
    "wait": ["wait", "{text}"],
    "show": ["conversations", "show", "{text}"],
    "list": ["conversations", "list", "--limit", "{text}"],
    "cancel": ["cancel", "{text}"],
    "queue-list": ["queue", "list", "{text}"],
    "queue-add": ["queue", "add", "{text}", "{text}"],
    "queue-edit": ["queue", "edit", UUID, "{text}", "{text}"],
    "queue-rm": ["queue", "rm", "{text}", "{text}"],
    "queue-clear": ["queue", "clear", "{text}"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_commands_answer_random_arguments_with_a_clear_outcome(
    emulator: RunningEmulator, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        texts=st.lists(
            st.one_of(st.text(max_size=40), NASTY_TEXT, st.just(UUID)), min_size=2, max_size=2
        )
    )
    def check(texts: list[str]) -> None:
        pool = iter(texts)
        argv = [next(pool, "x") if part == "{text}" else part for part in COMMANDS[command]]
        try:
            code = main(
                ["--api-key", DEFAULT_KEY, "--host", emulator.url, "--project-id", "1", *argv]
            )
        except SystemExit as exit_:  # argparse refusing the arguments
            code = int(exit_.code or 0)
        err = capsys.readouterr().err
        assert code in (0, 1, 2)
        assert "Traceback" not in err
        if code:
            assert err.strip(), "a failure must say why"

    check()
