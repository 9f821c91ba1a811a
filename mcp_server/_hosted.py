"""Per-request credentials and tool filters for hosted max-mcp (one deployment, many users).

Over HTTP every MCP request runs inside a `RequestScope` (`mcp_server._scope`): which tools the
request may see and call (read-only, `?tools=`, and with a PostHog sign-in its granted scopes)
and, in the hosted modes, the `AsyncMaxClient` made for that request's own key or sign-in token
(checked by `mcp_server._signin`). An ASGI middleware sets it in a context variable for the one
request it serves (the SDK runs the request's handlers in tasks started from that request, so
they see it, and no other request does); the tools read it there. Nothing about a key outlives
its request: the client holding it is made per request, over one shared connection pool that
keeps no cookies and no default headers. What a client remembers about conversations between
calls (a cancel, an approval it saw, a decision being sent) is kept per user, under a digest of
the host, project and key (for a sign-in, its token), and handed to each of that user's request
clients, so that a `max_cancel` holds for the `max_chat` another request runs. It holds no key;
replicas do not share it.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import re
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import AsyncMaxClient, ClientState, ConfigurationError
from max_tools.agent import ACTIONS_BY_NAME, normalize_host
from mcp_server._oauth import (
    PRM_PATH,
    TOKEN_PREFIX,
    OAuthSettings,
    challenge,
    protected_resource_metadata,
)
from mcp_server._scope import SCOPE, RequestScope, current_scope
from mcp_server._signin import Refused, SignIns

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
class HostedSettings:
    """How a hosted deployment authenticates users and picks each request's host and project.

    Args:
        host: the PostHog host every request uses unless it names an allowed one.
        project_id: the project every request uses (``@current``: each key's current one).
        allow_project_header: take `x-posthog-project-id` from a request when it sends one.
        allowed_hosts: hosts a request may choose with `x-posthog-host` (normalized).
        personal_keys: requests may send their user's personal API key (``phx_...``).
        oauth: requests may send a PostHog sign-in token (``pha_...``), checked so.
    """

    host: str
    project_id: str = "@current"
    allow_project_header: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    personal_keys: bool = True
    oauth: OAuthSettings | None = None

    @classmethod
    def create(
        cls,
        *,
        host: str | None,
        project_id: str | int | None = None,
        allow_project_header: bool = False,
        allowed_hosts: Sequence[str] = (),
        personal_keys: bool = True,
        oauth: OAuthSettings | None = None,
    ) -> HostedSettings:
        """Checked settings (hosts normalized like POSTHOG_HOST).

        Raises:
            ConfigurationError: a host or the project id is not valid, or no way to sign in.
        """
        pinned = normalize_host(host or "us")
        project = str(project_id).strip() if project_id is not None else "@current"
        if not (project.isdigit() or project == "@current"):
            raise ConfigurationError(
                f"The deployment's project id {project!r} is not a project id: use a number "
                "or @current."
            )
        if not personal_keys and oauth is None:
            raise ConfigurationError("A hosted deployment takes personal keys, sign-ins or both.")
        extra = frozenset(normalize_host(name) for name in allowed_hosts if name.strip())
        return cls(
            host=pinned,
            project_id=project,
            allow_project_header=allow_project_header,
            allowed_hosts=extra | {pinned},
            personal_keys=personal_keys,
            oauth=oauth,
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
        self._hosted = hosted
        self._http_client = http_client
        self._mcp_path = mcp_path
        self._states: OrderedDict[str, ClientState] = OrderedDict()  # per user, newest last
        self._sign_ins = (
            SignIns(
                hosted.oauth,
                http_client,
                project_id=hosted.project_id,
                allow_project_header=hosted.allow_project_header,
            )
            if hosted is not None and hosted.oauth is not None and http_client is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
        oauth = self._hosted.oauth if self._hosted is not None else None
        path: str = scope.get("path", "")
        if oauth is not None and (path == PRM_PATH or path.startswith(PRM_PATH + "/")):
            await self._metadata(oauth, scope, headers, send)
            return
        try:
            request_scope = await self._scope_for(headers, scope.get("query_string", b""))
        except Refused as refused:
            www = None
            if oauth is not None and refused.status == 401:
                where = self._resource(oauth, scope, headers)
                www = challenge(where, error=refused.error, description=refused.detail)
            await refuse(send, refused.status, refused.detail, www_authenticate=www)
            return
        token = SCOPE.set(request_scope)
        try:
            await self.app(scope, receive, send)
        finally:
            SCOPE.reset(token)

    def _resource(self, oauth: OAuthSettings, scope: Scope, headers: Mapping[bytes, bytes]) -> str:
        host = headers.get(b"host", b"").decode("latin-1") or None
        return oauth.resource(scope.get("scheme", "http"), host, self._mcp_path)

    async def _metadata(
        self, oauth: OAuthSettings, scope: Scope, headers: Mapping[bytes, bytes], send: Send
    ) -> None:
        """The RFC 9728 document, at the root well-known path and at its path-inserted form."""
        cors = [(b"access-control-allow-origin", b"*")]
        if scope.get("method") not in ("GET", "HEAD"):
            await send_json(send, 405, {"error": "method_not_allowed"}, cors)
            return
        document = protected_resource_metadata(oauth, self._resource(oauth, scope, headers))
        await send_json(send, 200, document, [*cors, (b"cache-control", b"max-age=300")])

    async def _scope_for(self, headers: Mapping[bytes, bytes], query_string: bytes) -> RequestScope:
        query = parse_qs(query_string.decode("latin-1"))
        asked = [
            (name.decode(), headers[name].decode("latin-1"))
            for name in READ_ONLY_HEADERS
            if name in headers
        ] + [("?readonly", value) for value in query.get("readonly", [])]
        read_only = any(_switch(where, value) for where, value in asked)
        tools = _tool_filter(query.get("tools"))
        hosted = self._hosted
        if hosted is None:
            return RequestScope(read_only=read_only, tools=tools)
        authorization = headers.get(b"authorization")
        if self._sign_ins is not None:
            sent = _bearer_token(authorization)
            if sent is None:
                raise Refused(
                    401,
                    "Sign in with PostHog: this server takes the token your MCP host gets when "
                    "you sign in (Authorization: Bearer pha_...)"
                    + (", or a personal API key (phx_...)." if hosted.personal_keys else "."),
                )
            if sent.startswith(TOKEN_PREFIX):
                facts = await self._sign_ins.check(sent)
                # The token's region is the host: x-posthog-host does not apply to sign-ins.
                named = headers.get(PROJECT_HEADER, b"").decode("latin-1").strip()
                project = self._sign_ins.project(facts, named)
                return RequestScope(
                    # Keyed by the token's digest: introspection names no user, so a refreshed
                    # token starts a new memory (of cancels and approvals seen), nothing more.
                    client=self._client(sent, facts.api_host, project, facts.digest),
                    read_only=read_only,
                    tools=tools,
                    per_request_key=True,
                    granted=facts.scopes,
                    forget_token=self._sign_ins.forgetter(facts),
                )
            if not hosted.personal_keys:
                raise Refused(
                    401,
                    "This server signs users in with PostHog; personal API keys and other "
                    "tokens are not accepted here. Remove the Authorization header and sign in.",
                    error="invalid_token",
                )
        return RequestScope(
            client=self._client_for(hosted, headers),
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
                raise Refused(400, str(exc)) from None
            if host not in hosted.allowed_hosts:
                raise Refused(
                    400,
                    f"This deployment does not serve PostHog host {host} (x-posthog-host); "
                    f"it serves {', '.join(sorted(hosted.allowed_hosts))}.",
                )
        project = hosted.project_id
        asked_project = headers.get(PROJECT_HEADER, b"").decode("latin-1").strip()
        if asked_project and asked_project != project:
            if not hosted.allow_project_header:
                raise Refused(
                    400,
                    f"This deployment is pinned to project {project}; it does not take "
                    "x-posthog-project-id. Leave the header out.",
                )
            project = asked_project
        return self._client(key, host, project, key)

    def _client(self, credential: str, host: str, project: str, user: str) -> AsyncMaxClient:
        """A client for one request, over the shared pool, with its user's memory."""
        try:
            return AsyncMaxClient(
                api_key=credential,
                host=host,
                project_id=project,
                http_client=self._http_client,
                state=self._state_of(host, project, user),
            )
        except ConfigurationError as exc:  # the project id (the credential was checked before)
            raise Refused(400, str(exc)) from None

    def _state_of(self, host: str, project: str, user: str) -> ClientState:
        """The user's conversation memory, found by a digest (the key itself is not kept)."""
        user = hashlib.sha256(f"{host}\n{project}\n{user}".encode()).hexdigest()
        state = self._states.pop(user, None) or ClientState()
        self._states[user] = state
        if len(self._states) > _USERS_REMEMBERED:
            self._states.popitem(last=False)  # the user not seen for the longest time
        return state


def _bearer_token(value: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when there is none."""
    scheme, _, token = (value or b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _bearer_key(value: bytes | None) -> str:
    if not value:
        raise Refused(401, "Send your PostHog personal API key as Authorization: Bearer phx_...")
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "Use Authorization: Bearer phx_... with your personal API key.")
    if token.startswith(TOKEN_PREFIX):
        raise Refused(
            401,
            "This server takes personal API keys (phx_...); it does not accept PostHog sign-in "
            "tokens (pha_...) unless it runs with --oauth.",
            error="invalid_token",
        )
    if token.startswith("phc_"):
        raise Refused(
            401,
            "That is a project token (phc_...); send a personal API key (phx_...) instead.",
            error="invalid_token",
        )
    if not _PERSONAL_KEY.fullmatch(token):
        raise Refused(
            401,
            "The bearer token is not a PostHog personal API key: it must look like phx_... "
            "(letters, digits, _ and -).",
            error="invalid_token",
        )
    return token


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


async def refuse(
    send: Send, status: int, detail: str, *, www_authenticate: bytes | None = None
) -> None:
    """Answer a request with `status` and a one-line JSON reason (401s name the Bearer scheme)."""
    error = {400: "bad_request", 401: "unauthorized", 403: "forbidden"}.get(status, "error")
    www = www_authenticate or b'Bearer realm="max-mcp"'
    challenged = [(b"www-authenticate", www)] if status == 401 else []
    await send_json(send, status, {"error": error, "detail": detail}, challenged)


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
