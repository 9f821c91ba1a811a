"""The A2A face over real loopback HTTP, in front of the emulator, driven by the SDK's client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types import (
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskState,
)

from a2a_server import A2AOptions, create_app
from max_tools import AsyncMaxClient
from max_tools.emulator import RunningEmulator
from max_tools.hosting import HostedAuth, HostedSettings, ServerKeyAuth, shared_http_client
from max_tools.serving import serve_asgi


def key_holder_client(
    emulator: RunningEmulator, http_client: httpx.AsyncClient | None = None
) -> AsyncMaxClient:
    """The Python client as the emulator's key holder: what PostHog stored, read directly."""
    env = emulator.env()
    return AsyncMaxClient(
        api_key=env["POSTHOG_PERSONAL_API_KEY"],
        host=env["POSTHOG_HOST"],
        project_id=env["POSTHOG_PROJECT_ID"],
        http_client=http_client,
    )


@asynccontextmanager
async def serving_a2a(
    emulator: RunningEmulator,
    options: A2AOptions | None = None,
    *,
    per_request: bool = False,
    hosted: HostedSettings | None = None,
    auth_token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[str]:
    """The A2A face on a free loopback port, over the emulator; yields its URL.

    By default it acts with the emulator's key (the server's own); `per_request` takes each
    request's personal key, `hosted` any hosted rules (sign-ins); `auth_token` guards the
    server's key with a shared token. PostHog calls go through
    `transport` when given (tests record them there).
    """
    env = emulator.env()
    async with shared_http_client(transport) as pool:
        auth: HostedAuth | ServerKeyAuth
        if per_request or hosted is not None:
            settings = hosted or HostedSettings.create(
                host=env["POSTHOG_HOST"], project_id=env["POSTHOG_PROJECT_ID"]
            )
            auth = HostedAuth(settings, pool, realm="max-a2a")
        else:
            server = key_holder_client(emulator, http_client=pool)
            auth = ServerKeyAuth(server, auth_token=auth_token)
        app = create_app(auth, options)
        async with serve_asgi(app, host="127.0.0.1", port=0) as port:
            yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def a2a_client(
    url: str,
    *,
    streaming: bool = True,
    headers: dict[str, str] | None = None,
    new_connections: bool = False,
) -> AsyncIterator[Client]:
    """The SDK's own client for the server at `url` (card read from its well-known path).

    `new_connections`: one connection per request, so a round-robin balancer spreads them.
    """
    limits = httpx.Limits(max_keepalive_connections=0) if new_connections else httpx.Limits()
    async with httpx.AsyncClient(timeout=30, headers=headers, limits=limits) as http:
        client = await create_client(url, ClientConfig(streaming=streaming, httpx_client=http))
        async with client:
            yield client


@pytest.fixture
async def a2a_url(emulator: RunningEmulator) -> AsyncIterator[str]:
    async with serving_a2a(emulator) as url:
        yield url


@pytest.fixture
async def a2a(a2a_url: str) -> AsyncIterator[Client]:
    async with a2a_client(a2a_url) as client:
        yield client


def user_message(
    text: str | None = None,
    *,
    data: object = None,
    context_id: str = "",
    task_id: str = "",
    metadata: dict[str, str] | None = None,
) -> SendMessageRequest:
    from a2a.helpers import new_data_part, new_text_part

    parts: list[Part] = []
    if text is not None:
        parts.append(new_text_part(text))
    if data is not None:
        parts.append(new_data_part(data))
    message = Message(
        message_id=f"m-{id(parts)}",
        role=Role.ROLE_USER,
        parts=parts,
        context_id=context_id,
        task_id=task_id,
    )
    if metadata:
        message.metadata.update(metadata)
    return SendMessageRequest(message=message)


@dataclass
class Streamed:
    """What one streamed send showed a client."""

    events: list[StreamResponse] = field(default_factory=list)

    @property
    def task(self) -> Task:
        return next(e.task for e in self.events if e.HasField("task"))

    @property
    def states(self) -> list[int]:
        return [e.status_update.status.state for e in self.events if e.HasField("status_update")]

    @property
    def final_state(self) -> int:
        return self.states[-1]

    @property
    def final_status(self) -> object:
        return [e.status_update.status for e in self.events if e.HasField("status_update")][-1]

    def chunks(self, artifact_id: str = "answer") -> list[str]:
        return [
            "".join(get_text_parts(e.artifact_update.artifact.parts))
            for e in self.events
            if e.HasField("artifact_update")
            and e.artifact_update.artifact.artifact_id == artifact_id
        ]

    def answer(self) -> str:
        text = ""
        for e in self.events:
            if e.HasField("artifact_update") and e.artifact_update.artifact.artifact_id == "answer":
                chunk = "".join(get_text_parts(e.artifact_update.artifact.parts))
                text = text + chunk if e.artifact_update.append else chunk
        return text

    def status_data(self) -> dict[str, object]:
        status = [e.status_update.status for e in self.events if e.HasField("status_update")][-1]
        [data] = get_data_parts(status.message.parts)
        assert isinstance(data, dict)
        return data


async def stream(client: Client, request: SendMessageRequest) -> Streamed:
    seen = Streamed()
    async for event in client.send_message(request):
        seen.events.append(event)
    return seen


Serve = Callable[..., AbstractAsyncContextManager[str]]
__all__ = [
    "Streamed",
    "TaskState",
    "a2a_client",
    "key_holder_client",
    "serving_a2a",
    "stream",
    "user_message",
]
