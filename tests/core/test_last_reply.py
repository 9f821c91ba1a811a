"""`last_reply`: the reply a conversation's last run left, read from a conversation in hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from max_tools import AsyncMaxClient, ReplyStatus
from max_tools.emulator import DEFAULT_KEY, RunningEmulator, load_rules

APPROVAL_RULE = {
    "match": "drop the old dashboard",
    "approval": {"tool_name": "delete_dashboard", "payload": {"dashboard_id": 42}},
    "reply": "The dashboard is gone.",
}
FORM_RULE = {
    "match": "weekly report",
    "form": {"questions": [{"id": "period", "question": "Which period?"}]},
    "reply": "Here is your weekly report.",
}
FAIL_RULE = {"match": "boom", "fail": True}

Scenario = Callable[[AsyncMaxClient, RunningEmulator], Awaitable[str]]


async def _completed(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    return (await client.ask("How many users signed up last week?")).conversation_id


async def _second_chart(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    first = await client.ask("Plot weekly signups")
    await client.ask("Plot signups by country", conversation_id=first.conversation_id)
    return first.conversation_id


async def _approval(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    return (await client.ask("Please drop the old dashboard")).conversation_id


async def _form(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    return (await client.ask("Build the weekly report")).conversation_id


async def _failed(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    return (await client.ask("boom")).conversation_id


async def _canceled(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    with emulator.held():
        started = await client.ask("How many users signed up last week?", wait_s=0)
        await client.cancel(started.conversation_id)
    return started.conversation_id


SCENARIOS: dict[str, tuple[Scenario, ReplyStatus]] = {
    "completed": (_completed, ReplyStatus.COMPLETED),
    "a follow-up with a chart": (_second_chart, ReplyStatus.COMPLETED),
    "waiting for approval": (_approval, ReplyStatus.NEEDS_APPROVAL),
    "waiting for a form": (_form, ReplyStatus.NEEDS_ANSWER),
    "failed": (_failed, ReplyStatus.FAILED),
    "canceled": (_canceled, ReplyStatus.CANCELED),
}


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rules": load_rules([APPROVAL_RULE, FORM_RULE, FAIL_RULE])}


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_last_reply_of_a_conversation_in_hand_is_what_wait_reads_without_a_request(
    client: AsyncMaxClient, emulator: RunningEmulator, scenario: str
) -> None:
    with anyio.fail_after(30):
        start, status = SCENARIOS[scenario]
        cid = await start(client, emulator)
        waited = await client.wait(cid, wait_s=0)
        conversation = await client.get_conversation(cid)
    before = emulator.stats().requests

    reply = client.last_reply(conversation)

    assert emulator.stats().requests == before
    assert reply == waited
    assert reply.status is status


async def test_the_last_reply_of_a_running_conversation_is_in_progress_with_what_is_stored(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    with emulator.held(), anyio.fail_after(30):
        started = await client.ask("How many users signed up last week?", wait_s=0)
        conversation = await client.get_conversation(started.conversation_id)

        reply = client.last_reply(conversation)

    assert conversation.is_running
    assert reply.status is ReplyStatus.IN_PROGRESS
    assert reply.turns[-1].question == "How many users signed up last week?"


async def test_an_approval_seen_in_the_last_reply_is_reported_skipped_by_a_new_message(
    emulator: RunningEmulator,
) -> None:
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as asker:
        with anyio.fail_after(30):
            asked = await asker.ask("Please drop the old dashboard")
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as reader:
        with anyio.fail_after(30):
            conversation = await reader.get_conversation(asked.conversation_id)
            seen = reader.last_reply(conversation)
            moved_on = await reader.ask("How many signups?", conversation_id=conversation.id)

    assert seen.status is ReplyStatus.NEEDS_APPROVAL
    assert [a.proposal_id for a in moved_on.skipped_approvals] == [
        a.proposal_id for a in seen.approvals
    ]
