"""Many agents at once, and more than one server: correctness under concurrency and scale-out."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client

from max_tools import AsyncMaxClient, ReplyStatus
from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator
from tests.processes import read_until


async def test_two_hundred_concurrent_asks_through_one_client(emulator: RunningEmulator) -> None:
    replies: dict[int, Any] = {}
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:

        async def ask(n: int) -> None:
            replies[n] = await client.ask(f"How many signups on day {n}?")

        with anyio.fail_after(120):
            async with anyio.create_task_group() as task_group:
                for n in range(200):
                    task_group.start_soon(ask, n)

    assert len(replies) == 200
    for n, reply in replies.items():
        assert reply.status is ReplyStatus.COMPLETED
        assert reply.text.startswith(f'Here is what I found for "How many signups on day {n}?"')
    assert len({reply.conversation_id for reply in replies.values()}) == 200
    # The pool bounds how many requests are open at once (100); a connection the server closed
    # while idle is replaced, so distinct connections over the whole run may exceed that.
    assert emulator.stats().peak_requests_in_flight <= 100


@asynccontextmanager
async def max_mcp_http(emulator: RunningEmulator) -> AsyncIterator[str]:
    """A real `max-mcp --transport http` process on a free port; yields its /mcp URL."""
    env = {**os.environ, **emulator.env()}
    process: Process = await anyio.open_process(
        [sys.executable, "-m", "mcp_server", "--transport", "http", "--port", "0"], env=env
    )
    try:
        printed = await read_until(process.stderr, "/mcp")
        url = printed.split(" at ", 1)[1].split()[0]
        yield url
    finally:
        process.terminate()
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()


@pytest.mark.parametrize(
    "emulator_options",
    [  # paced by the rule: 30 chunks 0.05 s apart outlast the first server's 0.3 s budget
        {
            "rules": [Rule(match="slow", reply="Slow but sure.", chunks=30, delay_s=0.05)],
            "delay_s": None,
        }
    ],
)
async def test_a_chat_started_on_one_server_is_followed_on_another(
    emulator: RunningEmulator,
) -> None:
    async with (
        max_mcp_http(emulator) as first,
        max_mcp_http(emulator) as second,
    ):
        async with Client(first) as one:
            started = await one.call_tool("max_chat", {"message": "A slow question", "wait_s": 0.3})
        assert started.structured_content is not None
        cid = started.structured_content["conversation_id"]
        async with Client(second) as other:
            finished = await other.call_tool("max_wait", {"conversation_id": cid, "wait_s": 30})

    assert first != second
    assert started.structured_content["status"] == "in_progress"
    assert finished.structured_content is not None
    assert finished.structured_content["status"] == "completed"
    assert finished.structured_content["reply"] == "Slow but sure."


async def test_max_mcp_over_http_serves_twenty_clients_doing_five_chats_each(
    emulator: RunningEmulator,
) -> None:
    from mcp_server import build_server
    from mcp_server._http import serve_http

    outcomes: list[str] = []

    async def agent(url: str, n: int) -> None:
        async with Client(url) as session:
            for k in range(5):
                result = await session.call_tool(
                    "max_chat", {"message": f"Agent {n}, question {k}"}
                )
                data = result.structured_content or {}
                outcomes.append("error" if result.is_error else str(data.get("status")))

    async with (
        AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client,
        serve_http(build_server(client), port=0) as url,
    ):
        with anyio.fail_after(120):
            async with anyio.create_task_group() as task_group:
                for n in range(20):
                    task_group.start_soon(agent, url, n)

    assert outcomes == ["completed"] * 100
