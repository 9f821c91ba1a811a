"""Tasks that run: cancel, re-attach from a second client, not waiting, queueing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from a2a.client import Client
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    SendMessageConfiguration,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError

from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import (
    Streamed,
    a2a_client,
    key_holder_client,
    serving_a2a,
    stream,
    user_message,
)


async def _start_held(a2a: Client, text: str, seen: Streamed, started: anyio.Event) -> None:
    async for event in a2a.send_message(user_message(text)):
        seen.events.append(event)
        if event.HasField("task"):
            started.set()


@asynccontextmanager
async def _held_question(a2a: Client, emulator: RunningEmulator) -> AsyncIterator[Streamed]:
    """A question PostHog holds the answer to: its stream, once the task exists.

    On leaving, PostHog answers and the stream is read to its end.
    """
    seen, started = Streamed(), anyio.Event()
    async with anyio.create_task_group() as tg:
        with emulator.held():
            tg.start_soon(_start_held, a2a, "How many users signed up last week?", seen, started)
            await started.wait()
            yield seen


async def test_cancel_stops_the_run_and_the_stream_ends_canceled(
    a2a: Client, a2a_url: str, emulator: RunningEmulator
) -> None:
    seen, started = Streamed(), anyio.Event()
    with emulator.held(), anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_start_held, a2a, "How many users signed up last week?", seen, started)
            await started.wait()
            async with a2a_client(a2a_url) as other:
                canceled = await other.cancel_task(CancelTaskRequest(id=seen.task.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert seen.final_state == TaskState.TASK_STATE_CANCELED
    assert emulator.running() == []


@pytest.mark.parametrize("emulator_options", [{"scoped_keys": True}])
async def test_a_refused_cancel_is_an_error_that_says_why_and_the_task_runs_on(
    a2a: Client, a2a_url: str, emulator: RunningEmulator
) -> None:
    with anyio.fail_after(30):
        async with _held_question(a2a, emulator) as seen:
            async with a2a_client(a2a_url) as other:
                with pytest.raises(TaskNotCancelableError, match="refuses this action"):
                    await other.cancel_task(CancelTaskRequest(id=seen.task.id))
                still = await other.get_task(GetTaskRequest(id=seen.task.id))
            assert still.status.state == TaskState.TASK_STATE_WORKING
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED


async def test_a_second_client_re_attaches_to_a_running_task_and_sees_it_finish(
    a2a: Client, a2a_url: str, emulator: RunningEmulator
) -> None:
    later = Streamed()
    with anyio.fail_after(30):
        async with _held_question(a2a, emulator) as seen, a2a_client(a2a_url) as other:
            events = other.subscribe(SubscribeToTaskRequest(id=seen.task.id))
            first = await anext(events)
            assert first.task.status.state == TaskState.TASK_STATE_WORKING
            emulator.release()
            async for event in events:
                later.events.append(event)
    assert later.final_state == TaskState.TASK_STATE_COMPLETED
    assert later.answer() == seen.answer() != ""


async def test_send_message_that_does_not_wait_returns_the_working_task(
    a2a_url: str, emulator: RunningEmulator
) -> None:
    async with a2a_client(a2a_url, streaming=False) as client:
        request = user_message("How many users signed up last week?")
        request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
        with emulator.held(), anyio.fail_after(30):
            [response] = [e async for e in client.send_message(request)]
            assert response.task.status.state == TaskState.TASK_STATE_WORKING
            polled = await client.get_task(GetTaskRequest(id=response.task.id))
            assert polled.status.state == TaskState.TASK_STATE_WORKING
        async with key_holder_client(emulator) as max_client:
            with anyio.fail_after(30):
                await max_client.wait(response.task.context_id)  # the run goes on without us
                done = await client.get_task(GetTaskRequest(id=response.task.id))
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert done.artifacts[0].parts[0].text


async def test_a_message_to_a_busy_context_is_queued_and_runs_as_the_next_task(
    a2a: Client, emulator: RunningEmulator
) -> None:
    with anyio.fail_after(30):
        async with _held_question(a2a, emulator) as seen:
            queued = await stream(
                a2a, user_message("And by country?", context_id=seen.task.context_id)
            )
    [reply] = queued.events
    assert "queued" in reply.message.parts[0].text
    with anyio.fail_after(30):
        first = await a2a.get_task(GetTaskRequest(id=seen.task.id))
        second = await a2a.get_task(GetTaskRequest(id=f"{seen.task.context_id}~2"))
    assert second.history[0].parts[0].text == "And by country?"
    # The first stream carried its own answer only, not the queued message's that followed it.
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    assert seen.answer() == first.artifacts[0].parts[0].text != second.artifacts[0].parts[0].text
    assert "by country" not in "".join(seen.chunks())  # not even while it streamed


async def test_a_canceled_task_reads_canceled_on_another_replica_even_after_a_follow_up(
    a2a: Client, a2a_url: str, emulator: RunningEmulator
) -> None:
    seen, started = Streamed(), anyio.Event()
    with anyio.fail_after(30):
        with emulator.held():
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    _start_held, a2a, "How many users signed up last week?", seen, started
                )
                await started.wait()
                await a2a.cancel_task(CancelTaskRequest(id=seen.task.id))
        async with serving_a2a(emulator) as replica, a2a_client(replica) as other:
            right_after = await other.get_task(GetTaskRequest(id=seen.task.id))
            follow_up = await stream(
                other, user_message("How many users?", context_id=seen.task.context_id)
            )
            later = await other.get_task(GetTaskRequest(id=seen.task.id))
    assert follow_up.final_state == TaskState.TASK_STATE_COMPLETED
    assert right_after.status.state == TaskState.TASK_STATE_CANCELED
    assert later.status.state == TaskState.TASK_STATE_CANCELED
