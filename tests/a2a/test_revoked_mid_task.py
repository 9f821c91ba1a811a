"""Credentials PostHog stops accepting while a task's reply streams.

PostHog checks a request's credentials when the request arrives (DRF's `initial()`, before
`ConversationViewSet.create` returns its streaming response) and then streams the run from Redis
without looking at them again: a stream already open runs to its end after its sign-in is revoked
or its key deleted. Whatever the face asks PostHog afterwards (the approval a run stopped at, the
next request) is refused with a 401.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
import pytest
from a2a.client import Client
from a2a.types import SubscribeToTaskRequest, Task

from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import Streamed, TaskState, a2a_client, serving_a2a, user_message
from tests.a2a.test_oauth import bearer, signed_in_face, token_of

BOB = "phx_bob_personal_key_42"  # a personal key of the emulator's (any phx_ key is a user)


@dataclass
class Credentials:
    """A face, the secret its caller sends, what PostHog-side revoking it is, and what is said."""

    url: str
    secret: str
    revoke: Callable[[], Awaitable[None]]
    sign_in_again: str


@asynccontextmanager
async def signed_in(emulator: RunningEmulator) -> AsyncIterator[Credentials]:
    token = await token_of(emulator)

    async def revoke() -> None:
        async with httpx.AsyncClient() as control:
            revoked = await control.post(f"{emulator.url}/_emulator/oauth/revoke", json={})
        assert revoked.json()["revoked"] >= 1

    async with signed_in_face(emulator) as face:
        yield Credentials(face.url, token, revoke, "Sign in with PostHog again")


@asynccontextmanager
async def own_key(emulator: RunningEmulator) -> AsyncIterator[Credentials]:
    async with serving_a2a(emulator, per_request=True) as url:

        async def delete() -> None:
            emulator.delete_key(BOB)

        yield Credentials(url, BOB, delete, "refused your personal API key")


FACES = {"sign-in": signed_in, "personal key": own_key}


async def _send_revoking(
    a2a: Client, text: str, emulator: RunningEmulator, revoke: Callable[[], Awaitable[None]]
) -> Streamed:
    """Send `text` and revoke the credentials once the task has started streaming."""
    seen, started = Streamed(), anyio.Event()

    async def send() -> None:
        async for event in a2a.send_message(user_message(text)):
            seen.events.append(event)
            if event.HasField("task"):
                started.set()

    async with anyio.create_task_group() as tg:
        with emulator.held():  # PostHog AI is mid-run when the credentials go
            tg.start_soon(send)
            await started.wait()
            await revoke()
    return seen


async def _next_request(url: str, secret: str, task_id: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            url,
            headers={**bearer(secret), "A2A-Version": "1.0"},
            json={"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": task_id}},
        )


@pytest.mark.parametrize("face", FACES)
async def test_a_reply_streaming_when_its_credentials_are_revoked_runs_to_its_end_then_a_401(
    emulator: RunningEmulator, face: str
) -> None:
    async with (
        FACES[face](emulator) as creds,
        a2a_client(creds.url, headers=bearer(creds.secret)) as a2a,
    ):
        with anyio.fail_after(30):
            seen = await _send_revoking(
                a2a, "How many users signed up last week?", emulator, creds.revoke
            )
            later = await _next_request(creds.url, creds.secret, seen.task.id)
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED  # PostHog streamed it all
    assert "matching events" in seen.answer()
    assert later.status_code == 401
    assert later.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert creds.secret not in later.text


@pytest.mark.parametrize("face", FACES)
async def test_a_run_that_stops_for_approval_after_its_credentials_are_revoked_ends_auth_required(
    emulator: RunningEmulator, face: str
) -> None:
    async with (
        FACES[face](emulator) as creds,
        a2a_client(creds.url, headers=bearer(creds.secret)) as a2a,
    ):
        with anyio.fail_after(30):
            seen = await _send_revoking(
                a2a, "Delete the onboarding dashboard", emulator, creds.revoke
            )
            later = await _next_request(creds.url, creds.secret, seen.task.id)
    # The stream ran to the approval; reading what it waits for is refused.
    assert emulator.conversation(seen.task.context_id).approvals
    assert seen.final_state == TaskState.TASK_STATE_AUTH_REQUIRED
    [said] = [p.text for p in seen.final_status.message.parts]  # type: ignore[attr-defined]  # protobuf stubs
    assert creds.sign_in_again in said
    assert creds.secret not in str(seen.events)
    assert later.status_code == 401
    assert later.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert creds.secret not in later.text


@pytest.mark.parametrize("face", FACES)
async def test_a_subscriber_whose_credentials_are_revoked_before_the_approval_is_read_sees_auth_required(
    emulator: RunningEmulator, face: str
) -> None:
    later = Streamed()
    async with (
        FACES[face](emulator) as creds,
        a2a_client(creds.url, headers=bearer(creds.secret)) as a2a,
        a2a_client(creds.url, headers=bearer(creds.secret)) as other,
    ):
        started = anyio.Event()
        task: list[Task] = []

        # A conversation PostHog lists (it has a title), so the task can be read while it runs.
        first_reply = [e async for e in a2a.send_message(user_message("How many users?"))]
        context_id = first_reply[0].task.context_id
        asked = user_message("Delete the onboarding dashboard")
        asked.message.context_id = context_id

        async def send() -> None:
            async for event in a2a.send_message(asked):
                if event.HasField("task"):
                    task.append(event.task)
                    started.set()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                with emulator.held():
                    tg.start_soon(send)
                    await started.wait()
                    events = other.subscribe(SubscribeToTaskRequest(id=task[0].id))
                    first = await anext(events)
                    assert first.task.status.state == TaskState.TASK_STATE_WORKING
                    await creds.revoke()
                async for event in events:
                    later.events.append(event)
            refused = await _next_request(creds.url, creds.secret, task[0].id)
    assert later.final_state == TaskState.TASK_STATE_AUTH_REQUIRED
    [said] = [p.text for p in later.final_status.message.parts]  # type: ignore[attr-defined]  # protobuf stubs
    assert creds.sign_in_again in said
    assert creds.secret not in str(later.events)
    assert refused.status_code == 401
