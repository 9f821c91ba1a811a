"""Which PostHog credentials serve a request: the server's own key, or the caller's.

With a server key (the default, as max-mcp over stdio) every request acts as that key's user.
In the per-request-key mode the server holds no key: each request's ``Authorization: Bearer
phx_...`` is its user's personal API key, used for that request alone, and a request without
one is refused with 401 before any PostHog call (`RequireKey`). What a client remembers about
conversations between calls (a cancel, an approval it saw, a decision being sent) is kept per
user under a digest of the key, never the key itself; replicas share nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict

import httpx
from a2a.server.context import ServerCallContext
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import AsyncMaxClient, ClientState

__all__ = ["Clients", "RequireKey", "bearer_key"]

_USERS_REMEMBERED = 10_000
"""Conversation memories kept, one per recent user (bounded, so memory stays flat)."""

_PERSONAL_KEY = re.compile(r"phx_[A-Za-z0-9_-]{1,200}")
"""A personal API key as PostHog mints it."""


def bearer_key(authorization: str | None) -> str | None:
    """The personal API key of an ``Authorization: Bearer phx_...`` header, if it holds one."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _PERSONAL_KEY.fullmatch(token):
        return None
    return token


class Clients:
    """Hands each A2A call the `AsyncMaxClient` that acts for its caller.

    Args:
        server_client: the client of the server's own key; None for per-request keys.
        host: the PostHog host for per-request clients.
        project_id: the project for per-request clients.
        http_client: the connection pool per-request clients share (no cookies, no default
            auth), closed by whoever made it.
    """

    def __init__(
        self,
        *,
        server_client: AsyncMaxClient | None,
        host: str | None = None,
        project_id: int | str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._server_client = server_client
        self._host = host
        self._project_id = project_id
        self._http_client = http_client
        self._states: OrderedDict[str, ClientState] = OrderedDict()

    @property
    def per_request(self) -> bool:
        """Whether each request brings its own key."""
        return self._server_client is None

    def for_call(self, context: ServerCallContext) -> AsyncMaxClient:
        """The client for this call (the middleware made sure a per-request key is there)."""
        if self._server_client is not None:
            return self._server_client
        headers = context.state.get("headers", {})
        key = bearer_key(headers.get("authorization"))
        if key is None:  # RequireKey refused such requests before they got here
            raise PermissionError("This A2A server needs a personal API key per request.")
        return AsyncMaxClient(
            api_key=key,
            host=self._host,
            project_id=self._project_id,
            http_client=self._http_client,
            state=self._state_of(key),
        )

    def _state_of(self, key: str) -> ClientState:
        digest = hashlib.sha256(f"{self._host}|{self._project_id}|{key}".encode()).hexdigest()
        state = self._states.pop(digest, None) or ClientState()
        self._states[digest] = state
        if len(self._states) > _USERS_REMEMBERED:
            self._states.popitem(last=False)
        return state


class RequireKey:
    """ASGI middleware: in the per-request-key mode, refuse a call without a personal API key.

    The agent card stays public (a client reads it to learn how to authenticate).
    """

    def __init__(self, app: ASGIApp, *, public_paths: frozenset[str]) -> None:
        self._app = app
        self._public = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._public:
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if bearer_key(authorization) is not None:
            await self._app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "unauthorized",
                "detail": "Send your PostHog personal API key as 'Authorization: Bearer "
                "phx_...' (create one in PostHog under Settings > Personal API keys).",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="posthog"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
