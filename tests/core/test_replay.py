"""The replay de-duplication of a resumed stream, as a table of event sequences (no I/O)."""

from __future__ import annotations

from max_tools._events import MessageEvent, StreamEvent, UpdateEvent
from max_tools._messages import AIMessage, HumanMessage
from max_tools._replay import Replay


def partial(text: str) -> MessageEvent:
    return MessageEvent(AIMessage(type="ai", content=text))


def final(text: str, mid: str) -> MessageEvent:
    return MessageEvent(AIMessage(type="ai", content=text, id=mid))


def human(text: str, mid: str) -> MessageEvent:
    return MessageEvent(HumanMessage(type="human", content=text, id=mid))


def update(text: str) -> UpdateEvent:
    return UpdateEvent(id="u1", tool_call_id="t1", content=text)


def texts(events: list[StreamEvent]) -> list[str]:
    return [
        e.message.content
        for e in events
        if isinstance(e, MessageEvent) and isinstance(e.message, AIMessage)
    ]


def delivered(replay: Replay, events: list[StreamEvent]) -> list[StreamEvent]:
    return [event for event in events if replay.accept(event)]


def test_first_stream_passes_everything_but_repeated_partials_and_updates() -> None:
    events: list[StreamEvent] = [
        human("q", "h1"),
        update("Looking"),
        update("Looking"),
        partial("Hel"),
        partial("Hello"),
        final("Hello", "a1"),
    ]
    assert delivered(Replay(), events) == [events[0], events[1], events[3], events[4], events[5]]


def test_replay_from_the_start_drops_what_was_delivered_and_passes_what_is_new() -> None:
    replay = Replay()
    first = delivered(replay, [human("q", "h1"), partial("Hel")])
    replay.restart()
    again = delivered(
        replay, [human("q", "h1"), partial("Hel"), partial("Hello"), final("Hello", "a1")]
    )

    assert len(first) == 2
    assert texts(again) == ["Hello", "Hello"]


def test_replay_that_starts_part_way_recognises_text_already_shown() -> None:
    replay = Replay()
    delivered(replay, [human("q", "h1"), final("One", "a1"), partial("Two so")])
    replay.restart()
    again = delivered(replay, [partial("Two so"), partial("Two so far"), final("Two so far", "a2")])

    assert texts(again) == ["Two so far", "Two so far"]


def test_finished_message_seen_before_is_never_delivered_twice() -> None:
    replay = Replay()
    delivered(replay, [final("One", "a1")])
    replay.restart()
    assert delivered(replay, [final("One", "a1"), final("Two", "a2")]) == [final("Two", "a2")]
