"""Reply streams: typed events, PostHog's stream rules, resumption after a drop."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from max_tools import (
    AIMessage,
    ConversationEvent,
    FailureMessage,
    HumanMessage,
    MessageEvent,
    Reply,
    ReplyStatus,
    StatusEvent,
    StreamError,
    StreamEvent,
    UnknownEvent,
    UnknownMessage,
    UpdateEvent,
    VisualizationMessage,
)
from tests.fake_posthog import (
    CID,
    KEEPALIVE,
    ByteStream,
    FakePostHog,
    ai,
    body_response,
    chunk,
    conversation_event,
    human,
    idle_refusal,
    json_response,
    sse,
    stored_conversation,
    stream_response,
)

QUESTION = "How many users signed up last week? 📈"
ANSWER = "There were 1 204 sign-ups — up 8 % (über gut) 📈"

FULL_RUN = (
    conversation_event(),
    human(QUESTION),
    chunk("Let"),
    chunk("Let me look"),
    ai(
        "Let me look that up.",
        "a1",
        tool_calls=[
            {"id": "toolu_1", "name": "create_insight", "args": {"q": "x"}, "type": "tool_call"}
        ],
    ),
    sse("update", {"content": "Creating a trends insight", "id": "a1", "tool_call_id": "toolu_1"}),
    KEEPALIVE,
    sse("status", {"type": "generation_error"}),
    sse(
        "message",
        {"answer": {"kind": "TrendsQuery"}, "id": "v1", "query": "signups", "type": "ai/viz"},
    ),
    conversation_event(title="Weekly signups"),
    chunk("There were"),
    chunk(ANSWER[:20]),
    ai(ANSWER, "a2"),
)


async def collect(
    posthog: FakePostHog, message: str | None = QUESTION, conversation_id: str | None = None
) -> tuple[list[StreamEvent], Reply]:
    async with (
        posthog.client() as client,
        client.stream(message, conversation_id=conversation_id) as replies,
    ):
        events = [event async for event in replies]
        return events, replies.reply()


def partial_texts(events: list[StreamEvent]) -> list[str]:
    return [
        e.message.content
        for e in events
        if isinstance(e, MessageEvent) and isinstance(e.message, AIMessage) and e.is_partial
    ]


@pytest.mark.parametrize("chunk_size", [None, 1, 7])
async def test_events_are_typed_in_wire_order_whatever_the_byte_boundaries(
    posthog: FakePostHog, chunk_size: int | None
) -> None:
    posthog.on("POST", "", stream_response(*FULL_RUN, chunk_size=chunk_size))

    events, _ = await collect(posthog)

    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "ConversationEvent",
        "MessageEvent",
        "MessageEvent",
        "MessageEvent",
        "MessageEvent",
        "UpdateEvent",
        "StatusEvent",
        "MessageEvent",
        "ConversationEvent",
        "MessageEvent",
        "MessageEvent",
        "MessageEvent",
    ]
    assert isinstance(events[0], ConversationEvent) and events[0].conversation.id == CID
    assert (
        events[0].conversation.user is not None and events[0].conversation.user.first_name == "Ana"
    )
    echo = events[1]
    assert isinstance(echo, MessageEvent) and isinstance(echo.message, HumanMessage)
    assert echo.message.content == QUESTION
    assert partial_texts(events) == [
        "Let",
        "Let me look",
        "There were",
        ANSWER[:20],
    ]
    tool_message = events[4]
    assert isinstance(tool_message, MessageEvent) and isinstance(tool_message.message, AIMessage)
    assert (
        tool_message.message.tool_calls
        and tool_message.message.tool_calls[0].name == "create_insight"
    )
    assert events[5] == UpdateEvent(
        id="a1", tool_call_id="toolu_1", content="Creating a trends insight"
    )
    assert events[6] == StatusEvent("generation_error")
    viz = events[7]
    assert isinstance(viz, MessageEvent) and isinstance(viz.message, VisualizationMessage)
    assert viz.message.answer == {"kind": "TrendsQuery"}
    last = events[-1]
    assert isinstance(last, MessageEvent) and isinstance(last.message, AIMessage)
    assert last.message.content == ANSWER


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
@pytest.mark.parametrize("chunk_size", [1, 7])
async def test_every_sse_line_ending_reads_the_same(
    posthog: FakePostHog, newline: bytes, chunk_size: int
) -> None:
    with_lf = FakePostHog()
    with_lf.on("POST", "", stream_response(*FULL_RUN))
    expected, _ = await collect(with_lf)
    body = b"".join(FULL_RUN).replace(b"\n", newline)
    posthog.on("POST", "", stream_response(body, chunk_size=chunk_size))

    events, reply = await collect(posthog)

    assert events == expected
    assert reply.text == ANSWER


async def test_a_byte_order_mark_before_the_stream_is_not_part_of_it(posthog: FakePostHog) -> None:
    with_lf = FakePostHog()
    with_lf.on("POST", "", stream_response(*FULL_RUN))
    expected, _ = await collect(with_lf)
    posthog.on("POST", "", stream_response(b"\xef\xbb\xbf" + b"".join(FULL_RUN), chunk_size=5))

    events, reply = await collect(posthog)

    assert events == expected  # the first event keeps its name (conversation)
    assert reply.text == ANSWER


async def test_sse_fields_beyond_event_and_data_are_read_as_the_format_says(
    posthog: FakePostHog,
) -> None:
    odd_layouts = (
        b'data: {"content":"no event line","id":"h1","type":"human"}\n\n'  # "message"
        b'event: message\nid: 7\nretry: 3000\ncolour: blue\ndata:{"content":"a",\n'
        b'data:  "id":"a1","type":"ai"}\n\n'  # data lines join with a newline
        b": a comment\n\n\n\n"
        b'event: message\ndata: {"content":"cut off at the end","id":"a2","type":"ai"}\n'
    )
    posthog.on("POST", "", stream_response(odd_layouts, chunk_size=4))

    events, _ = await collect(posthog)

    assert len(events) == 2
    human, answer = (e.message for e in events if isinstance(e, MessageEvent))
    assert isinstance(human, HumanMessage) and human.content == "no event line"
    assert isinstance(answer, AIMessage) and answer.content == "a"


async def test_reply_replaces_partial_text_and_keeps_finished_messages(
    posthog: FakePostHog,
) -> None:
    posthog.on("POST", "", stream_response(*FULL_RUN, chunk_size=3))

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == ANSWER
    assert reply.title == "Weekly signups"
    assert reply.conversation_id == json.loads(posthog.requests[0].content)["conversation"]
    assert [m.id for m in reply.messages] == ["h1", "a1", "v1", "a2"]
    assert [m.id for m in reply.visualizations] == ["v1"]
    assert reply.failures == []


async def test_unknown_events_and_message_types_are_kept_not_fatal(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        stream_response(
            human(QUESTION),
            sse("approval", {"proposal_id": "p1"}),
            sse("message", {"id": "n1", "type": "ai/brand_new", "shiny": True}),
            sse("message", "{not json"),
            sse("message", {"content": "ok", "id": "a1", "type": "ai", "new_field": [1, 2]}),
        ),
    )

    events, reply = await collect(posthog)

    assert events[1] == UnknownEvent("approval", {"proposal_id": "p1"})
    brand_new = events[2]
    assert isinstance(brand_new, MessageEvent) and isinstance(brand_new.message, UnknownMessage)
    assert brand_new.message.type == "ai/brand_new" and brand_new.message.model_extra == {
        "shiny": True
    }
    assert events[3] == UnknownEvent("message", "{not json")
    final = events[4]
    assert isinstance(final, MessageEvent) and final.message.model_extra == {"new_field": [1, 2]}
    assert reply.status is ReplyStatus.COMPLETED


async def test_invalid_utf8_in_the_stream_is_replaced_not_fatal(posthog: FakePostHog) -> None:
    broken = b'event: message\ndata: {"content":"caf\xe9 \xff","id":"a1","type":"ai"}\n\n'
    posthog.on("POST", "", stream_response(human(QUESTION), broken, chunk_size=5))

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.text == "caf\ufffd \ufffd"


async def test_failure_message_ends_the_reply_as_failed(posthog: FakePostHog) -> None:
    oops = "Oops! Something went wrong. Please try again."
    posthog.on(
        "POST",
        "",
        stream_response(
            human(QUESTION),
            chunk("Hm"),
            sse("message", {"content": oops, "id": "f1", "type": "ai/failure"}),
        ),
    )

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.status is ReplyStatus.FAILED
    assert [f.content for f in reply.failures] == [oops]
    assert isinstance(reply.messages[-1], FailureMessage)


async def test_a_run_that_stops_before_answering_is_canceled(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        stream_response(
            human(QUESTION),
            ai(
                "Let me look.",
                "a1",
                tool_calls=[{"id": "t", "name": "x", "args": {}, "type": "tool_call"}],
            ),
        ),
    )

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.status is ReplyStatus.CANCELED


async def test_queued_follow_ups_on_the_same_stream_are_all_read(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        stream_response(
            human(QUESTION, "h1"),
            ai("First answer.", "a1"),
            human("and split by country?", "h2", trace_id="t-queued"),
            chunk("By coun"),
            ai("By country: US 60 %, DE 20 %.", "a2"),
        ),
    )

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == "By country: US 60 %, DE 20 %."
    assert [m.id for m in reply.messages] == ["h1", "a1", "h2", "a2"]


async def test_a_dropped_stream_is_resumed_without_resending_the_message(
    posthog: FakePostHog,
) -> None:
    first = stream_response(
        conversation_event(),
        human(QUESTION),
        chunk("Let"),
        ai("Let me look that up.", "a1"),
        chunk("There were"),
        error=httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        ),
    )
    replay = stream_response(  # PostHog replays the run from its start
        chunk("Let"),
        ai("Let me look that up.", "a1"),
        chunk("There"),
        chunk("There were"),
        chunk("There were 1 204"),
        ai(ANSWER, "a2"),
    )
    posthog.on("POST", "", first, replay)

    events, reply = await collect(posthog)

    bodies = posthog.bodies()
    assert [b["content"] for b in bodies] == [QUESTION, None]
    assert bodies[0]["conversation"] == bodies[1]["conversation"]
    assert bodies[0]["trace_id"] != bodies[1]["trace_id"]
    finished = [e.message.id for e in events if isinstance(e, MessageEvent) and not e.is_partial]
    assert finished == ["h1", "a1", "a2"]
    assert partial_texts(events) == ["Let", "There were", "There were 1 204"]
    assert reply.text == ANSWER
    assert len(posthog.sleeps) == 1


async def test_a_replay_that_starts_part_way_loses_nothing(posthog: FakePostHog) -> None:
    first = stream_response(human(QUESTION), ai("Step one.", "a1"), error=httpx.ReadError("reset"))
    later_only = stream_response(
        sse("update", {"content": "Querying", "id": "a1", "tool_call_id": "t"}), ai(ANSWER, "a2")
    )
    posthog.on("POST", "", first, later_only)

    events, reply = await collect(posthog)

    assert [type(e).__name__ for e in events] == [
        "MessageEvent",
        "MessageEvent",
        "UpdateEvent",
        "MessageEvent",
    ]
    assert reply.text == ANSWER


async def test_when_the_run_ended_during_the_drop_the_rest_comes_from_the_conversation(
    posthog: FakePostHog,
) -> None:
    first = stream_response(
        human(QUESTION, "h1"), ai("Step one.", "a1"), error=httpx.ReadTimeout("slow")
    )
    idle = idle_refusal()
    posthog.on("POST", "", first, idle)
    stored = stored_conversation(
        [
            {
                "content": "older",
                "id": "h0",
                "type": "human",
                "trace_id": "old",
                "ui_context": None,
            },
            {"content": QUESTION, "id": "h1", "type": "human", "trace_id": "x", "ui_context": None},
            {"content": "Step one.", "id": "a1", "type": "ai", "meta": None, "tool_calls": []},
            {"content": ANSWER, "id": "a2", "type": "ai", "meta": None, "tool_calls": []},
        ]
    )
    posthog.on("GET", f"{CID}/", json_response(200, stored))

    events, reply = await collect(posthog, conversation_id=CID)

    finished = [e.message.id for e in events if isinstance(e, MessageEvent)]
    assert finished == ["h1", "a1", "a2"]
    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == ANSWER
    assert reply.title == "Signups"


async def test_a_stream_that_keeps_breaking_ends_in_a_stream_error_that_says_how_to_resume(
    posthog: FakePostHog,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return stream_response(error=httpx.ReadError("reset"))

    posthog.on("POST", "", broken)

    async with posthog.client(max_retries=2) as client:
        with pytest.raises(StreamError, match="wait") as caught:
            await client.ask(QUESTION)

    assert len(posthog.bodies()) == 3
    assert caught.value.__cause__ is not None


async def test_a_non_event_stream_answer_is_a_clear_stream_error(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(b"<html>login</html>", content_type="text/html"))

    async with posthog.client() as client:
        with pytest.raises(StreamError, match="text/event-stream"):
            await client.ask(QUESTION)


async def test_leaving_the_stream_early_closes_the_connection(posthog: FakePostHog) -> None:
    body = ByteStream(list(FULL_RUN))
    posthog.on("POST", "", body_response(body))

    async with posthog.client() as client, client.stream(QUESTION) as replies:
        async for event in replies:
            if isinstance(event, MessageEvent):
                break

    assert body.closed


async def test_an_id_less_failure_is_kept(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human(QUESTION), sse("message", {"type": "ai/failure"})))

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert reply.status is ReplyStatus.FAILED
    assert len(reply.failures) == 1


async def test_the_budget_running_out_returns_the_text_so_far_and_detaches(
    posthog: FakePostHog,
) -> None:
    never = anyio.Event()
    body = ByteStream([human(QUESTION), ai("Step one.", "a1"), chunk("Still wri")], stall=never)
    posthog.on("POST", "", body_response(body))

    async with posthog.client() as client:
        with anyio.fail_after(5):
            reply = await client.ask(QUESTION, wait_s=0.01)

    assert reply.status is ReplyStatus.IN_PROGRESS
    assert reply.text == "Still wri"
    assert body.closed
    assert all(r.method == "POST" for r in posthog.requests)  # detaching never cancels the run


async def test_replayed_updates_are_not_repeated(posthog: FakePostHog) -> None:
    update = sse("update", {"content": "Querying", "id": "a1", "tool_call_id": "t"})
    first = stream_response(
        human(QUESTION), ai("Step one.", "a1"), update, error=httpx.ReadError("reset")
    )
    replay = stream_response(ai("Step one.", "a1"), update, ai(ANSWER, "a2"))
    posthog.on("POST", "", first, replay)

    events, reply = await collect(posthog)

    assert sum(isinstance(e, UpdateEvent) for e in events) == 1
    assert reply.text == ANSWER


async def test_artifacts_count_as_visualizations_unless_they_are_notebooks(
    posthog: FakePostHog,
) -> None:
    posthog.on(
        "POST",
        "",
        stream_response(
            human(QUESTION),
            sse(
                "message",
                {
                    "artifact_id": "x",
                    "content": {"content_type": "visualization"},
                    "id": "r1",
                    "source": "artifact",
                    "type": "ai/artifact",
                },
            ),
            sse(
                "message",
                {
                    "artifact_id": "y",
                    "content": {"content_type": "notebook"},
                    "id": "r2",
                    "source": "artifact",
                    "type": "ai/artifact",
                },
            ),
            sse("message", {"id": "m1", "type": "ai/multi_viz", "visualizations": [{"a": 1}]}),
        ),
    )

    async with posthog.client() as client:
        reply = await client.ask(QUESTION)

    assert [m.id for m in reply.visualizations] == ["r1", "m1"]
    assert reply.status is ReplyStatus.COMPLETED
