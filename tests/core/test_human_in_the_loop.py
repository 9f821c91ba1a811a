"""Runs that stop for a person, through AsyncMaxClient against the emulator over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from max_tools import (
    AsyncMaxClient,
    InvalidArgumentsError,
    NotPendingError,
    Reply,
    ReplyStatus,
    ToolResultMessage,
)
from max_tools.emulator import RunningEmulator, load_rules

REJECTED = (
    "The user rejected this operation. Please acknowledge their decision and ask if they would "
    "like to proceed differently."
)
APPROVAL_RULE = {
    "match": "drop the old dashboard",
    "approval": {
        "tool_name": "delete_dashboard",
        "preview": "Delete dashboard 'Old metrics' (id 42)",
        "payload": {"dashboard_id": 42},
    },
    "reply": "The dashboard is gone.",
}
FORM_RULE = {
    "match": "weekly report",
    "form": {
        "questions": [
            {
                "id": "period",
                "title": "Period",
                "question": "Which period?",
                "options": [{"value": "Last 7 days"}, {"value": "Last 30 days"}],
                "allow_custom_answer": False,
            },
            {
                "id": "split",
                "question": "Break down by?",
                "type": "multi_select",
                "options": [{"value": "Country"}, {"value": "Browser, version"}],
            },
        ]
    },
    "reply": "Here is your weekly report.",
}
CLIENT_TOOL_RULE = {"match": "parse my traces", "client_tool": "create_ai_trace_parser"}


def tool_of(reply: Reply) -> ToolResultMessage:
    """The `tool` message that answered the paused call."""
    tool = next(m for m in reply.messages if isinstance(m, ToolResultMessage))
    return tool


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"rules": load_rules([APPROVAL_RULE, FORM_RULE, CLIENT_TOOL_RULE])}


async def test_a_run_that_waits_for_approval_says_so(client: AsyncMaxClient) -> None:
    reply = await client.ask("Please drop the old dashboard")

    assert reply.status is ReplyStatus.NEEDS_APPROVAL
    [approval] = reply.approvals
    assert approval.tool_name == "delete_dashboard"
    assert approval.preview == "Delete dashboard 'Old metrics' (id 42)"
    assert approval.payload == {"dashboard_id": 42}
    conversation = await client.get_conversation(reply.conversation_id)
    assert conversation.status == "idle"
    assert [a.decision_status for a in conversation.pending_approvals] == ["pending"]


async def test_approve_resumes_the_run_once(client: AsyncMaxClient) -> None:
    asked = await client.ask("Please drop the old dashboard")
    proposal = asked.approvals[0].proposal_id

    done = await client.approve(asked.conversation_id, proposal, payload={"dashboard_id": 43})

    assert done.status is ReplyStatus.COMPLETED
    assert done.text == "The dashboard is gone."
    tool = tool_of(done)
    assert tool.type == "tool"
    assert '"dashboard_id": 43' in tool.content  # the edited payload was merged
    conversation = await client.get_conversation(asked.conversation_id)
    [decided] = conversation.pending_approvals
    assert (decided.decision_status, decided.payload) == ("approved", {})
    # A second approval of the same proposal is refused before anything is sent.
    with pytest.raises(NotPendingError, match="already approved; nothing was sent"):
        await client.approve(asked.conversation_id, proposal)


async def test_reject_with_and_without_feedback(client: AsyncMaxClient) -> None:
    first = await client.ask("Please drop the old dashboard")
    rejected = await client.reject(first.conversation_id, first.approvals[0].proposal_id)
    assert tool_of(rejected).content == REJECTED
    assert rejected.status is ReplyStatus.COMPLETED

    second = await client.ask(
        "Please drop the old dashboard", conversation_id=first.conversation_id
    )
    with_feedback = await client.reject(
        second.conversation_id, second.approvals[0].proposal_id, feedback="keep it for audits"
    )
    assert tool_of(with_feedback).content.startswith(
        "The user rejected this operation with the following feedback: keep it for audits."
    )


async def test_a_new_message_skips_the_pending_approval(client: AsyncMaxClient) -> None:
    asked = await client.ask("Please drop the old dashboard")

    other = await client.ask("How many signups?", conversation_id=asked.conversation_id)

    assert other.status is ReplyStatus.COMPLETED
    assert [a.proposal_id for a in other.skipped_approvals] == [asked.approvals[0].proposal_id]
    conversation = await client.get_conversation(asked.conversation_id)
    assert conversation.pending_approvals[0].decision_status == "auto_rejected"
    with pytest.raises(NotPendingError, match="skipped"):
        await client.approve(asked.conversation_id, asked.approvals[0].proposal_id)


async def test_cancel_leaves_the_approval_pending(client: AsyncMaxClient) -> None:
    asked = await client.ask("Please drop the old dashboard")
    await client.cancel(asked.conversation_id)

    again = await client.wait(asked.conversation_id)

    assert again.status is ReplyStatus.NEEDS_APPROVAL
    assert again.approvals[0].proposal_id == asked.approvals[0].proposal_id


async def test_a_form_is_answered_with_checked_answers(client: AsyncMaxClient) -> None:
    asked = await client.ask("Build the weekly report")
    assert asked.status is ReplyStatus.NEEDS_ANSWER
    assert asked.form is not None
    assert [q.id for q in asked.form.questions] == ["period", "split"]

    with pytest.raises(InvalidArgumentsError, match="'Yesterday' is not one of the options"):
        await client.answer(asked.conversation_id, {"period": "Yesterday"})
    with pytest.raises(InvalidArgumentsError, match="'colour' is not a question"):
        await client.answer(asked.conversation_id, {"colour": "red"})

    done = await client.answer(
        asked.conversation_id, {"period": "last 30 days", "split": ["Country", "Browser, version"]}
    )
    assert done.status is ReplyStatus.COMPLETED
    assert done.text == "Here is your weekly report."
    assert tool_of(done).content == (
        'Which period?: Last 30 days\nBreak down by?: Country, "Browser, version"'
    )
    assert tool_of(done).ui_payload == {
        "create_form": {
            "status": "form",
            "answers": {"period": "Last 30 days", "split": ["Country", "Browser, version"]},
        }
    }


async def test_a_form_can_be_dismissed(client: AsyncMaxClient) -> None:
    asked = await client.ask("Build the weekly report")

    done = await client.dismiss_form(asked.conversation_id)

    assert tool_of(done).content.startswith("The user dismissed the form")
    assert tool_of(done).ui_payload == {"create_form": {"status": "dismiss_form"}}
    with pytest.raises(NotPendingError, match="not waiting for form answers"):
        await client.answer(asked.conversation_id, {"period": "Last 7 days"})


async def test_a_client_tool_call_is_answered_and_the_reply_goes_on(client: AsyncMaxClient) -> None:
    reply = await client.ask("Please parse my traces")

    assert reply.status is ReplyStatus.COMPLETED
    tool = tool_of(reply)
    assert "cannot run front-end tools" in tool.content
    assert reply.text.startswith("I could not use create_ai_trace_parser here")


async def test_the_built_in_agent_asks_before_deleting(client: AsyncMaxClient) -> None:
    # No rule matches: the built-in agent asks approval for deletions, a form for vague charts.
    deletion = await client.ask("Delete my onboarding dashboard")
    chart = await client.ask("Make me a chart")

    assert deletion.status is ReplyStatus.NEEDS_APPROVAL
    assert deletion.approvals[0].tool_name == "delete_dashboard"
    assert chart.status is ReplyStatus.NEEDS_ANSWER
    # The turn says the same as the reply (it read "canceled": the stream stopped at the call).
    assert (deletion.turns[-1].status, chart.turns[-1].status) == (
        ReplyStatus.NEEDS_APPROVAL,
        ReplyStatus.NEEDS_ANSWER,
    )


async def test_queue_is_cleared_while_an_approval_is_pending(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    with emulator.held():
        started = await client.ask("Please drop the old dashboard", wait_s=0)
        await client.queue_message(started.conversation_id, "And then the signups")
    reply = await client.wait(started.conversation_id)

    assert reply.status is ReplyStatus.NEEDS_APPROVAL
    assert (await client.get_queue(started.conversation_id)).messages == []
