"""The A2A face signs its users in with PostHog, as hosted max-mcp does (`max_tools.hosting`).

The face is served over real loopback HTTP with sign-ins on; the emulator plays PostHog, both
as the authorization server and as the API. A user's ``pha_`` token is got from the emulator's
own OAuth endpoints (registration, authorization with auto-consent, code exchange with PKCE)
and sent by the SDK's A2A client as ``Authorization: Bearer``. What the face sends PostHog is
recorded at its connection pool's transport (the HTTP edge).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from a2a.client.errors import A2AClientError
from a2a.types import CancelTaskRequest, ListTasksRequest, TaskState
from a2a.utils.errors import UnsupportedOperationError

from max_tools.emulator import RunningEmulator
from max_tools.hosting import HostedSettings, OAuthSettings
from tests.a2a.conftest import a2a_client, serving_a2a, stream, user_message
from tests.emulator.oauth import SCOPES, register, sign_in

ALICE = "phx_secret_value_123"  # the emulator's users: each key is one person
CARD = "/.well-known/agent-card.json"


class Recorder(httpx.AsyncBaseTransport):
    """The face's pool sends PostHog requests through this: it notes each, then sends it on."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, request.headers.get("authorization")))
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()

    def api_authorizations(self) -> set[str | None]:
        return {auth for path, auth in self.sent if path.startswith("/api/")}


@dataclasses.dataclass
class Face:
    url: str
    recorder: Recorder


@asynccontextmanager
async def signed_in_face(
    emulator: RunningEmulator, *, personal_keys: bool = False, **oauth: Any
) -> AsyncIterator[Face]:
    """The A2A face with sign-ins on (and personal keys with `personal_keys`)."""
    settings = OAuthSettings.create(host=emulator.url, **oauth)
    hosted = HostedSettings.create(
        host=emulator.url, project_id=1, personal_keys=personal_keys, oauth=settings
    )
    recorder = Recorder()
    async with serving_a2a(emulator, hosted=hosted, transport=recorder) as url:
        yield Face(url, recorder)


async def token_of(emulator: RunningEmulator, *, scope: str = SCOPES) -> str:
    """A user's PostHog sign-in token: registration, consent and code exchange at the emulator."""
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        client = await register(http, scope=SCOPES)
        tokens = await sign_in(http, client["client_id"], scope=scope)
    token = tokens["access_token"]
    assert isinstance(token, str) and token.startswith("pha_")
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_request_without_a_token_gets_a_401_pointing_at_the_metadata_and_no_posthog_call(
    emulator: RunningEmulator,
) -> None:
    async with signed_in_face(emulator) as face, httpx.AsyncClient() as http:
        with anyio.fail_after(30):
            refused = await http.post(
                face.url, json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
            )
            rest = await http.get(f"{face.url}/tasks")
            metadata = await http.get(f"{face.url}/.well-known/oauth-protected-resource")
    assert face.recorder.sent == []
    assert refused.status_code == rest.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{face.url}/.well-known/oauth-protected-resource"' in challenge
    assert "Sign in with PostHog" in refused.json()["detail"]
    document = metadata.json()
    assert document["resource"] == f"{face.url}/"
    assert document["authorization_servers"] == [emulator.url]
    assert set(document["scopes_supported"]) == set(SCOPES.split())


async def test_a_signed_in_user_streams_a_question_with_their_own_token(
    emulator: RunningEmulator,
) -> None:
    token = await token_of(emulator)
    async with signed_in_face(emulator) as face, a2a_client(face.url, headers=bearer(token)) as a2a:
        with anyio.fail_after(30):
            seen = await stream(a2a, user_message("How many users signed up last week?"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    assert seen.answer()
    assert face.recorder.api_authorizations() == {f"Bearer {token}"}


async def test_a_read_only_sign_in_reads_tasks_but_is_refused_sending_and_canceling(
    emulator: RunningEmulator,
) -> None:
    token = await token_of(emulator, scope="conversation:read")
    before = emulator.stats().conversations
    async with signed_in_face(emulator) as face, a2a_client(face.url, headers=bearer(token)) as a2a:
        with anyio.fail_after(30):
            listed = await a2a.list_tasks(ListTasksRequest())
            with pytest.raises(UnsupportedOperationError, match="read access only"):
                await stream(a2a, user_message("How many users signed up last week?"))
            with pytest.raises(UnsupportedOperationError, match="conversation:write"):
                await a2a.cancel_task(CancelTaskRequest(id=f"{uuid.uuid4()}~1"))
    assert listed is not None
    assert emulator.stats().conversations == before  # nothing was sent


async def test_a_sign_in_without_query_read_gets_no_chart_artifacts_and_is_told_why(
    emulator: RunningEmulator,
) -> None:
    token = await token_of(emulator, scope="conversation:read conversation:write")
    async with signed_in_face(emulator) as face, a2a_client(face.url, headers=bearer(token)) as a2a:
        with anyio.fail_after(30):
            seen = await stream(a2a, user_message("Plot weekly signups by country"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    artifacts = {
        e.artifact_update.artifact.artifact_id for e in seen.events if e.HasField("artifact_update")
    }
    assert artifacts == {"answer"}
    lines = [
        part.text
        for e in seen.events
        if e.HasField("status_update")
        for part in e.status_update.status.message.parts
    ]
    assert any("query:read" in line for line in lines)


async def test_a_sign_in_posthog_refuses_within_the_cache_window_makes_the_next_message_a_401(
    emulator: RunningEmulator,
) -> None:
    token = await token_of(emulator)
    async with (
        signed_in_face(emulator) as face,
        a2a_client(face.url, headers=bearer(token)) as a2a,
        httpx.AsyncClient() as control,
    ):
        with anyio.fail_after(30):
            first = await stream(a2a, user_message("How many users signed up last week?"))
            revoked = await control.post(f"{emulator.url}/_emulator/oauth/revoke", json={})
            # Within the cache window the face still takes the token; PostHog refuses the
            # message itself, so there is no task: the answer is the 401 of a new sign-in.
            with pytest.raises(A2AClientError, match="401"):
                await stream(a2a, user_message("And the week before?"))
            later = await control.post(
                face.url,
                headers=bearer(token),
                json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}},
            )
    assert first.final_state == TaskState.TASK_STATE_COMPLETED
    assert revoked.json()["revoked"] >= 1
    assert emulator.stats().conversations == 1  # the refused message started nothing
    assert later.status_code == 401
    assert later.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_an_unreachable_posthog_region_is_a_503_not_a_401(
    emulator: RunningEmulator,
) -> None:
    token = await token_of(emulator)
    oauth = dataclasses.replace(
        OAuthSettings.create(host=emulator.url), api_hosts=("http://127.0.0.1:9",)
    )
    hosted = HostedSettings.create(
        host=emulator.url, project_id=1, personal_keys=False, oauth=oauth
    )
    async with serving_a2a(emulator, hosted=hosted) as url, httpx.AsyncClient() as http:
        with anyio.fail_after(30):
            answer = await http.post(
                url,
                headers=bearer(token),
                json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}},
            )
    assert answer.status_code == 503
    assert token not in answer.text


async def cards(emulator: RunningEmulator) -> dict[str, dict[str, Any]]:
    """The card each deployment mode serves."""
    seen: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient() as http:
        async with serving_a2a(emulator) as url:
            seen["loopback"] = (await http.get(url + CARD)).json()
        async with serving_a2a(emulator, per_request=True) as url:
            seen["keys"] = (await http.get(url + CARD)).json()
        async with signed_in_face(emulator, personal_keys=True) as face:
            seen["both"] = (await http.get(face.url + CARD)).json()
    return seen


async def test_the_card_declares_how_each_deployment_takes_credentials(
    emulator: RunningEmulator,
) -> None:
    with anyio.fail_after(30):
        card = await cards(emulator)
    assert (
        "securitySchemes" not in card["loopback"] and "securityRequirements" not in card["loopback"]
    )
    [(name, scheme)] = card["keys"]["securitySchemes"].items()
    assert scheme["httpAuthSecurityScheme"]["scheme"] == "bearer"
    assert card["keys"]["securityRequirements"] == [{"schemes": {name: {}}}]
    both = card["both"]["securitySchemes"]
    oauth = both["posthog_sign_in"]["oauth2SecurityScheme"]
    flow = oauth["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{emulator.url}/oauth/authorize/"
    assert flow["tokenUrl"] == f"{emulator.url}/oauth/token/"
    assert set(flow["scopes"]) == set(SCOPES.split()) and flow["pkceRequired"] is True
    assert both["posthog_personal_api_key"]["httpAuthSecurityScheme"]["scheme"] == "bearer"
    assert card["both"]["securityRequirements"] == [
        {"schemes": {"posthog_sign_in": {"list": SCOPES.split()}}},
        {"schemes": {"posthog_personal_api_key": {}}},
    ]


async def test_the_servers_own_key_with_a_token_declares_it_and_refuses_requests_without(
    emulator: RunningEmulator,
) -> None:
    recorder = Recorder()
    async with (
        serving_a2a(emulator, auth_token="s3cret-token", transport=recorder) as url,
        httpx.AsyncClient() as http,
    ):
        with anyio.fail_after(30):
            card = (await http.get(url + CARD)).json()
            refused = await http.get(f"{url}/tasks")
            served = await http.get(
                f"{url}/tasks", headers={**bearer("s3cret-token"), "A2A-Version": "1.0"}
            )
    [scheme] = card["securitySchemes"].values()
    assert scheme["httpAuthSecurityScheme"]["scheme"] == "bearer"
    assert refused.status_code == 401 and served.status_code == 200
    assert all(path.startswith("/api/") for path, _ in recorder.sent) and len(recorder.sent) >= 1


async def test_the_token_never_reaches_the_logs_nor_the_call_context(
    emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = await token_of(emulator)
    caplog.set_level(logging.DEBUG)
    async with signed_in_face(emulator) as face, a2a_client(face.url, headers=bearer(token)) as a2a:
        with anyio.fail_after(30):
            seen = await stream(a2a, user_message("How many users signed up last week?"))
    assert seen.final_state == TaskState.TASK_STATE_COMPLETED
    face_logs = [
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    ]
    assert face_logs and not any(token in line for line in face_logs)
