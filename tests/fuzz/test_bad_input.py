"""Bad input, generated: every tool argument and CLI command ends in a clear error or a correct
call; never an internal error, never a request outside the conversations API."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from langchain_integration import MaxTool
from max_tools import AsyncMaxClient
from max_tools.agent import ACTIONS
from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator, serve_in_thread
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


@pytest.mark.parametrize("action", [a.name for a in ACTIONS])
def test_mcp_tools_answer_random_arguments_with_a_result_or_a_clear_error(action: str) -> None:
    @FUZZ
    @given(arguments=arguments_for(action))
    def check(arguments: dict[str, Any]) -> None:
        requests: list[httpx.Request] = []

        async def call() -> Any:
            async with client_for(requests) as client, Client(build_server(client)) as mcp:
                return await mcp.call_tool(action, arguments)

        result = anyio.run(call)
        text = result.content[0].text
        assert "failed internally" not in text, text
        if result.is_error:
            assert text.startswith("Error executing tool") and len(text) < 3_000
        assert_inside_the_api(requests)

    check()


@pytest.mark.parametrize("action", [a.name for a in ACTIONS])
def test_langchain_tools_answer_random_arguments_with_a_tool_message(action: str) -> None:
    @FUZZ
    @given(arguments=arguments_for(action))
    def check(arguments: dict[str, Any]) -> None:
        requests: list[httpx.Request] = []

        async def call() -> Any:
            async with client_for(requests) as client:
                tool = MaxTool(action=action, client=client)
                return await tool.ainvoke(
                    {"type": "tool_call", "id": "1", "name": action, "args": arguments}
                )

        message = anyio.run(call)
        content = message.content
        assert isinstance(content, str) and content.strip(), message
        # What the agent reads: never an internal failure or a traceback, always bounded.
        assert "failed internally" not in content and "Traceback" not in content, content
        assert len(content) < 3_000, content
        if message.status == "error":
            assert (
                content.startswith(f"Invalid arguments for {action}:")
                or "PostHog" in content
                or "Not found" in content
                or "nothing was sent" in content  # e.g. no approval or form is waiting
                or "no charts" in content
                or "chart must be from" in content
            ), content
        else:
            assert message.status == "success", message
        assert_inside_the_api(requests)

    check()


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(delay_s=0) as running:
        yield running


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
