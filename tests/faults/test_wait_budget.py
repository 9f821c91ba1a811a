"""A wait budget bounds the waiting, never the send: the message reaches PostHog exactly once.

Each row asks with a short budget (0, 0.01 s, and one that ends while a slow upstream still holds
the POST), then follows the conversation with `wait()` and finds the one message and its answer.
The emulator runs on loopback; a relay at the HTTP edge counts the messages sent and, for the
slow-upstream rows, adds latency before PostHog's answer to the POST, as a busy PostHog does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from max_tools import AsyncMaxClient, HumanMessage
from max_tools.emulator import Rule, RunningEmulator
from mcp_server import build_server
from tests.faults.edge import EmulatorEdge

UPSTREAM_LATENCY_S = 0.3
"""How long the slow upstream holds the POST: well past the budgets of these rows."""


class Relay(EmulatorEdge):
    """Counts the messages sent; with a latency, holds each send as a busy PostHog does."""

    def __init__(self, emulator: RunningEmulator, *, latency_s: float) -> None:
        super().__init__(emulator)
        self.sent: list[str] = []
        self._latency_s = latency_s

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        if request.method == "POST" and body.get("content") is not None:
            self.sent.append(body["content"])
            # The latency of the upstream itself (PostHog starting a run), not a test wait.
            await anyio.sleep(self._latency_s)
        return await super().handle(request)


@pytest.fixture(params=[0.0, UPSTREAM_LATENCY_S], ids=["fast-upstream", "slow-upstream"])
async def relay(request: pytest.FixtureRequest, emulator: RunningEmulator) -> AsyncIterator[Relay]:
    edge = Relay(emulator, latency_s=request.param)
    yield edge
    await edge.aclose()


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[AsyncMaxClient]:
    async with relay.client() as max_client:
        yield max_client


@pytest.fixture(params=[0, 0.01], ids=["budget-0", "budget-0.01s"])
def wait_s(request: pytest.FixtureRequest) -> float:
    """The short wait budgets of the rows."""
    return float(request.param)


async def sent_once(relay: Relay, client: AsyncMaxClient, cid: str, question: str) -> None:
    """The question went out once and PostHog stored it once."""
    conversation = await client.get_conversation(cid)
    assert relay.sent == [question]
    assert [m.content for m in conversation.messages if isinstance(m, HumanMessage)] == [question]


async def test_ask_with_a_short_budget_sends_once_and_wait_finds_the_answer(
    client: AsyncMaxClient, relay: Relay, wait_s: float
) -> None:
    question = "How many signups last week?"

    with anyio.fail_after(30):
        started = await client.ask(question, wait_s=wait_s)
        finished = await client.wait(started.conversation_id, wait_s=20)
        await sent_once(relay, client, started.conversation_id, question)

    assert finished.status == "completed"
    assert finished.text == Rule().answer(question)


async def test_max_chat_with_a_short_budget_sends_once_and_max_wait_finds_the_answer(
    client: AsyncMaxClient, relay: Relay, wait_s: float
) -> None:
    question = "Which pages are viewed most?"

    with anyio.fail_after(30):
        async with Client(build_server(client)) as mcp:
            started = await mcp.call_tool("max_chat", {"message": question, "wait_s": wait_s})
            assert not started.is_error, started.content
            assert started.structured_content is not None
            cid = started.structured_content["conversation_id"]
            finished = await mcp.call_tool("max_wait", {"conversation_id": cid, "wait_s": 20})
        await sent_once(relay, client, cid, question)

    assert finished.structured_content is not None
    assert finished.structured_content["status"] == "completed"
    assert finished.structured_content["reply"] == Rule().answer(question)
