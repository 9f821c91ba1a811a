"""Sending a message safely: busy conversations, retries, and never sending a message twice."""

from __future__ import annotations

import uuid

import httpx
import pytest

from max_tools import (
    APIConnectionError,
    ConversationBusyError,
    NotFoundError,
    RateLimitError,
    ReplyStatus,
)
from tests.fake_posthog import (
    CID,
    FakePostHog,
    ai,
    drf_error,
    human,
    idle_refusal,
    json_response,
    stored_conversation,
    stream_response,
)

BUSY = drf_error(409, "server_error", "conflict", "Cannot resume streaming with a new message")


async def test_a_new_conversation_gets_a_client_minted_id(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human("hi"), ai("Hello!", "a1")))

    async with posthog.client() as client:
        reply = await client.ask("hi")

    body = posthog.bodies()[0]
    assert str(uuid.UUID(body["conversation"])) == body["conversation"] == reply.conversation_id
    assert str(uuid.UUID(body["trace_id"])) == body["trace_id"]
    assert body["content"] == "hi"


async def test_asking_a_busy_conversation_raises_busy_with_what_to_do(posthog: FakePostHog) -> None:
    posthog.on("POST", "", BUSY)

    async with posthog.client() as client:
        with pytest.raises(ConversationBusyError) as caught:
            await client.ask("and by country?", conversation_id=CID)

    assert caught.value.status_code == 409
    assert "queue" in str(caught.value) and "wait" in str(caught.value)
    assert len(posthog.requests) == 1


async def test_a_send_that_never_left_is_repeated_as_is(posthog: FakePostHog) -> None:
    posthog.on(
        "POST", "", httpx.ConnectError("refused"), stream_response(human("hi"), ai("Hello!", "a1"))
    )

    async with posthog.client() as client:
        reply = await client.ask("hi")

    first, second = posthog.bodies()
    assert first == second
    assert reply.text == "Hello!"
    assert [r.method for r in posthog.requests] == ["POST", "POST"]


async def test_a_send_that_may_have_landed_and_is_running_is_attached_not_resent(
    posthog: FakePostHog,
) -> None:
    seen_trace: list[str] = []

    def running(request: httpx.Request) -> httpx.Response:
        trace = seen_trace[0]
        messages = [{"content": "hi", "id": "h1", "type": "human", "trace_id": trace}]
        return json_response(200, stored_conversation(messages, status="in_progress"))

    def first_send(request: httpx.Request) -> httpx.Response:
        import json

        seen_trace.append(json.loads(request.content)["trace_id"])
        raise httpx.ReadError("connection reset after sending")

    posthog.on("POST", "", first_send, stream_response(ai("Hello!", "a1")))
    posthog.on("GET", f"{CID}/", running)

    async with posthog.client() as client:
        reply = await client.ask("hi", conversation_id=CID)

    assert [b["content"] for b in posthog.bodies()] == ["hi", None]
    assert reply.text == "Hello!"


async def test_a_send_that_landed_and_finished_is_read_back_not_resent(
    posthog: FakePostHog,
) -> None:
    traces: list[str] = []

    def first_send(request: httpx.Request) -> httpx.Response:
        import json

        traces.append(json.loads(request.content)["trace_id"])
        return json_response(504, {"detail": "gateway timeout"})

    def finished(request: httpx.Request) -> httpx.Response:
        messages = [
            {"content": "hi", "id": "h1", "type": "human", "trace_id": traces[0]},
            {"content": "Hello!", "id": "a1", "type": "ai"},
        ]
        return json_response(200, stored_conversation(messages))

    posthog.on("POST", "", first_send)
    posthog.on("GET", f"{CID}/", finished)

    async with posthog.client() as client:
        reply = await client.ask("hi", conversation_id=CID)

    assert len(posthog.bodies()) == 1
    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == "Hello!"
    assert [m.id for m in reply.messages] == ["h1", "a1"]


async def test_a_resend_answered_busy_means_the_first_landed_so_it_attaches(
    posthog: FakePostHog,
) -> None:
    posthog.on(
        "POST",
        "",
        httpx.ReadError("reset"),
        BUSY,
        stream_response(ai("Hello!", "a1")),
    )
    posthog.on("GET", f"{CID}/", drf_error(404, "invalid_request", "not_found", "Not found."))

    async with posthog.client() as client:
        reply = await client.ask("hi", conversation_id=CID)

    assert [b["content"] for b in posthog.bodies()] == ["hi", "hi", None]
    assert reply.text == "Hello!"


async def test_rate_limited_send_waits_retry_after_then_succeeds(posthog: FakePostHog) -> None:
    throttled = json_response(
        429,
        {
            "type": "throttled_error",
            "code": "throttled",
            "detail": "Please try again in 3 seconds.",
            "attr": None,
        },
        headers={"Retry-After": "3"},
    )
    posthog.on("POST", "", throttled, stream_response(human("hi"), ai("Hello!", "a1")))

    async with posthog.client() as client:
        reply = await client.ask("hi")

    assert posthog.sleeps == [3.0]
    assert reply.text == "Hello!"


async def test_a_long_rate_limit_is_handed_to_the_caller_with_retry_after(
    posthog: FakePostHog,
) -> None:
    detail = (
        "You've reached PostHog AI's usage limit for the moment. Please try again in 41 seconds. "
        "Expected available in 42 seconds."
    )
    posthog.on("POST", "", drf_error(429, "throttled_error", "throttled", detail))

    async with posthog.client() as client:
        with pytest.raises(RateLimitError) as caught:
            await client.ask("hi")

    assert caught.value.retry_after == 42.0
    assert "retry in 42 s" in str(caught.value)
    assert posthog.sleeps == []


async def test_connection_failures_beyond_the_retries_raise_a_connection_error(
    posthog: FakePostHog,
) -> None:
    posthog.on("POST", "", httpx.ConnectError("Name or service not known"))

    async with posthog.client(max_retries=2) as client:
        with pytest.raises(APIConnectionError, match="POSTHOG_HOST") as caught:
            await client.ask("hi")

    assert caught.value.request_sent is False
    assert len(posthog.requests) == 3
    assert len(posthog.sleeps) == 2


async def test_wait_on_a_finished_conversation_reads_its_last_turn(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        idle_refusal(),
    )
    messages = [
        {"content": "first", "id": "h0", "type": "human", "trace_id": "t0"},
        {"content": "First answer.", "id": "a0", "type": "ai"},
        {"content": "second", "id": "h1", "type": "human", "trace_id": "t1"},
        {"content": "Second answer.", "id": "a1", "type": "ai"},
    ]
    posthog.on("GET", f"{CID}/", json_response(200, stored_conversation(messages)))

    async with posthog.client() as client:
        reply = await client.wait(CID)

    assert posthog.bodies()[0]["content"] is None
    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == "Second answer."
    assert [m.id for m in reply.messages] == ["h1", "a1"]


async def test_wait_on_a_running_conversation_attaches_to_it(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(ai("Half", "a0"), ai("Done.", "a1")))

    async with posthog.client() as client:
        reply = await client.wait(CID, wait_s=30)

    body = posthog.bodies()[0]
    assert body["content"] is None and body["conversation"] == CID
    assert reply.text == "Done."


async def test_wait_on_an_unknown_conversation_says_not_found(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        idle_refusal(),
    )
    posthog.on("GET", f"{CID}/", drf_error(404, "invalid_request", "not_found", "Not found."))

    async with posthog.client() as client:
        with pytest.raises(NotFoundError):
            await client.wait(CID)


async def test_stream_forwards_every_option_and_omits_unset_ones(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(ai("ok", "a1")))

    async with posthog.client() as client:
        async with client.stream(
            "hi",
            conversation_id=uuid.UUID(CID),
            agent_mode="sql",
            ui_context={"dashboards": [{"type": "dashboard", "id": 1}]},
            contextual_tools={"create_insight": {"a": 1}},
            billing_context={"subscription_level": "paid"},
        ) as replies:
            assert replies.conversation_id == CID
        async with client.stream(None, conversation_id=CID, resume_payload={"action": "approve"}):
            pass

    full, resume = posthog.bodies()
    assert set(full) == {
        "content",
        "conversation",
        "trace_id",
        "agent_mode",
        "ui_context",
        "contextual_tools",
        "billing_context",
    }
    assert full["agent_mode"] == "sql" and full["conversation"] == CID
    assert resume == {
        "content": None,
        "conversation": CID,
        "trace_id": resume["trace_id"],
        "resume_payload": {"action": "approve"},
    }


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("x" * 40_001, "at most 40,000"),
    ],
)
async def test_messages_posthog_would_refuse_are_refused_before_sending(
    posthog: FakePostHog, message: str, error: str
) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match=error):
            await client.ask(message)

    assert posthog.requests == []


async def test_a_message_of_exactly_the_limit_is_sent(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(ai("ok", "a1")))

    async with posthog.client() as client:
        await client.ask("x" * 40_000)

    assert len(posthog.bodies()[0]["content"]) == 40_000


@pytest.mark.parametrize("bad", ["not-a-uuid", "../../projects/1", "%2F", "", 123])
async def test_bad_conversation_ids_are_refused_before_any_request(
    posthog: FakePostHog, bad: object
) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="conversation_id must be"):
            await client.ask("hi", conversation_id=bad)  # type: ignore[arg-type]  # wrong on purpose
        with pytest.raises(ValueError, match="conversation_id must be"):
            await client.get_conversation(bad)  # type: ignore[arg-type]  # wrong on purpose

    assert posthog.requests == []


async def test_stream_needs_a_message_or_a_conversation(posthog: FakePostHog) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="conversation_id"):
            async with client.stream(None):
                pass


@pytest.mark.parametrize("wait_s", [-1, float("nan"), "45"])
async def test_a_bad_time_budget_is_refused(posthog: FakePostHog, wait_s: object) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="wait_s"):
            await client.wait(CID, wait_s=wait_s)  # type: ignore[arg-type]  # wrong on purpose


async def test_a_send_that_may_have_landed_but_is_not_in_the_conversation_is_resent(
    posthog: FakePostHog,
) -> None:
    other = [{"content": "older", "id": "h0", "type": "human", "trace_id": "someone-else"}]
    posthog.on(
        "POST",
        "",
        httpx.WriteError("broken pipe"),
        stream_response(human("hi"), ai("Hello!", "a1")),
    )
    posthog.on("GET", f"{CID}/", json_response(200, stored_conversation(other)))

    async with posthog.client() as client:
        reply = await client.ask("hi", conversation_id=CID)

    assert [b["content"] for b in posthog.bodies()] == ["hi", "hi"]
    assert reply.text == "Hello!"
