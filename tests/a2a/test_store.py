"""GetTask and ListTasks read from PostHog, and what they cost there (the emulator counts)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from a2a.client import Client
from a2a.helpers import get_data_parts
from a2a.types import GetTaskRequest, ListTasksRequest, TaskState

from max_tools.emulator import Rule, RunningEmulator
from tests.a2a.conftest import key_holder_client, stream, user_message


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rules": [Rule(match="boom", fail=True)]}


async def _conversations(emulator: RunningEmulator, *turns: int) -> list[str]:
    """Conversations with these numbers of finished turns, oldest first; their ids."""
    ids = []
    async with key_holder_client(emulator) as max_client:
        for count in turns:
            cid = (await max_client.ask("How many users signed up last week?")).conversation_id
            for n in range(2, count + 1):
                await max_client.ask(f"And {n} weeks before?", conversation_id=cid)
            ids.append(cid)
    return ids


@pytest.mark.parametrize(
    ("question", "state"),
    [
        ("How many users signed up last week?", TaskState.TASK_STATE_COMPLETED),
        ("Delete the onboarding dashboard", TaskState.TASK_STATE_INPUT_REQUIRED),
        ("Make me a chart", TaskState.TASK_STATE_INPUT_REQUIRED),
        ("boom", TaskState.TASK_STATE_FAILED),
    ],
    ids=["completed", "waiting-for-approval", "waiting-for-a-form", "failed"],
)
async def test_get_task_of_a_task_that_is_not_running_is_one_posthog_request(
    a2a: Client, emulator: RunningEmulator, question: str, state: TaskState
) -> None:
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message(question))
        before = emulator.stats().requests
        task = await a2a.get_task(GetTaskRequest(id=seen.task.id))

    assert emulator.stats().requests - before == 1
    assert task.status.state == state == seen.final_state
    if state == TaskState.TASK_STATE_INPUT_REQUIRED:
        assert get_data_parts(task.status.message.parts) == [seen.status_data()]


async def test_list_tasks_reads_each_listed_conversation_once(
    a2a: Client, emulator: RunningEmulator
) -> None:
    await _conversations(emulator, 2, 1, 1)
    with anyio.fail_after(30):
        before = emulator.stats().requests
        listed = await a2a.list_tasks(ListTasksRequest())

    assert emulator.stats().requests - before == 1 + 3  # the list, then each conversation
    assert len(listed.tasks) == 4
    assert listed.next_page_token == ""


async def test_list_tasks_with_a_small_page_size_reads_only_the_conversations_it_shows(
    a2a: Client, emulator: RunningEmulator
) -> None:
    newest_last = await _conversations(emulator, 1, 1, 1, 1, 1, 1)
    with anyio.fail_after(30):
        before = emulator.stats().requests
        page = await a2a.list_tasks(ListTasksRequest(page_size=1))
        one = emulator.stats().requests - before
        before = emulator.stats().requests
        await a2a.list_tasks(ListTasksRequest(page_size=2))
        two = emulator.stats().requests - before

    assert (one, two) == (1 + 1, 1 + 2)
    assert [t.context_id for t in page.tasks] == newest_last[-1:]


async def test_working_tasks_are_listed_without_reading_idle_conversations(
    a2a: Client, emulator: RunningEmulator
) -> None:
    await _conversations(emulator, 1, 2, 1)
    with anyio.fail_after(30):
        before = emulator.stats().requests
        listed = await a2a.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_WORKING))

    assert emulator.stats().requests - before == 1
    assert list(listed.tasks) == []


@pytest.mark.parametrize("page_size", [1, 2])
async def test_paging_through_list_tasks_gives_every_task_exactly_once(
    a2a: Client, emulator: RunningEmulator, page_size: int
) -> None:
    await _conversations(emulator, 2, 1, 3)
    with anyio.fail_after(60):
        everything = [t.id for t in (await a2a.list_tasks(ListTasksRequest())).tasks]
        paged: list[str] = []
        token = ""
        for _ in range(len(everything) + 1):
            page = await a2a.list_tasks(ListTasksRequest(page_size=page_size, page_token=token))
            assert len(page.tasks) <= page_size
            paged += [t.id for t in page.tasks]
            token = page.next_page_token
            if not token:
                break

    assert len(everything) == 6
    assert paged == everything
    assert token == ""


async def test_paging_through_a_contexts_tasks_gives_each_once_newest_first(
    a2a: Client, emulator: RunningEmulator
) -> None:
    [cid] = await _conversations(emulator, 3)
    with anyio.fail_after(30):
        first = await a2a.list_tasks(ListTasksRequest(context_id=cid, page_size=2))
        rest = await a2a.list_tasks(
            ListTasksRequest(context_id=cid, page_size=2, page_token=first.next_page_token)
        )

    assert [t.id for t in first.tasks] == [f"{cid}~3", f"{cid}~2"]
    assert [t.id for t in rest.tasks] == [f"{cid}~1"]
    assert rest.next_page_token == ""


async def test_a_task_answered_while_paging_does_not_move_the_pages(
    a2a: Client, emulator: RunningEmulator
) -> None:
    [cid] = await _conversations(emulator, 2)
    with anyio.fail_after(30):
        first = await a2a.list_tasks(ListTasksRequest(context_id=cid, page_size=1))
        async with key_holder_client(emulator) as max_client:
            await max_client.ask("And by country?", conversation_id=cid)
        rest = await a2a.list_tasks(
            ListTasksRequest(context_id=cid, page_token=first.next_page_token)
        )

    assert [t.id for t in first.tasks] == [f"{cid}~2"]
    assert [t.id for t in rest.tasks] == [f"{cid}~1"]


async def test_a_conversation_that_takes_the_place_of_a_page_token_keeps_its_newer_tasks(
    a2a: Client, emulator: RunningEmulator
) -> None:
    older, newer = await _conversations(emulator, 2, 2)
    with anyio.fail_after(60):
        first = await a2a.list_tasks(ListTasksRequest(page_size=1))
        # The older conversation goes on: it is now first in PostHog's list, at the place the
        # token's turn was about.
        async with key_holder_client(emulator) as max_client:
            await max_client.ask("And by country?", conversation_id=older)
        rest = await a2a.list_tasks(ListTasksRequest(page_token=first.next_page_token))

    assert [t.id for t in first.tasks] == [f"{newer}~2"]
    listed = [t.id for t in rest.tasks]
    assert listed[:3] == [f"{older}~3", f"{older}~2", f"{older}~1"]
