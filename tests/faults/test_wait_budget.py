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
from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator
from mcp_server import build_server

UPSTREAM_LATENCY_S = 0.3
"""How long the slow upstream holds the POST: well past the budgets of these rows."""


class Relay:
    """The HTTP edge: forwards to the emulator, counting the messages sent."""

    def __init__(self, emulator: RunningEmulator, *, latency_s: float) -> None:
        self.sent: list[str] = []
        self._latency_s = latency_s
        self._upstream = httpx.AsyncClient(base_url=emulator.url)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        sending = request.method == "POST" and body.get("content") is not None
        if sending:
            self.sent.append(body["content"])
            # The latency of the upstream itself (PostHog starting a run), not a test wait.
            await anyio.sleep(self._latency_s)
        upstream_request = self._upstream.build_request(
            request.method,
            request.url.path,
            params=request.url.params,
            headers=request.headers,
            content=request.content,
        )
        response = await self._upstream.send(upstream_request, stream=True)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=response.stream
        )

    async def aclose(self) -> None:
        await self._upstream.aclose()


@pytest.fixture(params=[0.0, UPSTREAM_LATENCY_S], ids=["fast-upstream", "slow-upstream"])
async def relay(request: pytest.FixtureRequest, emulator: RunningEmulator) -> AsyncIterator[Relay]:
    edge = Relay(emulator, latency_s=request.param)
    yield edge
    await edge.aclose()


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[AsyncMaxClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(relay.handle))
    async with (
        http,
        AsyncMaxClient(
            api_key=DEFAULT_KEY, host="https://posthog.test", project_id=1, http_client=http
        ) as max_client,
    ):
        yield max_client


async def questions_stored(client: AsyncMaxClient, conversation_id: str) -> list[str]:
    conversation = await client.get_conversation(conversation_id)
    return [m.content for m in conversation.messages if isinstance(m, HumanMessage)]


@pytest.mark.anyio
@pytest.mark.parametrize("wait_s", [0, 0.01], ids=["budget-0", "budget-0.01s"])
async def test_ask_with_a_short_budget_sends_once_and_wait_finds_the_answer(
    client: AsyncMaxClient, relay: Relay, wait_s: float
) -> None:
    question = "How many signups last week?"

    with anyio.fail_after(30):
        started = await client.ask(question, wait_s=wait_s)
        finished = await client.wait(started.conversation_id, wait_s=20)
        stored = await questions_stored(client, started.conversation_id)

    assert relay.sent == [question]
    assert stored == [question]
    assert finished.status == "completed"
    assert finished.text == Rule().answer(question)


@pytest.mark.anyio
@pytest.mark.parametrize("wait_s", [0, 0.01], ids=["budget-0", "budget-0.01s"])
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
        stored = await questions_stored(client, cid)

    assert relay.sent == [question]
    assert stored == [question]
    assert finished.structured_content is not None
    assert finished.structured_content["status"] == "completed"
    assert finished.structured_content["reply"] == Rule().answer(question)
