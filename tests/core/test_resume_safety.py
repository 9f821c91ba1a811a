"""A resume is a send: checked before it goes, never repeated blindly (fake PostHog at the edge)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from max_tools import ClientState, NotPendingError, ReplyStatus, StreamEvent
from tests.fake_posthog import (
    CID,
    FakePostHog,
    ai,
    drf_error,
    human,
    idle_refusal,
    json_response,
    sse,
    stored_conversation,
    stream_response,
)

PROPOSAL = "0b6e2f3c-1111-4aaa-8bbb-000000000001"
CALL = "toolu_01B"
ASKED = {"content": "delete it", "id": "h1", "type": "human", "trace_id": "t1"}
PAUSED = {
    "content": "I'll delete it once you confirm.",
    "id": "a1",
    "type": "ai",
    "tool_calls": [
        {"args": {"dashboard_id": 42}, "id": CALL, "name": "delete_dashboard", "type": "tool_call"}
    ],
}
TOOL = {"content": "Deleted.", "id": "t9", "type": "tool", "tool_call_id": CALL, "ui_payload": {}}
DONE = {"content": "It is gone.", "id": "a2", "type": "ai"}


def waiting(
    status: str = "pending", *messages: dict[str, Any], run: str = "idle"
) -> dict[str, Any]:
    conversation = stored_conversation([ASKED, PAUSED, *messages], status=run)
    conversation["pending_approvals"] = [
        {
            "proposal_id": PROPOSAL,
            "decision_status": status,
            "tool_name": "delete_dashboard",
            "preview": "Delete dashboard 'Old metrics' (id 42)",
            "payload": {"dashboard_id": 42} if status == "pending" else {},
            "original_tool_call_id": CALL,
            "message_id": "m1",
        }
    ]
    return conversation


def resumes(posthog: FakePostHog) -> list[Any]:
    return [body for body in posthog.bodies() if body.get("resume_payload")]


async def test_the_stream_that_stops_at_a_call_is_read_as_an_approval(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(sse("message", ASKED), sse("message", PAUSED)))
    posthog.on("GET", f"{CID}/", json_response(200, waiting()))

    async with posthog.client() as client:
        reply = await client.ask("delete it", conversation_id=CID)

    assert reply.status is ReplyStatus.NEEDS_APPROVAL
    assert reply.approvals[0].proposal_id == PROPOSAL


async def test_an_ordinary_reply_costs_no_extra_read(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(ai("Hello!", "a1")))

    async with posthog.client() as client:
        await client.ask("hi", conversation_id=CID)

    assert [r.method for r in posthog.requests] == ["POST"]


async def test_approve_sends_the_exact_proposal_once(posthog: FakePostHog) -> None:
    posthog.on("GET", f"{CID}/", json_response(200, waiting()))
    posthog.on("POST", "", stream_response(sse("message", TOOL), ai("It is gone.", "a2")))

    async with posthog.client() as client:
        reply = await client.approve(CID, PROPOSAL, payload={"dashboard_id": 43})

    [body] = posthog.bodies()
    assert body["content"] is None
    assert body["resume_payload"] == {
        "action": "approve",
        "proposal_id": PROPOSAL,
        "payload": {"dashboard_id": 43},
    }
    assert reply.text == "It is gone."


@pytest.mark.parametrize(
    ("decided", "words"),
    [("approved", "already approved"), ("auto_rejected", "skipped")],
)
async def test_a_decided_proposal_sends_nothing(
    posthog: FakePostHog, decided: str, words: str
) -> None:
    posthog.on("GET", f"{CID}/", json_response(200, waiting(decided)))

    async with posthog.client() as client:
        with pytest.raises(NotPendingError, match=words):
            await client.reject(CID, PROPOSAL)

    assert posthog.bodies() == []


async def test_a_stale_proposal_sends_nothing(posthog: FakePostHog) -> None:
    stale = waiting("pending", TOOL, DONE)  # still "pending", but its call was answered long ago

    posthog.on("GET", f"{CID}/", json_response(200, stale))

    async with posthog.client() as client:
        with pytest.raises(NotPendingError, match="stale"):
            await client.approve(CID, PROPOSAL)
    assert posthog.bodies() == []


@pytest.mark.parametrize(
    "failure",
    [
        drf_error(503, "server_error", "error", "unavailable"),
        httpx.ReadTimeout("no answer"),
    ],
    ids=["503", "timeout"],
)
async def test_a_resume_that_may_have_landed_is_checked_not_resent(
    posthog: FakePostHog, failure: Any
) -> None:
    # The first POST's fate is unknown; meanwhile the run went on and finished.
    posthog.on(
        "GET",
        f"{CID}/",
        json_response(200, waiting()),
        json_response(200, waiting("approved", TOOL, DONE)),
    )
    posthog.on("POST", "", failure)

    async with posthog.client() as client:
        reply = await client.approve(CID, PROPOSAL)

    assert len(resumes(posthog)) == 1
    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == "It is gone."


async def test_losing_a_race_to_decide_is_a_clear_error(posthog: FakePostHog) -> None:
    failure = {"content": "Oops! Something went wrong. Please try again.", "id": "f1"}
    posthog.on(
        "GET",
        f"{CID}/",
        json_response(200, waiting()),
        json_response(200, waiting("rejected", TOOL, DONE)),
    )
    posthog.on("POST", "", stream_response(sse("message", {**failure, "type": "ai/failure"})))

    async with posthog.client() as client:
        with pytest.raises(NotPendingError, match="was rejected meanwhile"):
            await client.approve(CID, PROPOSAL)
    assert len(resumes(posthog)) == 1


async def test_a_client_tool_call_read_from_history_is_canceled_not_answered(
    posthog: FakePostHog,
) -> None:
    call = {"args": {}, "id": "toolu_C", "name": "create_ai_trace_parser", "type": "tool_call"}
    paused = {**PAUSED, "tool_calls": [call]}
    posthog.on(
        "POST",
        "",
        idle_refusal(),
    )
    posthog.on("GET", f"{CID}/", json_response(200, stored_conversation([ASKED, paused])))

    async with posthog.client() as client:
        reply = await client.wait(CID)

    assert reply.status is ReplyStatus.CANCELED  # it may be incomplete: nothing is resumed
    assert resumes(posthog) == []


async def test_a_cancel_by_another_client_of_the_same_user_is_not_undone(
    posthog: FakePostHog,
) -> None:
    # A server that makes a client per request (hosted max-mcp) gives a user's clients one state:
    # the chat's client then knows that the open call it reads is the cancel's doing.
    call = {"args": {}, "id": "toolu_C", "name": "create_ai_trace_parser", "type": "tool_call"}
    paused = {**PAUSED, "tool_calls": [call]}
    posthog.on("POST", "", stream_response(human("delete it"), sse("message", paused)))
    posthog.on("PATCH", f"{CID}/cancel/", httpx.Response(204))
    posthog.on("GET", f"{CID}/", json_response(200, stored_conversation([ASKED, paused])))
    state = ClientState()

    async with posthog.client(state=state) as chatting, posthog.client(state=state) as canceling:

        async def cancel_once(event: StreamEvent) -> None:
            if not posthog.bodies("PATCH", f"{CID}/cancel/"):
                await canceling.cancel(CID)

        reply = await chatting.ask("delete it", conversation_id=CID, on_event=cancel_once)

    assert reply.status is ReplyStatus.CANCELED
    assert resumes(posthog) == []  # the open call was not answered: nothing sent after a cancel


async def test_quick_replies_are_offered_as_next_messages(posthog: FakePostHog) -> None:
    options = [
        {"value": "Break it down by country", "variant": "primary"},
        {"value": "Docs", "href": "https://posthog.com/docs"},
    ]
    posthog.on(
        "POST", "", stream_response(ai("Here it is.", "a1", meta={"form": {"options": options}}))
    )

    async with posthog.client() as client:
        reply = await client.ask("signups", conversation_id=CID)

    assert [(q.value, q.href) for q in reply.quick_replies] == [
        ("Break it down by country", None),
        ("Docs", "https://posthog.com/docs"),
    ]
