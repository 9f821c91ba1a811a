"""Hosted max-mcp scaled out: real `max-mcp --per-request-keys` processes (one of them with
uvicorn workers) behind a round-robin balancer, one shared emulator, and a graceful SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult

from max_tools.emulator import RunningEmulator
from tests.mcp.results import data
from tests.scale.round_robin import RoundRobin, round_robin

ALICE = "phx_secret_value_123"
STATE_SECRET = "the-deployments-state-secret-0123456789abcdef"
OLD_STATE_SECRET = "the-state-secret-it-had-before-0123456789abc"
BOB = "phx_unit_key"
_URL = re.compile(r"serving MCP over streamable HTTP at (http://\S+/mcp)")


@dataclass
class Replica:
    process: Process
    url: str
    stderr: list[str] = field(default_factory=list)
    changed: anyio.Event = field(default_factory=anyio.Event)

    async def said(self, text: str) -> None:
        """Wait until the process has written `text` to stderr."""
        while text not in "".join(self.stderr):
            await self.changed.wait()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])


@asynccontextmanager
async def replica(
    emulator: RunningEmulator, *options: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[Replica]:
    """A `max-mcp --per-request-keys` process on the emulator (holding no key); its stderr is
    drained (and kept) while it runs."""
    # The suite's environment has no PostHog key (an autouse fixture removes it), and keeps
    # coverage's settings, so what the replicas run is measured too.
    env = {**os.environ, "POSTHOG_HOST": emulator.url, **(env or {})}
    command = [sys.executable, "-m", "mcp_server", "--transport", "http", "--port", "0"]
    process = await anyio.open_process(
        [*command, "--per-request-keys", "--log-level", "DEBUG", *options], env=env
    )
    assert process.stderr is not None
    lines = TextReceiveStream(process.stderr)
    printed = ""
    try:
        with anyio.fail_after(30):
            async for text in lines:
                printed += text
                if found := _URL.search(printed):
                    break
        assert found is not None, printed
        running = Replica(process, found.group(1), [printed])

        async def drain() -> None:
            async for text in lines:
                running.stderr.append(text)
                running.changed.set()
                running.changed = anyio.Event()

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            try:
                yield running
            finally:
                if process.returncode is None:
                    process.terminate()
                with anyio.fail_after(30):
                    await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()


@asynccontextmanager
async def user(
    url: str, key: str, mode: str = "2026-07-28", **options: Any
) -> AsyncIterator[Client]:
    """An MCP client for `key`; no keep-alive, so each request is a new connection (a balancer
    that deals connections out round-robin then deals out requests). `options` go to `Client`."""
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {key}"},
        limits=httpx2.Limits(max_keepalive_connections=0),
        # The SDK's own timeouts, not httpx's 5 s: a worker still starting on a busy machine
        # answers a first request late, and that is not what these tests are about.
        timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
    )
    async with (
        http,
        Client(streamable_http_client(url, http_client=http), mode=mode, **options) as mcp,
    ):
        yield mcp


async def on_the_other_replica(
    balancer: RoundRobin, mcp: Client, away_from: int, tool: str, arguments: dict[str, object]
) -> CallToolResult:
    """Call `tool` on the replica that did not serve `away_from` (a cheap call first if needed)."""
    if balancer.next_backend == away_from:
        await mcp.call_tool("max_list_conversations", {"limit": 1})
    return await mcp.call_tool(tool, arguments)


async def test_two_replicas_serve_one_conversation_and_keep_two_users_apart(
    emulator: RunningEmulator,
) -> None:
    async with (
        replica(emulator, "--workers", "2") as first,
        replica(emulator) as second,
        round_robin([first.port, second.port]) as balancer,
    ):
        url = f"http://127.0.0.1:{balancer.port}/mcp"
        with anyio.fail_after(60):
            async with user(url, ALICE) as alice:
                with emulator.held():
                    chat = await alice.call_tool("max_chat", {"message": "Signups?", "wait_s": 0})
                    cid = data(chat)["conversation_id"]
                    started_on = balancer.backends_of(b"mcp-name: max_chat")[-1]
                    waited = await on_the_other_replica(
                        balancer,
                        alice,
                        started_on,
                        "max_wait",
                        {"conversation_id": cid, "wait_s": 0},
                    )
                    queued = await on_the_other_replica(
                        balancer,
                        alice,
                        started_on,
                        "max_queue_message",
                        {"conversation_id": cid, "message": "And by country?"},
                    )
                    canceled = await on_the_other_replica(
                        balancer, alice, started_on, "max_cancel", {"conversation_id": cid}
                    )
            owners: dict[str, set[str]] = {}

            async def chats(key: str) -> None:
                async with user(url, key) as mcp:
                    mine = {
                        data(await mcp.call_tool("max_chat", {"message": f"hi {n}"}))[
                            "conversation_id"
                        ]
                        for n in range(3)
                    }
                    listed = await mcp.call_tool("max_list_conversations", {})
                    owners[key] = {item["id"] for item in data(listed)["conversations"]} - mine

            async with anyio.create_task_group() as tg:
                tg.start_soon(chats, ALICE)
                tg.start_soon(chats, BOB)

    for tool in (b"max_wait", b"max_queue_message", b"max_cancel"):
        assert balancer.backends_of(b"mcp-name: " + tool) == [1 - started_on]
    assert data(chat)["status"] == "in_progress" and data(waited)["status"] == "in_progress"
    assert not queued.is_error and not canceled.is_error
    assert emulator.conversation(cid).queue == []
    assert owners[ALICE] == {cid}  # Alice's earlier conversation, nothing of Bob's
    assert owners[BOB] == set()
    assert {backend for backend, _ in balancer.sent} == {0, 1}
    logs = "".join(first.stderr + second.stderr)
    assert "tool=max_cancel" in logs
    assert ALICE not in logs and BOB not in logs
    assert first.process.returncode == 0 and second.process.returncode == 0
    # Neither was given a state secret: each says so at start-up.
    assert "these 2 workers only" in "".join(first.stderr)
    assert "this process only" in "".join(second.stderr)


async def test_an_approval_asked_on_one_replica_is_answered_on_the_other(
    emulator: RunningEmulator,
) -> None:
    asked: list[ElicitRequestParams] = []

    async def approve(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action="accept", content={"decision": "approve"})

    shared = {"MAX_MCP_STATE_SECRET": f"{STATE_SECRET},{OLD_STATE_SECRET}"}
    async with (
        replica(emulator, env=shared) as first,
        replica(emulator, env=shared) as second,
        round_robin([first.port, second.port]) as balancer,
    ):
        url = f"http://127.0.0.1:{balancer.port}/mcp"
        with anyio.fail_after(60):
            async with user(url, ALICE, elicitation_callback=approve) as alice:
                result = await alice.call_tool(
                    "max_chat", {"message": "Delete the onboarding dashboard"}
                )

    # 2026-07-28: the call asks (input required), the client calls again with the decision.
    [asking, answering] = balancer.backends_of(b"mcp-name: max_chat")
    assert answering == 1 - asking
    assert len(asked) == 1 and "delete_dashboard" in asked[0].message
    assert data(result)["status"] == "completed", data(result)
    assert "carried out" in data(result)["reply"]
    logs = "".join(first.stderr + second.stderr)
    assert "requestState rejected" not in logs
    assert STATE_SECRET not in logs and OLD_STATE_SECRET not in logs
    assert "No --state-secret" not in logs


async def refusing_connections(port: int) -> None:
    """Return once nothing accepts connections on `port` any more (bounded by the caller)."""
    while True:
        try:
            connection = await anyio.connect_tcp("127.0.0.1", port)
        except OSError:
            return
        await connection.aclose()


# legacy: 2025-11-25, whose tool call is answered as an event stream (with its progress)
@pytest.mark.parametrize(
    ("mode", "workers"), [("2026-07-28", "1"), ("legacy", "1"), ("2026-07-28", "2")]
)
async def test_a_call_in_flight_at_sigterm_reaches_the_official_client_and_the_server_exits_0(
    emulator: RunningEmulator, mode: str, workers: str
) -> None:
    streaming = anyio.Event()
    heartbeats: list[anyio.Event] = []  # the waiting call's once-a-second progress, after SIGTERM
    result: list[CallToolResult] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        streaming.set()
        for heartbeat in heartbeats:
            if not heartbeat.is_set():
                heartbeat.set()
                break

    async def chat(url: str) -> None:
        # No tools/list first: once the result is in, the client lists the tools to check it
        # against the tool's output schema, a request made after the signal.
        async with user(url, ALICE, mode) as alice:
            result.append(
                await alice.call_tool(
                    "max_chat", {"message": "Signups?", "wait_s": 20}, progress_callback=on_progress
                )
            )

    async with replica(emulator, "--grace-s", "20", "--workers", workers) as server:
        with anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                with emulator.held():
                    tg.start_soon(chat, server.url)
                    await streaming.wait()
                    server.process.send_signal(signal.SIGTERM)
                    await server.said("Stopping on SIGTERM")
                    # Two heartbeats later (over a second) the call still streams: a stop signal
                    # does not end event streams in flight.
                    heartbeats.extend([anyio.Event(), anyio.Event()])
                    await heartbeats[-1].wait()
                    # New work goes elsewhere: the balancer's probe and a new call get 503.
                    async with httpx.AsyncClient() as probe:
                        ready = await probe.get(server.url.replace("/mcp", "/readyz"))
                    async with user(server.url, BOB, mode) as bob:
                        with pytest.raises(MCPError, match="is stopping") as refused:
                            await bob.call_tool("max_list_conversations", {})
            await server.process.wait()
            await refusing_connections(server.port)

    assert data(result[0])["status"] == "completed"
    assert server.process.returncode == 0
    assert ready.status_code == 503 and ready.json() == {"status": "stopping"}
    assert "another instance serves it" in str(refused.value)
    logs = "".join(server.stderr)
    assert "POST /mcp 503" in logs and "POST /mcp 200" in logs


async def test_the_answer_to_an_approval_that_arrives_while_stopping_is_still_served(
    emulator: RunningEmulator,
) -> None:
    async with replica(emulator, "--grace-s", "20") as server:

        async def approve_once_stopping(context: Any, params: ElicitRequestParams) -> ElicitResult:
            # The person decides after SIGTERM: the client's call again (2026-07-28, with the
            # sealed requestState) continues a call, it is no new work.
            server.process.send_signal(signal.SIGTERM)
            await server.said("Stopping on SIGTERM")
            return ElicitResult(action="accept", content={"decision": "approve"})

        with anyio.fail_after(40):
            async with user(server.url, ALICE, elicitation_callback=approve_once_stopping) as alice:
                result = await alice.call_tool(
                    "max_chat", {"message": "Delete the onboarding dashboard"}
                )
            await server.process.wait()

    assert data(result)["status"] == "completed", data(result)
    assert "carried out" in data(result)["reply"]
    assert server.process.returncode == 0
    assert "POST /mcp 503" not in "".join(server.stderr)
