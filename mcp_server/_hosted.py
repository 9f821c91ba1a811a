"""Per-request credentials and tool filters for hosted max-mcp (one deployment, many users).

Over HTTP every MCP request runs inside a `RequestScope`: which tools the request may see and
call (read-only, `?tools=`) and, in the per-request-key mode, the `AsyncMaxClient` made for that
request's own key. An ASGI middleware sets it in a context variable for the one request it
serves (the SDK runs the request's handlers in tasks started from that request, so they see it,
and no other request does); the tools read it there. Nothing about a key outlives its request:
the client holding it is made per request, over one shared connection pool that keeps no
cookies and no default headers. What a client remembers about conversations between calls (a
cancel, an approval it saw, a decision being sent) is kept per user, under a digest of the
host, project and key, and handed to each of that user's request clients, so that a
`max_cancel` holds for the `max_chat` another request runs. It holds no key; replicas do not
share it.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import re
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import AsyncMaxClient, AuthenticationError, ClientState, ConfigurationError
from max_tools.agent import ACTIONS_BY_NAME, normalize_host

__all__ = [
    "HostedSettings",
    "RequestScope",
    "RequestScopeMiddleware",
    "current_scope",
    "refuse",
    "shared_http_client",
]

PROJECT_HEADER = b"x-posthog-project-id"
HOST_HEADER = b"x-posthog-host"
READ_ONLY_HEADERS = (b"x-posthog-read-only", b"x-posthog-readonly")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_USERS_REMEMBERED = 10_000  # conversation memories kept, one per recent user
# A personal API key as PostHog mints it: `phx_` and URL-safe characters (about 40 of them).
_PERSONAL_KEY = re.compile(r"phx_[A-Za-z0-9_-]{1,200}")


@dataclass(frozen=True, slots=True)
class RequestScope:
    """What one MCP request may use: its tools and, with per-request keys, its own client."""

    client: AsyncMaxClient | None = None
    read_only: bool = False
    tools: frozenset[str] | None = None
    per_request_key: bool = field(default=False)

    def allows(self, tool: str) -> bool:
        """Whether this request may list and call `tool`."""
        if self.tools is not None and tool not in self.tools:
            return False
        if self.read_only:
            action = ACTIONS_BY_NAME.get(tool)
            return action is not None and action.read_only
        return True

    def refusal(self, tool: str) -> str:
        """Why `tool` is refused on this request, in one sentence the model can act on."""
        if self.tools is not None and tool not in self.tools:
            kept = ", ".join(sorted(self.tools)) or "none"
            return (
                f"{tool} is not available on this connection: its ?tools= filter keeps only "
                f"{kept}. Use one of those, or ask the user to change the filter."
            )
        return (
            f"{tool} is not available on this connection: it is read-only "
            "(x-posthog-read-only), so only tools that change nothing can be called."
        )

    def explain(self, exc: BaseException) -> str | None:
        """A message for errors that mean something else when the key came with the request."""
        if self.per_request_key and isinstance(exc, AuthenticationError):
            host = self.client.settings.host if self.client is not None else "PostHog"
            return (
                f"PostHog ({host}) rejected the personal API key this request sent "
                "(Authorization: Bearer): it is unknown, revoked, or from another region. "
                "Ask the user to send a valid personal API key (phx_...) for this PostHog host."
            )
        return None


_SCOPE: ContextVar[RequestScope | None] = ContextVar("max_mcp_request_scope", default=None)


def current_scope() -> RequestScope | None:
    """The scope of the MCP request being served over HTTP; None outside one (stdio, memory)."""
    return _SCOPE.get()


@dataclass(frozen=True, slots=True)
class HostedSettings:
    """How a per-request-key deployment picks the PostHog host and project of each request.

    Args:
        host: the PostHog host every request uses unless it names an allowed one.
        project_id: the project every request uses (``@current``: each key's current one).
        allow_project_header: take `x-posthog-project-id` from a request when it sends one.
        allowed_hosts: hosts a request may choose with `x-posthog-host` (normalized).
    """

    host: str
    project_id: str = "@current"
    allow_project_header: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def create(
        cls,
        *,
        host: str | None,
        project_id: str | int | None = None,
        allow_project_header: bool = False,
        allowed_hosts: Sequence[str] = (),
    ) -> HostedSettings:
        """Checked settings (hosts normalized like POSTHOG_HOST).

        Raises:
            ConfigurationError: a host or the project id is not valid.
        """
        pinned = normalize_host(host or "us")
        project = str(project_id).strip() if project_id is not None else "@current"
        if not (project.isdigit() or project == "@current"):
            raise ConfigurationError(
                f"The deployment's project id {project!r} is not a project id: use a number "
                "or @current."
            )
        extra = frozenset(normalize_host(name) for name in allowed_hosts if name.strip())
        return cls(
            host=pinned,
            project_id=project,
            allow_project_header=allow_project_header,
            allowed_hosts=extra | {pinned},
        )


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: a cookie one user's answer set never reaches another."""

    def extract_cookies(self, response: object, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


def shared_http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The connection pool every request's client shares: no cookies, no credentials in it."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        follow_redirects=False,
        cookies=_NoCookies(),
    )


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RequestScopeMiddleware:
    """Sets each HTTP request's `RequestScope` from its headers and query string.

    With `hosted` settings (the per-request-key mode) a request must carry
    `Authorization: Bearer phx_...`; one without a key, or with a malformed one, is answered
    401 before anything else happens. Without them the server's own client serves every
    request, and only read-only and the tool filter are read.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosted: HostedSettings | None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if hosted is not None and http_client is None:
            raise ConfigurationError("Per-request keys need the shared http client.")
        self.app = app
        self._hosted = hosted
        self._http_client = http_client
        self._states: OrderedDict[str, ClientState] = OrderedDict()  # per user, newest last

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
        try:
            request_scope = self._scope_for(headers, scope.get("query_string", b""))
        except _Refused as refused:
            await refuse(send, refused.status, refused.detail)
            return
        token = _SCOPE.set(request_scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _SCOPE.reset(token)

    def _scope_for(self, headers: Mapping[bytes, bytes], query_string: bytes) -> RequestScope:
        query = parse_qs(query_string.decode("latin-1"))
        asked = [
            (name.decode(), headers[name].decode("latin-1"))
            for name in READ_ONLY_HEADERS
            if name in headers
        ] + [("?readonly", value) for value in query.get("readonly", [])]
        read_only = any(_switch(where, value) for where, value in asked)
        tools = _tool_filter(query.get("tools"))
        if self._hosted is None:
            return RequestScope(read_only=read_only, tools=tools)
        return RequestScope(
            client=self._client_for(self._hosted, headers),
            read_only=read_only,
            tools=tools,
            per_request_key=True,
        )

    def _client_for(self, hosted: HostedSettings, headers: Mapping[bytes, bytes]) -> AsyncMaxClient:
        key = _bearer_key(headers.get(b"authorization"))
        host = hosted.host
        asked_host = headers.get(HOST_HEADER, b"").decode("latin-1").strip()
        if asked_host:
            try:
                host = normalize_host(asked_host)
            except ConfigurationError as exc:
                raise _Refused(400, str(exc)) from None
            if host not in hosted.allowed_hosts:
                raise _Refused(
                    400,
                    f"This deployment does not serve PostHog host {host} (x-posthog-host); "
                    f"it serves {', '.join(sorted(hosted.allowed_hosts))}.",
                )
        project = hosted.project_id
        asked_project = headers.get(PROJECT_HEADER, b"").decode("latin-1").strip()
        if asked_project and asked_project != project:
            if not hosted.allow_project_header:
                raise _Refused(
                    400,
                    f"This deployment is pinned to project {project}; it does not take "
                    "x-posthog-project-id. Leave the header out.",
                )
            project = asked_project
        try:
            return AsyncMaxClient(
                api_key=key,
                host=host,
                project_id=project,
                http_client=self._http_client,
                state=self._state_of(host, project, key),
            )
        except ConfigurationError as exc:  # the project id (the key was checked above)
            raise _Refused(400, str(exc)) from None

    def _state_of(self, host: str, project: str, key: str) -> ClientState:
        """The user's conversation memory, found by a digest (the key itself is not kept)."""
        user = hashlib.sha256(f"{host}\n{project}\n{key}".encode()).hexdigest()
        state = self._states.pop(user, None) or ClientState()
        self._states[user] = state
        if len(self._states) > _USERS_REMEMBERED:
            self._states.popitem(last=False)  # the user not seen for the longest time
        return state


def _bearer_key(value: bytes | None) -> str:
    if not value:
        raise _Refused(401, "Send your PostHog personal API key as Authorization: Bearer phx_...")
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _Refused(401, "Use Authorization: Bearer phx_... with your personal API key.")
    if token.startswith("phc_"):
        raise _Refused(
            401,
            "That is a project token (phc_...); send a personal API key (phx_...) instead.",
        )
    if not _PERSONAL_KEY.fullmatch(token):
        raise _Refused(
            401,
            "The bearer token is not a PostHog personal API key: it must look like phx_... "
            "(letters, digits, _ and -).",
        )
    return token


def _switch(where: str, value: str) -> bool:
    """A yes/no header or parameter; anything else is refused (a typo must not unlock tools)."""
    said = value.strip().lower()
    if said in _TRUE:
        return True
    if said in _FALSE:
        return False
    raise _Refused(400, f"{where} must be true or false, not {value.strip()[:40]!r}.")


def _tool_filter(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    names = frozenset(name.strip() for value in values for name in value.split(",") if name.strip())
    unknown = sorted(names - ACTIONS_BY_NAME.keys())
    if unknown:
        raise _Refused(
            400,
            f"Unknown tool in ?tools=: {', '.join(unknown)}. "
            f"Known tools: {', '.join(sorted(ACTIONS_BY_NAME))}.",
        )
    return names


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer a request with `status` and a one-line JSON reason (401s name the Bearer scheme)."""
    error = {400: "bad_request", 401: "unauthorized"}.get(status, "error")
    challenge = [(b"www-authenticate", b'Bearer realm="max-mcp"')] if status == 401 else []
    await send_json(send, status, {"error": error, "detail": detail}, challenge)


async def send_json(
    send: Send,
    status: int,
    payload: Mapping[str, object],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer a request with `status` and `payload` as JSON (the probes and the refusals)."""
    body = json.dumps(payload).encode()
    sent = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*sent, *headers]})
    await send({"type": "http.response.body", "body": body})
