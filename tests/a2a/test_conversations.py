"""A question streamed to the end and a follow-up in the same context, with the SDK's client."""

from __future__ import annotations

import anyio
from a2a.client import Client
from a2a.types import GetTaskRequest, TaskState

from max_tools import AsyncMaxClient
from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import stream, user_message


async def test_a_question_streams_progress_a_growing_answer_and_completes(
    a2a: Client, emulator: RunningEmulator
) -> None:
    with anyio.fail_after(30):
        seen = await stream(a2a, user_message("How many users signed up last week?"))

    task = seen.task
    assert task.status.state == TaskState.TASK_STATE_WORKING
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    assert len(seen.chunks()) > 1  # the answer grew in chunks
    async with AsyncMaxClient(**_client_options(emulator)) as max_client:
        stored = await max_client.get_conversation(task.context_id)
    assert seen.answer() == stored.messages[-1].content
    assert task.id == f"{task.context_id}~1"


def _client_options(emulator: RunningEmulator) -> dict[str, str]:
    env = emulator.env()
    return {
        "api_key": env["POSTHOG_PERSONAL_API_KEY"],
        "host": env["POSTHOG_HOST"],
        "project_id": env["POSTHOG_PROJECT_ID"],
    }
