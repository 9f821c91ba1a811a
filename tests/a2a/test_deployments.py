"""Deployments: per-request keys, read-only, and two replicas behind a round-robin balancer."""

from __future__ import annotations

import anyio
import httpx
import pytest
from a2a.client import Client
from a2a.types import CancelTaskRequest, GetTaskRequest, SubscribeToTaskRequest, TaskState
from a2a.utils.errors import UnsupportedOperationError

from a2a_server import A2AOptions
from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import Streamed, a2a_client, serving_a2a, stream, user_message
from tests.scale.round_robin import round_robin


async def test_a_request_without_a_key_is_refused_before_any_posthog_call(
    emulator: RunningEmulator,
) -> None:
    async with serving_a2a(emulator, per_request=True) as url, httpx.AsyncClient() as http:
        card = (await http.get(f"{url}/.well-known/agent-card.json")).json()
        before = emulator.stats()
        refused = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "GetTask"})
        assert emulator.stats() == before
    assert refused.status_code == 401 and "personal API key" in refused.json()["detail"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    [scheme] = card["securitySchemes"].values()
    assert scheme["httpAuthSecurityScheme"]["scheme"] == "bearer"


async def test_each_request_acts_with_its_own_key(emulator: RunningEmulator) -> None:
    key = emulator.env()["POSTHOG_PERSONAL_API_KEY"]
    async with (
        serving_a2a(emulator, per_request=True) as url,
        a2a_client(url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        with anyio.fail_after(30):
            seen = await stream(client, user_message("How many users signed up last week?"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED


async def test_a_read_only_server_reads_tasks_but_sends_nothing(emulator: RunningEmulator) -> None:
    async with serving_a2a(emulator) as writer_url, a2a_client(writer_url) as writer:
        with anyio.fail_after(30):
            seen = await stream(writer, user_message("How many users signed up last week?"))
    options = A2AOptions(read_only=True)
    async with serving_a2a(emulator, options) as url, a2a_client(url) as reader:
        with anyio.fail_after(30):
            task = await reader.get_task(GetTaskRequest(id=seen.task.id))
            assert task.status.state == TaskState.TASK_STATE_COMPLETED
            with pytest.raises(UnsupportedOperationError, match="read-only"):
                await stream(reader, user_message("Delete the onboarding dashboard"))
            with pytest.raises(UnsupportedOperationError, match="read-only"):
                await reader.cancel_task(CancelTaskRequest(id=seen.task.id))


async def test_two_replicas_behind_a_round_robin_balancer_serve_one_conversation(
    emulator: RunningEmulator,
) -> None:
    async with (
        serving_a2a(emulator) as one,
        serving_a2a(emulator) as two,
        round_robin([int(one.rsplit(":", 1)[1]), int(two.rsplit(":", 1)[1])]) as balancer,
        a2a_client(f"http://127.0.0.1:{balancer.port}", new_connections=True) as client,
    ):
        with anyio.fail_after(60):
            paused = await stream(client, user_message("Delete the onboarding dashboard"))
            task = paused.task
            decided = await stream(
                client, user_message(data={"decision": "approve"}, task_id=task.id)
            )
            follow_up = await stream(
                client, user_message("How many users?", context_id=task.context_id)
            )
            first = await client.get_task(GetTaskRequest(id=task.id))
            second = await client.get_task(GetTaskRequest(id=follow_up.task.id))
    assert paused.final_state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert decided.final_state == TaskState.TASK_STATE_COMPLETED
    assert (first.status.state, second.status.state) == (
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_COMPLETED,
    )
    assert set(balancer.backends_of(b"POST")) == {0, 1}


async def test_a_server_restarted_while_a_task_streams_answers_for_it_and_re_attaches(
    emulator: RunningEmulator,
) -> None:
    seen, started = Streamed(), anyio.Event()

    async def ask(client: Client) -> None:
        async for event in client.send_message(user_message("How many users signed up last week?")):
            seen.events.append(event)
            started.set()

    later = Streamed()
    with anyio.fail_after(60), emulator.held():
        # A task in flight on the first server; its client leaves and the server stops (a
        # deploy, a crash) while PostHog's run goes on.
        async with (
            serving_a2a(emulator) as url,
            a2a_client(url) as first,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(ask, first)
            await started.wait()
            tg.cancel_scope.cancel()
        task_id = seen.task.id
        # A new server, with nothing in memory, answers for the task PostHog still runs.
        async with serving_a2a(emulator) as url, a2a_client(url) as second:
            polled = await second.get_task(GetTaskRequest(id=task_id))
            assert polled.status.state == TaskState.TASK_STATE_WORKING
            events = second.subscribe(SubscribeToTaskRequest(id=task_id))
            later.events.append(await anext(events))
            emulator.release()
            async for event in events:
                later.events.append(event)
            done = await second.get_task(GetTaskRequest(id=task_id))

    assert later.task.id == task_id
    assert later.final_state == TaskState.TASK_STATE_COMPLETED
    assert "matching events" in later.answer()
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
