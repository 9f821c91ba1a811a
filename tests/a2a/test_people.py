"""Approvals and forms as input-required; the next message to the task carries the decision."""

from __future__ import annotations

from typing import cast

import anyio
from a2a.client import Client
from a2a.types import TaskState

from tests.a2a.conftest import stream, user_message


async def test_an_approval_is_input_required_with_its_card_and_an_approve_resumes_it(
    a2a: Client,
) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a, user_message("Delete the onboarding dashboard"))
    assert paused.final_state == TaskState.TASK_STATE_INPUT_REQUIRED
    [card] = cast(list[dict[str, str]], paused.status_data()["approvals"])
    assert card["tool"] == "delete_dashboard"

    task = paused.task
    with anyio.fail_after(30):
        done = await stream(
            a2a,
            user_message(data={"decision": "approve"}, task_id=task.id, context_id=task.context_id),
        )
    assert done.final_state == TaskState.TASK_STATE_COMPLETED
    assert "carried out" in done.answer()


async def test_a_rejection_with_feedback_resumes_and_a_second_decision_is_refused(
    a2a: Client,
) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a, user_message("Delete the onboarding dashboard"))
        task = paused.task
        decision = {"decision": "reject", "feedback": "not now"}
        done = await stream(a2a, user_message(data=decision, task_id=task.id))
    assert done.final_state == TaskState.TASK_STATE_COMPLETED
    assert "left everything as it was" in done.answer()

    import pytest
    from a2a.utils.errors import UnsupportedOperationError

    with (
        anyio.fail_after(30),
        pytest.raises(UnsupportedOperationError, match="only a task waiting"),
    ):
        await stream(a2a, user_message(data=decision, task_id=task.id))


async def test_a_decision_that_does_not_fit_leaves_the_task_waiting_and_says_why(
    a2a: Client,
) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a, user_message("Delete the onboarding dashboard"))
        task = paused.task
        wrong = await stream(a2a, user_message(data={"decision": "maybe"}, task_id=task.id))
    assert wrong.final_state == TaskState.TASK_STATE_INPUT_REQUIRED
    status = wrong.final_status
    assert "waits for a decision" in status.message.parts[0].text  # type: ignore[attr-defined]  # protobuf stubs
    assert wrong.status_data()["approvals"]


async def test_a_new_message_in_the_context_skips_the_approval_and_says_so(a2a: Client) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a, user_message("Delete the onboarding dashboard"))
        cid = paused.task.context_id
        moved_on = await stream(a2a, user_message("How many users?", context_id=cid))
    assert moved_on.final_state == TaskState.TASK_STATE_COMPLETED
    [card] = cast(list[dict[str, str]], paused.status_data()["approvals"])
    assert moved_on.status_data()["skipped_approvals"] == [card["proposal_id"]]


async def test_a_form_is_input_required_with_its_questions_and_the_answers_resume_it(
    a2a: Client,
) -> None:
    with anyio.fail_after(30):
        asked = await stream(a2a, user_message("Make me a chart"))
    assert asked.final_state == TaskState.TASK_STATE_INPUT_REQUIRED
    questions = cast(list[dict[str, str]], asked.status_data()["questions"])
    assert [q["id"] for q in questions] == ["time_range", "breakdown"]

    answers = {"time_range": "Last 30 days", "breakdown": ["Browser"]}
    with anyio.fail_after(30):
        done = await stream(a2a, user_message(data={"answers": answers}, task_id=asked.task.id))
    assert done.final_state == TaskState.TASK_STATE_COMPLETED
    assert done.answer()
