"""Charts as artifacts, the agent card, and bad input answered with the protocol's errors."""

from __future__ import annotations

import anyio
import httpx
import pytest
from a2a.client import Client
from a2a.helpers import get_data_parts
from a2a.types import GetTaskRequest, ListTasksRequest, TaskState
from a2a.utils.errors import InvalidParamsError, TaskNotFoundError

from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import key_holder_client, stream, user_message


async def test_a_chart_is_an_artifact_with_its_numbers_a_vega_lite_spec_and_a_png(
    a2a: Client, emulator: RunningEmulator
) -> None:
    with anyio.fail_after(60):
        seen = await stream(a2a, user_message("Plot weekly signups by country"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    [chart] = [
        e.artifact_update.artifact
        for e in seen.events
        if e.HasField("artifact_update") and e.artifact_update.artifact.artifact_id == "chart-1"
    ]
    table, spec = get_data_parts(chart.parts)
    async with key_holder_client(emulator) as max_client:
        _, truth = await max_client.chart_data(seen.task.context_id, 1)
    assert truth.series is not None
    assert [s["label"] for s in table["series"]] == [s.label for s in truth.series]
    assert "$schema" in spec and "vega-lite" in spec["$schema"]
    [png] = [p for p in chart.parts if p.HasField("raw")]
    assert png.media_type == "image/png" and png.raw.startswith(b"\x89PNG")


async def test_the_agent_card_names_the_skills_streaming_and_both_bindings(a2a_url: str) -> None:
    async with httpx.AsyncClient() as http:
        card = (await http.get(f"{a2a_url}/.well-known/agent-card.json")).json()
    assert card["capabilities"]["streaming"] is True
    assert {s["id"] for s in card["skills"]} == {"product_analytics", "sql", "charts"}
    assert all(s["examples"] for s in card["skills"])
    assert {i["protocolBinding"] for i in card["supportedInterfaces"]} == {"JSONRPC", "HTTP+JSON"}
    assert all(i["url"].startswith(a2a_url) for i in card["supportedInterfaces"])


async def test_an_unknown_task_is_task_not_found(a2a: Client) -> None:
    with anyio.fail_after(30), pytest.raises(TaskNotFoundError):
        await a2a.get_task(GetTaskRequest(id="0b7a3c2e-1111-4222-8333-944455556666~1"))
    with anyio.fail_after(30), pytest.raises(TaskNotFoundError):
        await a2a.get_task(GetTaskRequest(id="not-a-task"))


async def test_a_task_named_with_the_wrong_context_is_invalid_params(a2a: Client) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a, user_message("Delete the onboarding dashboard"))
    wrong = "0b7a3c2e-1111-4222-8333-944455556666"
    with anyio.fail_after(30), pytest.raises(InvalidParamsError, match="does not match"):
        await stream(
            a2a,
            user_message(data={"decision": "approve"}, task_id=paused.task.id, context_id=wrong),
        )


async def test_a_file_part_or_an_empty_message_is_invalid_params(a2a: Client) -> None:
    from a2a.helpers import new_raw_part

    request = user_message("look at this")
    request.message.parts.append(new_raw_part(b"\x00", media_type="application/octet-stream"))
    with anyio.fail_after(30), pytest.raises(InvalidParamsError, match="text and data parts"):
        await stream(a2a, request)
    with anyio.fail_after(30), pytest.raises(InvalidParamsError, match="no text or data part"):
        await stream(a2a, user_message())
    with anyio.fail_after(30), pytest.raises(InvalidParamsError, match="not a conversation id"):
        await stream(a2a, user_message("hi", context_id="my-context"))


async def test_list_tasks_of_a_context_answers_from_posthog(a2a: Client) -> None:
    with anyio.fail_after(30):
        first = await stream(a2a, user_message("How many users signed up last week?"))
        cid = first.task.context_id
        await stream(a2a, user_message("And the week before?", context_id=cid))
        listed = await a2a.list_tasks(ListTasksRequest(context_id=cid))
    assert [t.id for t in listed.tasks] == [f"{cid}~2", f"{cid}~1"]
    assert all(t.status.state == TaskState.TASK_STATE_COMPLETED for t in listed.tasks)
