"""Fault rows for resumes: a resume is sent once, whatever goes wrong, and the run goes on.

An edge in front of the emulator forwards the resume POST (so the run really resumes) and then
loses the answer: a 503, or a timeout. A drop during the resumed stream is the emulator's own
fault. Two agents approving the same proposal at once: one wins, the other gets a clear error,
and the run never fails. Each row runs through the core and through max-mcp.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from max_tools import AsyncMaxClient, NotPendingError, ReplyStatus, ToolResultMessage
from max_tools.emulator import RunningEmulator
from mcp_server import build_server
from tests.faults.edge import EmulatorEdge

DELETE = "Delete the onboarding dashboard"


class Edge(EmulatorEdge):
    """Forwards to the emulator; can lose the answer to the next resume after forwarding it."""

    def __init__(self, emulator: RunningEmulator) -> None:
        super().__init__(emulator)
        self.resumes: list[dict[str, Any]] = []
        self.lose: str | None = None  # "503" or "timeout"

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        if request.method == "POST" and body.get("resume_payload"):
            self.resumes.append(body["resume_payload"])
            if self.lose is not None:
                lose, self.lose = self.lose, None
                # PostHog acts on the resume; its answer never comes back
                await self.send_and_lose_the_answer(self.upstream_request(request))
                if lose == "timeout":
                    raise httpx.ReadTimeout("no answer in time", request=request)
                return httpx.Response(503, json={"detail": "upstream unavailable"})
        return await super().handle(request)


@pytest.fixture
async def edge(emulator: RunningEmulator) -> AsyncIterator[Edge]:
    relay = Edge(emulator)
    yield relay
    await relay.aclose()


@pytest.fixture
async def client(edge: Edge) -> AsyncIterator[AsyncMaxClient]:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    async with edge.client(sleep=no_sleep) as max_client:
        yield max_client


Approve = Callable[[AsyncMaxClient, str, str], Awaitable[dict[str, Any]]]


async def through_core(client: AsyncMaxClient, cid: str, proposal: str) -> dict[str, Any]:
    reply = await client.approve(cid, proposal, wait_s=20)
    return {"status": reply.status.value, "reply": reply.text}


async def through_mcp(client: AsyncMaxClient, cid: str, proposal: str) -> dict[str, Any]:
    async with Client(build_server(client)) as mcp:
        result = await mcp.call_tool(
            "max_approve",
            {"conversation_id": cid, "proposal_id": proposal, "decision": "approve", "wait_s": 20},
        )
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


FACES = {"core": through_core, "mcp": through_mcp}


async def paused(client: AsyncMaxClient) -> tuple[str, str]:
    reply = await client.ask(DELETE)
    assert reply.status is ReplyStatus.NEEDS_APPROVAL
    return reply.conversation_id, reply.approvals[0].proposal_id


async def carried_out_once(client: AsyncMaxClient, cid: str) -> None:
    conversation = await client.get_conversation(cid)
    tools = [m for m in conversation.messages if isinstance(m, ToolResultMessage)]
    assert len(tools) == 1  # the operation ran once
    assert [a.decision_status for a in conversation.pending_approvals] == ["approved"]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("lose", ["503", "timeout"])
async def test_a_resume_whose_answer_is_lost_is_sent_once_and_the_run_goes_on(
    client: AsyncMaxClient, edge: Edge, face: str, lose: str
) -> None:
    cid, proposal = await paused(client)
    edge.lose = lose

    outcome = await FACES[face](client, cid, proposal)

    assert outcome["status"] == "completed", outcome
    assert outcome["reply"].startswith("Done.")
    assert len(edge.resumes) == 1
    await carried_out_once(client, cid)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("events", [1, 2])
async def test_a_drop_during_the_resumed_stream_is_resumed_by_attaching(
    client: AsyncMaxClient, edge: Edge, emulator: RunningEmulator, face: str, events: int
) -> None:
    cid, proposal = await paused(client)
    emulator.set_faults(drop_after_events=events)

    outcome = await FACES[face](client, cid, proposal)

    assert outcome["status"] == "completed", outcome
    reply = outcome["reply"]
    assert reply.startswith("Done. Delete dashboard") and reply.count("carried out.") == 1
    assert len(edge.resumes) == 1
    await carried_out_once(client, cid)


async def test_two_agents_approving_at_once_one_wins_and_the_run_never_fails(
    client: AsyncMaxClient, edge: Edge
) -> None:
    cid, proposal = await paused(client)
    outcomes: list[Any] = []

    async def approve() -> None:
        try:
            outcomes.append(await client.approve(cid, proposal, wait_s=20))
        except NotPendingError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(approve)
        group.start_soon(approve)

    [won] = [o for o in outcomes if not isinstance(o, Exception)]
    [lost] = [o for o in outcomes if isinstance(o, NotPendingError)]
    assert won.status is ReplyStatus.COMPLETED
    assert "nothing was sent" in str(lost)
    assert len(edge.resumes) == 1
    await carried_out_once(client, cid)
