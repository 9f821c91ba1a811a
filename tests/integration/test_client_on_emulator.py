"""The core client against the emulator over real loopback HTTP."""

from __future__ import annotations

import anyio
import httpx
import pytest

from max_tools import (
    AsyncMaxClient,
    ConversationBusyError,
    ConversationEvent,
    HumanMessage,
    MaxClient,
    MessageEvent,
    NotFoundError,
    PermissionDeniedError,
    QueueFullError,
    Reply,
    ReplyStatus,
    UnknownEvent,
    UnknownMessage,
    UpdateEvent,
    VisualizationMessage,
)
from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator
from tests.integration.conftest import RecordedSleeps


async def set_faults(emulator: RunningEmulator, **faults: object) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        response = await control.post("/_emulator/faults", json=faults)
        assert response.status_code == 200, response.text


def human_messages(emulator: RunningEmulator, conversation_id: str) -> list[str]:
    row = emulator.conversation(conversation_id)
    return [m["content"] for m in row.messages if m["type"] == "human"]


async def test_ask_then_follow_up_then_read_and_list(client: AsyncMaxClient) -> None:
    first = await client.ask("Show me a trend of signups")
    second = await client.ask("And by country?", conversation_id=first.conversation_id)
    conversation = await client.get_conversation(first.conversation_id)
    page = await client.list_conversations()

    assert first.status is ReplyStatus.COMPLETED
    assert first.text.startswith('Here is what I found for "Show me a trend of signups"')
    assert first.title == "Show me a trend of signups"
    assert [type(v) for v in first.visualizations] == [VisualizationMessage]
    assert second.text.startswith('Here is what I found for "And by country?"')
    assert second.title is None  # no conversation event on follow-ups
    assert conversation.title == "Show me a trend of signups" and not conversation.is_running
    assert [m.type for m in conversation.messages].count("human") == 2
    assert [c.id for c in page.results] == [first.conversation_id]


async def test_stream_yields_the_typed_events_in_order(client: AsyncMaxClient) -> None:
    async with client.stream("Plot daily active users") as replies:
        events = [event async for event in replies]

    assert (
        isinstance(events[0], ConversationEvent) and events[0].conversation.status == "in_progress"
    )
    assert isinstance(events[1], MessageEvent) and events[1].message.type == "human"
    assert any(
        isinstance(e, UpdateEvent) and e.content == "Creating a trends insight" for e in events
    )
    partials = [e for e in events if isinstance(e, MessageEvent) and e.is_partial]
    assert len(partials) >= 8
    assert isinstance(events[-1], MessageEvent) and events[-1].message.id is not None
    assert replies.reply().status is ReplyStatus.COMPLETED


async def test_iter_conversations_walks_every_page(client: AsyncMaxClient) -> None:
    ids = [(await client.ask(f"question {n}")).conversation_id for n in range(5)]

    seen = [c.id async for c in client.iter_conversations(page_size=2)]

    assert seen == list(reversed(ids))


async def test_a_dropped_stream_is_resumed_message_sent_once_text_once(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    await set_faults(emulator, drop_after_events=5)

    async with client.stream("Count pageviews") as replies:
        events = [event async for event in replies]
        reply = replies.reply()

    assert reply.status is ReplyStatus.COMPLETED
    assert 'Here is what I found for "Count pageviews"' in reply.text
    assert human_messages(emulator, reply.conversation_id) == ["Count pageviews"]
    finished = [e.message.id for e in events if isinstance(e, MessageEvent) and e.message.id]
    assert len(finished) == len(set(finished))
    assert [m.id for m in reply.messages] == finished


@pytest.mark.parametrize("drop_after", [1, 2, 9])
async def test_resume_works_wherever_the_drop_happens(
    emulator: RunningEmulator, client: AsyncMaxClient, drop_after: int
) -> None:
    await set_faults(emulator, drop_after_events=drop_after)

    reply = await client.ask("Count pageviews")

    assert reply.status is ReplyStatus.COMPLETED
    assert human_messages(emulator, reply.conversation_id) == ["Count pageviews"]
    assert reply.text.count("Count pageviews") == 1


async def test_a_busy_conversation_raises_busy_and_a_queued_follow_up_runs_on_the_same_stream(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    first = await client.ask("Signups last week?")
    emulator.hold()
    async with client.stream(
        "And the week before?", conversation_id=first.conversation_id
    ) as replies:
        iterator = replies.__aiter__()
        await anext(iterator)
        with pytest.raises(ConversationBusyError, match="queue"):
            await client.ask("Third question", conversation_id=first.conversation_id)
        queue = await client.queue_message(first.conversation_id, "Third question")
        assert [m.content for m in queue.messages] == ["Third question"]
        emulator.release()
        async for _ in iterator:
            pass
        reply = replies.reply()

    assert reply.status is ReplyStatus.COMPLETED
    assert reply.text.startswith('Here is what I found for "Third question"')
    assert [m.content for m in reply.messages if isinstance(m, HumanMessage)] == [
        "And the week before?",
        "Third question",
    ]
    assert [(turn.question, turn.status) for turn in reply.turns] == [
        ("And the week before?", ReplyStatus.COMPLETED),
        ("Third question", ReplyStatus.COMPLETED),
    ]
    assert reply.turns[0].text.startswith('Here is what I found for "And the week before?"')
    assert reply.turns[-1].text == reply.text


async def test_wait_follows_a_running_reply_from_another_client(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    emulator.hold()
    results: list[Reply] = []
    async with (
        client.stream("Long question") as replies,
        AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as other,
        anyio.create_task_group() as task_group,
    ):
        await anext(aiter(replies))

        async def follow() -> None:
            results.append(await other.wait(replies.conversation_id, wait_s=10))

        task_group.start_soon(follow)
        with anyio.fail_after(5):
            while (
                emulator.conversation(replies.conversation_id).readers < 2
            ):  # the other client has attached
                await anyio.lowlevel.checkpoint()
        emulator.release()

    assert results[0].status is ReplyStatus.COMPLETED
    assert results[0].text.startswith('Here is what I found for "Long question"')


async def test_wait_on_a_finished_conversation_reads_the_last_turn(client: AsyncMaxClient) -> None:
    asked = await client.ask("What happened?")

    waited = await client.wait(asked.conversation_id)

    assert waited.status is ReplyStatus.COMPLETED
    assert waited.text == asked.text
    assert waited.messages[0].type == "human"


@pytest.mark.parametrize("wait_s", [0, 0.001])
async def test_wait_with_no_budget_still_reads_a_finished_reply(
    client: AsyncMaxClient, wait_s: float
) -> None:
    asked = await client.ask("What happened?")

    waited = await client.wait(asked.conversation_id, wait_s=wait_s)

    assert waited.status is ReplyStatus.COMPLETED
    assert waited.text == asked.text


async def test_wait_with_no_budget_on_a_running_reply_says_it_runs(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    with emulator.held():
        started = await client.ask("Slow one", wait_s=0)

        waited = await client.wait(started.conversation_id, wait_s=0)

        assert (started.status, waited.status) == (ReplyStatus.IN_PROGRESS,) * 2


async def test_wait_with_a_budget_returns_in_progress_and_the_run_goes_on(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    emulator.hold()

    reply = await client.ask("Slow one", wait_s=0.2)

    assert reply.status is ReplyStatus.IN_PROGRESS
    row = emulator.conversation(reply.conversation_id)
    assert row.status == "in_progress"
    emulator.release()
    done = await client.wait(reply.conversation_id, wait_s=10)
    assert done.status is ReplyStatus.COMPLETED


async def test_cancel_mid_run_ends_the_reply_as_canceled_and_clears_the_queue(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    emulator.hold()
    async with client.stream("Cancel me") as replies:
        iterator = replies.__aiter__()
        await anext(iterator)
        await anext(iterator)
        await client.queue_message(replies.conversation_id, "never runs")
        await client.cancel(replies.conversation_id)
        with anyio.fail_after(5):
            async for _ in iterator:
                pass
        reply = replies.reply()
    emulator.release()

    assert reply.status is ReplyStatus.CANCELED
    assert (await client.get_queue(reply.conversation_id)).messages == []
    assert emulator.conversation(reply.conversation_id).status == "idle"


async def test_retries_on_429_and_503(
    emulator: RunningEmulator, client: AsyncMaxClient, sleeps: RecordedSleeps
) -> None:
    await set_faults(emulator, status=429, retry_after=2, count=1)
    await set_faults(emulator, status=503, count=1)

    reply = await client.ask("After the storm")
    page = await client.list_conversations()

    assert reply.status is ReplyStatus.COMPLETED
    assert sleeps.delays[0] == 2.0 and len(sleeps.delays) == 2
    assert page.count == 1


async def test_the_queue_tools_append_and_delete(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    cid = (await client.ask("Base question")).conversation_id
    emulator.hold()
    async with client.stream("Running", conversation_id=cid) as replies:
        await anext(aiter(replies))
        first = (await client.queue_message(cid, "one")).messages[0]
        await client.queue_message(cid, "two")
        with pytest.raises(QueueFullError):
            await client.queue_message(cid, "three")
        edited = await client.update_queued_message(cid, first.id, "one, edited")
        after_delete = await client.delete_queued_message(cid, first.id)
        cleared = await client.clear_queue(cid)
        emulator.release()
        async for _ in replies:  # let the run finish before appending
            pass

    message_id = await client.append_message(cid, "Support ticket #7 opened.")
    conversation = await client.get_conversation(cid)
    await client.delete_conversation(cid)

    assert edited.messages[0].content == "one, edited"
    assert [m.content for m in after_delete.messages] == ["two"]
    assert cleared.messages == []
    assert conversation.messages[-1].id == message_id
    with pytest.raises(NotFoundError):
        await client.get_conversation(cid)


@pytest.mark.parametrize("emulator_options", [{"scoped_keys": True}])
async def test_scoped_key_refusals_are_explained(client: AsyncMaxClient) -> None:
    reply = await client.ask("Allowed")

    with pytest.raises(PermissionDeniedError, match="keys that have scopes"):
        await client.cancel(reply.conversation_id)


async def test_unknown_events_and_messages_pass_through(
    emulator: RunningEmulator, client: AsyncMaxClient
) -> None:
    await set_faults(emulator, unknown_events=True)

    async with client.stream("Probe") as replies:
        events = [event async for event in replies]
    conversation = await client.get_conversation(replies.conversation_id)

    assert any(isinstance(e, UnknownEvent) and e.event == "emulator_probe" for e in events)
    assert any(
        isinstance(e, MessageEvent) and isinstance(e.message, UnknownMessage) for e in events
    )
    assert any(isinstance(m, UnknownMessage) for m in conversation.messages)
    assert replies.reply().status is ReplyStatus.COMPLETED


@pytest.mark.parametrize("emulator_options", [{"rules": [Rule(match="fail", fail=True)]}])
async def test_a_failing_run_is_failed(client: AsyncMaxClient) -> None:
    reply = await client.ask("please fail")

    assert reply.status is ReplyStatus.FAILED
    assert reply.failures[0].content == "Oops! Something went wrong. Please try again."


def test_the_sync_client_against_a_served_emulator(emulator: RunningEmulator) -> None:
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as sync_client:
        reply = sync_client.ask("Sync question")
        with sync_client.stream("Streamed", conversation_id=reply.conversation_id) as replies:
            count = sum(1 for _ in replies)

    assert reply.text.startswith('Here is what I found for "Sync question"')
    assert count > 5
