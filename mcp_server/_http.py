"""Streamable HTTP for the MCP server: stateless, loopback by default, guarded off loopback.

Off loopback every request must send the bearer token, or (hosted) its user's PostHog key or
sign-in token.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import ConfigurationError
from max_tools.agent import is_loopback
from max_tools.hosting import HostedSettings, shared_http_client
from max_tools.serving import serve_asgi
from mcp_server._hosted import RequestScopeMiddleware, refuse
from mcp_server._ops import OpsMiddleware

__all__ = [
    "MAX_BODY_BYTES",
    "MCP_PATH",
    "BearerTokenMiddleware",
    "endpoint",
    "http_app",
    "serve_http",
]

MCP_PATH = "/mcp"
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body served (413 above): a tool call with a long message is a few KB."""


class BearerTokenMiddleware:
    """Refuses HTTP requests without `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            await refuse(send, 401, "Send Authorization: Bearer <token>.")
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._token)


def http_app(
    server: MCPServer[Any],
    *,
    host: str,
    auth_token: str | None = None,
    hosted: HostedSettings | None = None,
    upstream: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> ASGIApp:
    """The ASGI app serving `server` at /mcp, with /healthz and /readyz beside it.

    Every request runs in its `RequestScope`: read-only (`x-posthog-read-only: true`,
    `x-posthog-readonly`, `?readonly=true`) and the tool filter (`?tools=a,b`) narrow what it
    may list and call. With `hosted` settings, each request brings its user's key.

    Args:
        server: the MCP server (`build_server(None)` with per-request keys).
        host: the address it will be served on.
        auth_token: the bearer token every request must send (single-key mode).
        hosted: per-request keys and/or sign-ins with PostHog: the deployment's rules.
        upstream: the PostHog host /readyz checks (the hosted host by default).
        max_body_bytes: bigger request bodies are refused with 413.
        on_shutdown: closers awaited when the app's lifespan ends (after its own pool's).
        transport: what the shared pool sends PostHog requests through (tests record them).

    Raises:
        ConfigurationError: a non-loopback host without a token, or a token with per-request
            keys (the keys are the credentials then).
    """
    loopback = is_loopback(host)
    if hosted is not None and auth_token:
        raise ConfigurationError(
            "--auth-token and --per-request-keys do not mix: with per-request keys every "
            "request authenticates with its user's PostHog key (Authorization: Bearer phx_...). "
            "Choose one."
        )
    if hosted is None and not loopback and not auth_token:
        raise ConfigurationError(
            f"Refusing to serve on {host} without a token: anyone who can reach it could use "
            "your PostHog key. Set --auth-token (or MAX_MCP_AUTH_TOKEN), use "
            "--per-request-keys or --oauth, or bind to 127.0.0.1."
        )
    # On loopback, DNS-rebinding protection: Host and Origin must name this machine (the SDK
    # turns it on by itself only for 127.0.0.1, localhost and ::1, not for 127.0.0.2 or
    # name.localhost). Off loopback the bearer token (or each user's key) is the guard.
    security = (
        _loopback_only(host)
        if loopback
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,  # no session state: any instance can serve any request
        transport_security=security,
        max_request_body_size=max_body_bytes,
        host=host if loopback else "0.0.0.0",  # noqa: S104 - the caller chose the address
    )
    http_client = shared_http_client(transport)
    app = RequestScopeMiddleware(app, hosted=hosted, http_client=http_client, mcp_path=MCP_PATH)
    if auth_token:
        app = BearerTokenMiddleware(app, auth_token)
    return OpsMiddleware(
        app,
        upstream=upstream or (hosted.host if hosted is not None else None),
        http_client=http_client,
        on_shutdown=[http_client.aclose, *on_shutdown],
    )


def _loopback_only(host: str) -> TransportSecuritySettings:
    """Protection against DNS rebinding for a server bound to the loopback address `host`."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    bound = f"[{host.strip('[]')}]" if ":" in host else host
    if bound not in names:
        names.append(bound)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{name}:*" for name in names],
        allowed_origins=[f"http://{name}:*" for name in names],
    )


@asynccontextmanager
async def serve_http(
    server: MCPServer[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    auth_token: str | None = None,
    hosted: HostedSettings | None = None,
    upstream: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[str]:
    """Serve `server` over streamable HTTP while the block lasts; yields the endpoint URL."""
    app = http_app(
        server,
        host=host,
        auth_token=auth_token,
        hosted=hosted,
        upstream=upstream,
        max_body_bytes=max_body_bytes,
        transport=transport,
    )
    async with serve_asgi(app, host=host, port=port) as bound:
        yield endpoint(host, bound)


def endpoint(host: str, port: int) -> str:
    """The MCP endpoint URL of a server bound to `host:port`."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{MCP_PATH}"
