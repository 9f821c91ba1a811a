"""`MaxClient`: the same behaviour from synchronous code and from inside a running event loop."""

from __future__ import annotations

import inspect
import threading

import anyio
import pytest

from max_tools import ConversationBusyError, MaxClient, MessageEvent, ReplyStatus
from tests.fake_posthog import (
    CID,
    KEY,
    FakePostHog,
    ai,
    chunk,
    drf_error,
    human,
    idle_refusal,
    json_response,
    stream_response,
)


def sync_client(posthog: FakePostHog) -> MaxClient:
    return MaxClient(
        api_key=KEY,
        host="us",
        project_id=2,
        http_client=posthog.http_client(),
        sleep=posthog.sleep,
    )


def test_ask_from_plain_sync_code(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human("hi"), chunk("Hel"), ai("Hello!", "a1")))

    with sync_client(posthog) as client:
        reply = client.ask("hi")

    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text == "Hello!"


def test_ask_calls_on_event_with_each_event(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human("hi"), chunk("Hel"), ai("Hello!", "a1")))
    seen: list[str] = []

    with sync_client(posthog) as client:
        reply = client.ask("hi", on_event=lambda event: seen.append(type(event).__name__))

    assert seen == ["MessageEvent"] * 3
    assert reply.text == "Hello!"


def test_stream_from_sync_code_yields_typed_events(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human("hi"), chunk("Hel"), ai("Hello!", "a1")))

    with sync_client(posthog) as client, client.stream("hi") as replies:
        events = list(replies)
        reply = replies.reply()
        conversation_id = replies.conversation_id

    assert [type(e) for e in events] == [MessageEvent, MessageEvent, MessageEvent]
    assert reply.text == "Hello!" and reply.conversation_id == conversation_id


def test_errors_cross_the_thread_unchanged(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        "",
        drf_error(409, "server_error", "conflict", "Cannot resume streaming with a new message"),
    )

    with sync_client(posthog) as client, pytest.raises(ConversationBusyError):
        client.ask("hi", conversation_id=CID)


def test_every_method_works_synchronously(posthog: FakePostHog) -> None:
    empty_queue = json_response(200, {"messages": [], "max_queue_messages": 2})
    item = {"id": "q1", "content": "next", "created_at": None}
    posthog.on(
        "GET",
        "",
        json_response(
            200,
            {
                "count": 1,
                "next": None,
                "previous": None,
                "results": [{"id": CID, "status": "idle", "title": "T"}],
            },
        ),
    )
    posthog.on(
        "GET",
        f"{CID}/",
        json_response(200, {"id": CID, "status": "idle", "title": "T", "messages": []}),
    )
    posthog.on("DELETE", f"{CID}/", json_response(204))
    posthog.on("POST", f"{CID}/append_message/", json_response(201, {"id": "m1"}))
    posthog.on("PATCH", f"{CID}/cancel/", json_response(204))
    posthog.on("GET", f"{CID}/queue/", empty_queue)
    posthog.on(
        "POST", f"{CID}/queue/", json_response(200, {"messages": [item], "max_queue_messages": 2})
    )
    posthog.on(
        "PATCH",
        f"{CID}/queue/q1/",
        json_response(200, {"messages": [dict(item, content="edited")]}),
    )
    posthog.on("DELETE", f"{CID}/queue/q1/", empty_queue)
    posthog.on("POST", f"{CID}/queue/clear/", empty_queue)
    posthog.on(
        "POST",
        "",
        idle_refusal(),
    )

    with sync_client(posthog) as client:
        assert client.list_conversations(limit=5).count == 1
        assert [c.id for c in client.iter_conversations()] == [CID]
        assert client.get_conversation(CID).title == "T"
        assert client.append_message(CID, "note") == "m1"
        client.cancel(CID)
        assert client.get_queue(CID).messages == []
        assert client.queue_message(CID, "next").messages[0].id == "q1"
        assert client.update_queued_message(CID, "q1", "edited").messages[0].content == "edited"
        assert client.delete_queued_message(CID, "q1").messages == []
        assert client.clear_queue(CID).messages == []
        assert client.wait(CID).status is ReplyStatus.CANCELED
        assert client.last_reply(client.get_conversation(CID)).status is ReplyStatus.CANCELED
        client.delete_conversation(CID)

    assert len(posthog.requests) == 14  # last_reply asks nothing: the one more is its read


def test_works_inside_a_running_event_loop_like_jupyter(posthog: FakePostHog) -> None:
    posthog.on("POST", "", stream_response(human("hi"), ai("Hello!", "a1")))

    async def notebook_cell() -> str:
        with sync_client(posthog) as client:
            return client.ask("hi").text

    assert anyio.run(notebook_cell) == "Hello!"


def test_close_stops_the_background_thread(posthog: FakePostHog) -> None:
    before = {t.name for t in threading.enumerate()}
    client = sync_client(posthog)
    client.close()
    client.close()  # twice is harmless
    assert {t.name for t in threading.enumerate() if t.is_alive()} <= before


def test_a_forgotten_client_stops_its_thread_when_collected(posthog: FakePostHog) -> None:
    import gc

    before = threading.active_count()
    client = sync_client(posthog)
    assert threading.active_count() == before + 1
    del client
    gc.collect()
    assert threading.active_count() == before


def test_a_configuration_error_does_not_leave_a_thread_behind() -> None:
    alive = threading.active_count()
    with pytest.raises(ValueError, match="POSTHOG_PERSONAL_API_KEY"):
        MaxClient()
    assert threading.active_count() == alive


def test_help_shows_the_sync_client_as_it_is_called() -> None:
    stream = inspect.signature(MaxClient.stream)
    ask = inspect.signature(MaxClient.ask)
    assert stream.return_annotation == "AbstractContextManager[SyncReplyStream]"
    assert ask.return_annotation == "Reply" and "conversation_id" in ask.parameters
    assert MaxClient.ask.__doc__ and MaxClient.ask.__doc__.startswith("Send a message")
    assert {MaxClient.ask.__module__, MaxClient.stream.__module__} == {"max_tools"}
