"""A question streamed to the end and a follow-up in the same context, with the SDK's client."""

from __future__ import annotations

import time

import anyio
import pytest
from a2a.client import Client
from a2a.helpers import get_text_parts
from a2a.types import GetTaskRequest, TaskState

from max_tools import AIMessage
from max_tools.emulator import RunningEmulator, load_rules
from tests.a2a.conftest import Streamed, key_holder_client, stream, user_message


@pytest.mark.parametrize("emulator_options", [{"delay_s": 0.08}])  # PostHog-like pacing
async def test_a_question_streams_progress_a_growing_answer_and_completes(
    a2a: Client, emulator: RunningEmulator
) -> None:
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("How many users signed up last week?"))

    task = seen.task
    assert task.status.state == TaskState.TASK_STATE_WORKING
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    updates = [
        e.artifact_update
        for e in seen.events
        if e.HasField("artifact_update") and e.artifact_update.artifact.artifact_id == "answer"
    ]
    async with key_holder_client(emulator) as max_client:
        stored = await max_client.get_conversation(task.context_id)
    answer = [m for m in stored.messages if isinstance(m, AIMessage)][-1].content
    # While PostHog AI writes, the artifact grows: a new message replaces it, and then each
    # update carries only the new words.
    *growing, last = updates
    assert any(u.append for u in growing)
    start = max(i for i, u in enumerate(growing) if not u.append)
    so_far = "".join("".join(get_text_parts(u.artifact.parts)) for u in growing[start:])
    assert len(so_far) > 0 and answer.startswith(so_far)
    # The last chunk is the whole answer, replacing what grew (as ADK reads a last chunk).
    assert last.last_chunk and not last.append
    assert "".join(get_text_parts(last.artifact.parts)) == answer == seen.answer()
    assert not any(u.last_chunk for u in growing)
    assert task.id == f"{task.context_id}~1"


async def test_a_follow_up_in_the_same_context_continues_the_conversation(a2a: Client) -> None:
    with anyio.fail_after(30):
        first = await stream(a2a, user_message("How many users signed up last week?"))
        cid = first.task.context_id
        second = await stream(a2a, user_message("And the week before?", context_id=cid))

    assert second.task.context_id == cid
    assert second.task.id == f"{cid}~2"
    assert second.final_state == TaskState.TASK_STATE_COMPLETED
    with anyio.fail_after(30):
        again = await a2a.get_task(GetTaskRequest(id=first.task.id))
    assert again.status.state == TaskState.TASK_STATE_COMPLETED
    assert again.artifacts[0].parts[0].text == first.answer()


async def test_send_message_without_streaming_returns_the_finished_task(a2a_url: str) -> None:
    from tests.a2a.conftest import a2a_client

    async with a2a_client(a2a_url, streaming=False) as client:
        with anyio.fail_after(30):
            [response] = [e async for e in client.send_message(user_message("How many users?"))]
    assert response.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert response.task.artifacts[0].artifact_id == "answer"
    assert response.task.artifacts[0].parts[0].text


async def test_a_skill_in_the_metadata_picks_posthog_ais_agent_mode(
    a2a: Client, emulator: RunningEmulator
) -> None:
    from a2a.utils.errors import InvalidParamsError

    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("How many users?", metadata={"skill": "sql"}))
    async with key_holder_client(emulator) as max_client:
        stored = await max_client.get_conversation(seen.task.context_id)
    assert stored.agent_mode == "sql"
    with anyio.fail_after(30), pytest.raises(InvalidParamsError, match="not offered here"):
        await stream(a2a, user_message("How many users?", metadata={"skill": "research"}))


_LONG = " ".join(f"Week {n}: signups grew by {n % 9 + 1} percent." for n in range(60))


@pytest.mark.parametrize(
    "emulator_options",
    [{"rules": load_rules([{"match": "report", "reply": _LONG, "chunks": 200, "delay_s": 0}])}],
)
async def test_a_long_answer_written_in_a_moment_reaches_the_client_whole_in_three_events(
    a2a: Client,
) -> None:
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("Write the weekly report"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    assert seen.answer() == _LONG
    # PostHog sent 200 chunks within the artifact's first quarter second: the client gets the
    # task (with PostHog AI's first progress line), the whole answer once, and the end.
    assert [e.WhichOneof("payload") for e in seen.events] == [
        "task",
        "artifact_update",
        "status_update",
    ]
    assert seen.chunks() == [_LONG]
    assert seen.task.status.message.parts[0].text == "PostHog AI received the message"


async def test_status_lines_of_a_streamed_answer_do_not_repeat_its_words(a2a: Client) -> None:
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("How many users signed up last week?"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    answer = seen.answer()
    lines = _progress_lines(seen)
    assert "PostHog AI received the message" in lines  # progress is still told
    # The answer is the artifact; a status line with its words would only send them again.
    assert not [line for line in lines if line and line.strip("…") in answer]


def _progress_lines(seen: Streamed) -> list[str]:
    """The progress lines a client saw: the task's first status, then its status updates."""
    statuses = [seen.task.status] + [
        e.status_update.status for e in seen.events if e.HasField("status_update")
    ]
    return [
        "".join(get_text_parts(status.message.parts))
        for status in statuses
        if status.state == TaskState.TASK_STATE_WORKING and status.message.parts
    ]


async def test_progress_lines_reach_the_client_at_most_every_quarter_second(a2a: Client) -> None:
    started = time.monotonic()
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("How many users signed up last week?"))
    took = time.monotonic() - started
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    # PostHog AI sent its steps in a burst (the emulator does not pause): the newest line won.
    assert 1 <= len(_progress_lines(seen)) <= 1 + took / 0.25


@pytest.mark.parametrize("emulator_options", [{"delay_s": 0.4}])
async def test_a_held_progress_line_goes_out_though_posthog_sends_nothing_after_it(
    a2a: Client,
) -> None:
    with anyio.fail_after(60):
        seen = await stream(a2a, user_message("How many users signed up last week?"))
    # The title and this step came together, then PostHog AI paused: the step still showed.
    lines = _progress_lines(seen)
    assert "Searching your project's events" in lines
    assert lines.index("Searching your project's events") < lines.index(
        "PostHog AI finished a step"
    )


async def test_words_held_back_go_out_though_posthog_sends_nothing_after_them(
    a2a: Client, emulator: RunningEmulator
) -> None:
    seen, shown = Streamed(), anyio.Event()

    async def read() -> None:
        async for event in a2a.send_message(user_message("How many users signed up last week?")):
            seen.events.append(event)
            if event.HasField("artifact_update"):
                shown.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            with emulator.held():  # PostHog AI stops after its first message, mid-run
                tg.start_soon(read)
                await shown.wait()  # the words the artifact held back went out all the same
                assert seen.answer() == "Let me look into that."
                assert all(s == TaskState.TASK_STATE_WORKING for s in seen.states)  # still runs
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    assert "matching events" in seen.answer()
