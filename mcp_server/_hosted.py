"""Per-request credentials and tool filters for hosted max-mcp (one deployment, many users).

Over HTTP every MCP request runs inside a `RequestScope` (`mcp_server._scope`): which tools the
request may see and call (read-only, `?tools=`, and with a PostHog sign-in its granted scopes)
and, in the hosted modes, the `AsyncMaxClient` made for that request's own key or sign-in token.
Who is calling and with which credentials is `max_tools.hosting`'s business (`HostedAuth`); this
ASGI middleware only adds what is MCP's: the read-only switch and the tool filter, and setting
the scope in a context variable for the one request it serves (the SDK runs the request's
handlers in tasks started from that request, so they see it, and no other request does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import ConfigurationError
from max_tools.agent import ACTIONS_BY_NAME
from max_tools.hosting import Answer, HostedAuth, HostedSettings, Refused, shared_http_client
from mcp_server._scope import SCOPE, RequestScope, current_scope

__all__ = [
    "HostedSettings",
    "RequestScope",
    "RequestScopeMiddleware",
    "current_scope",
    "refuse",
    "send_json",
    "shared_http_client",
]

REALM = "max-mcp"
READ_ONLY_HEADERS = ("x-posthog-read-only", "x-posthog-readonly")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class RequestScopeMiddleware:
    """Sets each HTTP request's `RequestScope` from its headers and query string.

    With `hosted` settings a request must carry its user's credentials: a personal API key
    (``Authorization: Bearer phx_...``) and/or a PostHog sign-in token (``pha_...``), as the
    deployment allows. One without, or with one that is malformed or (sign-ins) not active, is
    answered 401 before any PostHog API call; with sign-ins on, the 401 points at the
    protected-resource metadata this middleware also serves. Without `hosted` settings the
    server's own client serves every request, and only read-only and the tool filter are read.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosted: HostedSettings | None,
        http_client: httpx.AsyncClient | None = None,
        mcp_path: str = "/mcp",
    ) -> None:
        if hosted is not None and http_client is None:
            raise ConfigurationError("Per-request keys need the shared http client.")
        self.app = app
        self._mcp_path = mcp_path
        self._auth = (
            HostedAuth(hosted, http_client, realm=REALM)
            if hosted is not None and http_client is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers") or []
        }
        auth = self._auth
        resource = (
            auth.resource(
                scheme=scope.get("scheme", "http"), host=headers.get("host"), path=self._mcp_path
            )
            if auth is not None
            else None
        )
        if auth is not None:
            metadata = auth.metadata_answer(
                path=scope.get("path", ""), method=scope.get("method", ""), resource=resource
            )
            if metadata is not None:
                await metadata.send(send)
                return
        try:
            request_scope = await self._scope_for(headers, scope.get("query_string", b""))
        except Refused as refused:
            answer = (
                auth.refusal(refused, resource=resource)
                if auth is not None
                else refused.answer(realm=REALM)
            )
            await answer.send(send)
            return
        token = SCOPE.set(request_scope)
        try:
            await self.app(scope, receive, send)
        finally:
            SCOPE.reset(token)

    async def _scope_for(self, headers: Mapping[str, str], query_string: bytes) -> RequestScope:
        query = parse_qs(query_string.decode("latin-1"))
        asked = [(name, headers[name]) for name in READ_ONLY_HEADERS if name in headers] + [
            ("?readonly", value) for value in query.get("readonly", [])
        ]
        read_only = any(_switch(where, value) for where, value in asked)
        tools = _tool_filter(query.get("tools"))
        if self._auth is None:
            return RequestScope(read_only=read_only, tools=tools)
        caller = await self._auth.caller(headers)
        return RequestScope(
            client=caller.client,
            read_only=read_only,
            tools=tools,
            per_request_key=True,
            granted=caller.granted,
            forget_token=caller.forget_token if caller.signed_in else None,
        )


def _switch(where: str, value: str) -> bool:
    """A yes/no header or parameter; anything else is refused (a typo must not unlock tools)."""
    said = value.strip().lower()
    if said in _TRUE:
        return True
    if said in _FALSE:
        return False
    raise Refused(400, f"{where} must be true or false, not {value.strip()[:40]!r}.")


def _tool_filter(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    names = frozenset(name.strip() for value in values for name in value.split(",") if name.strip())
    unknown = sorted(names - ACTIONS_BY_NAME.keys())
    if unknown:
        raise Refused(
            400,
            f"Unknown tool in ?tools=: {', '.join(unknown)}. "
            f"Known tools: {', '.join(sorted(ACTIONS_BY_NAME))}.",
        )
    return names


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer a request with `status` and a one-line JSON reason (401s name the Bearer scheme)."""
    await Refused(status, detail).answer(realm=REALM).send(send)


async def send_json(
    send: Send,
    status: int,
    payload: Mapping[str, object],
    headers: Sequence[tuple[str, str]] = (),
) -> None:
    """Answer a request with `status` and `payload` as JSON (the probes and the refusals)."""
    await Answer.json(status, payload, headers).send(send)
