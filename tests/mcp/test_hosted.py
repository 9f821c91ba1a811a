"""Hosted max-mcp: per-request PostHog keys, per-request filters, health and the access log.

Served over real streamable HTTP on loopback, driven by the official MCP client, against the
emulator (which gives every key its own user).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.emulator import RunningEmulator
from max_tools.hosting import HostedSettings, shared_http_client
from mcp_server import build_server
from mcp_server._http import http_app, serve_http
from mcp_server.cli import main
from tests.mcp.results import data, text

ALICE = "phx_secret_value_123"  # both are in the suite's log scan (tests/conftest.py)
BOB = "phx_unit_key"
GENERATIONS = ["legacy", "2026-07-28"]  # 2025-11-25 with initialize; stateless with discover


@asynccontextmanager
async def hosted(
    emulator: RunningEmulator, **settings: Any
) -> AsyncIterator[tuple[str, RunningEmulator]]:
    rules = HostedSettings.create(host=emulator.url, **settings)
    async with serve_http(build_server(None), port=0, hosted=rules) as url:
        yield url, emulator


@asynccontextmanager
async def connect(
    url: str, key: str | None, *, mode: str = "2026-07-28", **headers: str
) -> AsyncIterator[Client]:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers={**auth, **headers})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def raw_post(emulator: RunningEmulator, *, query: str = "", **headers: str) -> httpx.Response:
    """An empty POST from Alice to a default deployment, with these headers: what it answers."""
    async with hosted(emulator) as (url, _), httpx.AsyncClient() as raw:
        return await raw.post(url + query, headers={"Authorization": f"Bearer {ALICE}", **headers})


def conversation_ids(listed: CallToolResult) -> set[str]:
    return {item["id"] for item in data(listed)["conversations"]}


@pytest.mark.parametrize("mode", GENERATIONS)
async def test_each_protocol_generation_calls_with_its_own_key_and_streams_progress(
    emulator: RunningEmulator, mode: str
) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with hosted(emulator) as (url, _), connect(url, ALICE, mode=mode) as mcp:
        with anyio.fail_after(30):
            tools = await mcp.list_tools()
            chat = await mcp.call_tool(
                "max_chat", {"message": "How many signups?"}, progress_callback=on_progress
            )
            listed = await mcp.call_tool("max_list_conversations", {})

    assert len(tools.tools) == 15
    assert data(chat)["status"] == "completed"
    assert seen and seen == sorted(seen)
    assert conversation_ids(listed) == {data(chat)["conversation_id"]}


async def test_two_keys_interleaved_never_see_each_others_conversations(
    emulator: RunningEmulator,
) -> None:
    started: dict[str, list[str]] = {ALICE: [], BOB: []}
    listed: dict[str, set[str]] = {}

    async def user(url: str, key: str) -> None:
        async with connect(url, key) as mcp:
            for round_ in range(3):
                chat = await mcp.call_tool("max_chat", {"message": f"round {round_}", "wait_s": 0})
                started[key].append(data(chat)["conversation_id"])
                await anyio.lowlevel.checkpoint()  # let the other user's call in between
            listed[key] = conversation_ids(await mcp.call_tool("max_list_conversations", {}))

    async with hosted(emulator) as (url, _):
        with emulator.held(), anyio.fail_after(30):  # runs stay in flight while both call
            async with anyio.create_task_group() as tg:
                tg.start_soon(user, url, ALICE)
                tg.start_soon(user, url, BOB)

    assert listed[ALICE] == set(started[ALICE]) and len(listed[ALICE]) == 3
    assert listed[BOB] == set(started[BOB]) and len(listed[BOB]) == 3


async def test_the_shared_pool_carries_only_the_requests_own_key_and_no_cookies() -> None:
    seen: list[tuple[str, str | None]] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["authorization"], request.headers.get("cookie")))
        return httpx.Response(
            200,
            json={"results": [], "count": 0},
            headers={"set-cookie": "sessionid=for-whoever-came-first; Path=/"},
        )

    pool = shared_http_client(httpx.MockTransport(upstream))
    async with pool:
        alice = AsyncMaxClient(api_key=ALICE, host="us", project_id=1, http_client=pool)
        bob = AsyncMaxClient(api_key=BOB, host="us", project_id=1, http_client=pool)
        await alice.list_conversations()
        await bob.list_conversations()
        await alice.list_conversations()

    assert seen == [(f"Bearer {ALICE}", None), (f"Bearer {BOB}", None), (f"Bearer {ALICE}", None)]


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "Send your PostHog personal API key"),
        ("Basic abc", "Use Authorization: Bearer phx_"),
        ("Bearer phc_project_token", "project token"),
        ("Bearer phx_has spaces", "not a PostHog personal API key"),
        ("Bearer sk-not-posthog", "not a PostHog personal API key"),
    ],
)
async def test_a_missing_or_malformed_key_gets_401_before_any_posthog_request(
    emulator: RunningEmulator, authorization: str | None, reason: str
) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    if authorization:
        headers["Authorization"] = authorization
    before = emulator.stats().connections
    async with hosted(emulator) as (url, _), httpx.AsyncClient() as raw:
        answer = await raw.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 1})

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert reason in answer.json()["detail"] and "\n" not in answer.text
    assert emulator.stats().connections == before


@pytest.mark.parametrize("emulator_options", [{"keys": [ALICE]}])
async def test_a_key_posthog_rejects_is_a_tool_error_that_says_so(
    emulator: RunningEmulator,
) -> None:
    async with hosted(emulator) as (url, _), connect(url, BOB) as mcp:
        with anyio.fail_after(30):
            refused = await mcp.call_tool("max_list_conversations", {})
            with pytest.raises(MCPError) as unread:
                await mcp.read_resource(
                    "posthog-max://conversations/6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
                )

    assert refused.is_error
    assert "rejected the personal API key this request sent" in text(refused)
    assert "rejected the personal API key this request sent" in str(unread.value)
    assert BOB not in text(refused) and BOB not in str(unread.value)


@pytest.mark.parametrize(
    ("query", "headers", "says"),
    [
        ("?readonly=banana", {}, "?readonly must be true or false, not 'banana'"),
        ("", {"x-posthog-read-only": "ture"}, "x-posthog-read-only must be true or false"),
    ],
)
async def test_a_read_only_switch_that_is_neither_true_nor_false_is_refused(
    emulator: RunningEmulator, query: str, headers: dict[str, str], says: str
) -> None:
    refused = await raw_post(emulator, query=query, **headers)

    assert refused.status_code == 400 and says in refused.json()["detail"]


@pytest.mark.parametrize(
    ("where", "headers"),
    [
        ("?readonly=true", {}),
        ("", {"x-posthog-read-only": "true"}),
        ("", {"x-posthog-readonly": "1"}),
    ],
)
async def test_read_only_per_request_lists_and_calls_only_read_only_tools(
    emulator: RunningEmulator, where: str, headers: dict[str, str]
) -> None:
    async with hosted(emulator) as (url, _), connect(url + where, ALICE, **headers) as mcp:
        with anyio.fail_after(30):
            tools = await mcp.list_tools()
            refused = await mcp.call_tool("max_chat", {"message": "hi"})

    names = {tool.name for tool in tools.tools}
    assert "max_wait" in names and "max_chat" not in names and "max_cancel" not in names
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.tools)
    assert refused.is_error and "read-only" in text(refused)
    assert emulator.stats().conversations == 0


@pytest.mark.parametrize("mode", GENERATIONS)
async def test_the_tool_filter_narrows_tools_list_and_refuses_other_calls(
    emulator: RunningEmulator, mode: str
) -> None:
    async with (
        hosted(emulator) as (url, _),
        connect(url + "?tools=max_chat,max_wait", ALICE, mode=mode) as mcp,
    ):
        with anyio.fail_after(30):
            tools = await mcp.list_tools()
            refused = await mcp.call_tool("max_list_conversations", {})
    unknown = await raw_post(emulator, query="?tools=max_chat,max_fly")

    assert sorted(tool.name for tool in tools.tools) == ["max_chat", "max_wait"]
    assert refused.is_error and "keeps only max_chat, max_wait" in text(refused)
    assert unknown.status_code == 400 and "max_fly" in unknown.json()["detail"]


async def test_the_filters_also_hold_in_single_key_mode(max_client: AsyncMaxClient) -> None:
    async with serve_http(build_server(max_client), port=0) as url:
        with anyio.fail_after(30):
            async with Client(f"{url}?readonly=true&tools=max_chat,max_wait") as mcp:
                tools = await mcp.list_tools()

    assert [tool.name for tool in tools.tools] == ["max_wait"]


async def test_the_project_header_is_taken_only_where_the_deployment_allows_it(
    emulator: RunningEmulator,
) -> None:
    pinned = await raw_post(emulator, **{"x-posthog-project-id": "7"})
    async with hosted(emulator, allow_project_header=True) as (url, _):
        async with connect(url, ALICE, **{"x-posthog-project-id": "7"}) as in_seven:
            chat = await in_seven.call_tool("max_chat", {"message": "hi"})
            in_project_seven = await in_seven.call_tool("max_list_conversations", {})
        async with connect(url, ALICE) as in_default:
            in_default_project = await in_default.call_tool("max_list_conversations", {})

    assert pinned.status_code == 400 and "pinned to project @current" in pinned.json()["detail"]
    assert conversation_ids(in_project_seven) == {data(chat)["conversation_id"]}
    assert conversation_ids(in_default_project) == set()


async def test_a_per_request_host_must_be_on_the_deployments_allowlist(
    emulator: RunningEmulator,
) -> None:
    other = await raw_post(emulator, **{"x-posthog-host": "eu"})
    garbled = await raw_post(emulator, **{"x-posthog-host": "https://x:abc"})
    async with (
        hosted(emulator, allowed_hosts=["eu"]) as (url, _),
        connect(url, ALICE, **{"x-posthog-host": emulator.url}) as mcp,
    ):
        listed = await mcp.call_tool("max_list_conversations", {})

    assert other.status_code == 400 and "https://eu.posthog.com" in other.json()["detail"]
    assert garbled.status_code == 400 and "not a web address" in garbled.json()["detail"]
    assert not listed.is_error


async def test_request_bodies_over_the_limit_get_413(emulator: RunningEmulator) -> None:
    rules = HostedSettings.create(host=emulator.url)
    async with (
        serve_http(build_server(None), port=0, hosted=rules, max_body_bytes=2048) as url,
        httpx.AsyncClient() as raw,
    ):
        big = await raw.post(url, headers={"Authorization": f"Bearer {ALICE}"}, content=b"x" * 4096)

    assert big.status_code == 413


async def test_healthz_and_readyz_say_whether_posthog_can_be_reached(
    emulator: RunningEmulator,
) -> None:
    async with hosted(emulator) as (url, _), httpx.AsyncClient() as raw:
        base = url.removesuffix("/mcp")
        alive, ready = await raw.get(base + "/healthz"), await raw.get(base + "/readyz")
    nowhere = HostedSettings.create(host="http://127.0.0.1:9")  # discard port: nothing listens
    async with (
        serve_http(build_server(None), port=0, hosted=nowhere) as url,
        httpx.AsyncClient() as raw,
    ):
        base = url.removesuffix("/mcp")
        alive_alone, unready = await raw.get(base + "/healthz"), await raw.get(base + "/readyz")

    assert alive.status_code == 200 and ready.status_code == 200
    assert alive_alone.status_code == 200
    assert unready.status_code == 503 and "cannot reach" in unready.json()["detail"]


async def test_one_access_log_line_per_request_names_the_tool_but_no_key_or_text(
    emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with hosted(emulator) as (url, _):
        caplog.clear()
        async with connect(url, ALICE, mode="legacy") as mcp:
            await mcp.call_tool("max_chat", {"message": "a secret plan for signups"})

    lines = [r.getMessage() for r in caplog.records if r.name == "mcp_server.access"]
    calls = [line for line in lines if "tool=max_chat" in line]
    assert len(calls) == 1 and calls[0].startswith("POST /mcp 200 ")
    assert all(line.endswith("tool=-") for line in lines if line not in calls)
    assert not any("secret plan" in line or ALICE in line for line in lines)


async def test_mixing_the_key_modes_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    http = ["--transport", "http", "--per-request-keys"]
    with_token = main([*http, "--auth-token", "s3cret-token"])
    with_key = main([*http, "--api-key", ALICE])
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", ALICE)
    with_env_key = main(http)
    monkeypatch.delenv("POSTHOG_PERSONAL_API_KEY")
    over_stdio = main(["--per-request-keys"])
    errors = capsys.readouterr().err

    assert (with_token, with_key, with_env_key, over_stdio) == (2, 2, 2, 2)
    assert "do not mix" in errors and "POSTHOG_PERSONAL_API_KEY sets one" in errors
    assert "--per-request-keys needs --transport http" in errors
    assert ALICE not in errors
    with pytest.raises(ConfigurationError, match="do not mix"):
        http_app(build_server(None), host="127.0.0.1", auth_token="t", hosted=HostedSettings("x"))


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--grace-s", "nan"], "--grace-s: expected a positive number, not nan"),
        (["--grace-s", "inf"], "--grace-s: expected a positive number, not inf"),
        (["--workers", "0"], "--workers: expected a positive number, not 0"),
        (["--allowed-hosts", "https://eu.posthog.com:99999"], "is not a web address"),
        (["--port", "99999"], "--port: expected a port from 0 to 65535, not 99999"),
        (["--state-secret", "short-secret"], "key 1 is 12 bytes; each needs at least 32"),
        (["--state-secret", f"{'k' * 32},{'k' * 32}"], "names the same key twice"),
    ],
)
def test_bad_deployment_settings_are_one_sentence_and_exit_2(
    flags: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    http = ["--transport", "http", "--per-request-keys", "--posthog-host", "https://x.example"]
    try:
        code = main([*http, *flags])
    except SystemExit as exited:  # argparse's refusal
        code = int(str(exited.code))

    assert code == 2
    errors = capsys.readouterr().err
    assert says in errors and "Traceback" not in errors
    assert "short-secret" not in errors and "k" * 32 not in errors


async def test_a_users_requests_share_what_a_client_remembers_about_conversations(
    emulator: RunningEmulator,
) -> None:
    # Each request has its own client; the approval seen by one request must still be reported
    # as skipped when the user's next request sends a new message instead of deciding.
    async with hosted(emulator) as (url, _):
        async with connect(url, ALICE) as first:
            paused = data(await first.call_tool("max_chat", {"message": "Delete my dashboard"}))
        async with connect(url, BOB) as other_user:
            await other_user.call_tool("max_list_conversations", {})
        async with connect(url, ALICE) as second:
            moved_on = data(
                await second.call_tool(
                    "max_chat",
                    {"message": "How many signups?", "conversation_id": paused["conversation_id"]},
                )
            )

    assert paused["status"] == "needs_approval"
    assert moved_on["status"] == "completed"
    assert moved_on["skipped_approvals"] == [paused["approvals"][0]["proposal_id"]]


def test_a_port_in_use_is_one_sentence_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        http = ["--transport", "http", "--per-request-keys", "--posthog-host", "https://x.example"]
        code = main([*http, "--port", str(port)])

    errors = capsys.readouterr().err
    assert code == 1
    assert f"max-mcp: cannot serve on 127.0.0.1:{port}: Address already in use" in errors
    assert "Traceback" not in errors


async def test_another_users_conversation_is_refused_with_advice_about_owning_it(
    emulator: RunningEmulator,
) -> None:
    async with hosted(emulator) as (url, _):
        async with connect(url, ALICE) as alice:
            cid = data(await alice.call_tool("max_chat", {"message": "hi"}))["conversation_id"]
        async with connect(url, "phx_bob_other_user") as bob:
            queue = await bob.call_tool("max_list_queue", {"conversation_id": cid})
            chat = await bob.call_tool("max_chat", {"message": "mine?", "conversation_id": cid})

    for refused in (queue, chat):
        assert refused.is_error
        assert "belongs to another user" in text(refused), text(refused)
        assert "scopes" not in text(refused)


def test_allowed_hosts_from_the_environment_are_checked_like_the_flag(
    port_in_use: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_MCP_ALLOWED_HOSTS", "us,ftp://x.example")
    http = ["--transport", "http", "--port", str(port_in_use), "--per-request-keys"]

    assert main(http) == 2  # exit 1 had it tried to serve
    errors = capsys.readouterr().err
    assert "ftp://x.example" in errors and "Traceback" not in errors
