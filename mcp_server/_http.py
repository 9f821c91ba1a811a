"""Streamable HTTP for the MCP server: stateless, loopback by default, bearer token off loopback."""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import ConfigurationError
from max_tools.agent import is_loopback
from max_tools.serving import serve_asgi

__all__ = ["MCP_PATH", "BearerTokenMiddleware", "http_app", "serve_http"]

MCP_PATH = "/mcp"


class BearerTokenMiddleware:
    """Refuses HTTP requests without `Authorization: Bearer <token>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            body = json.dumps(
                {"error": "unauthorized", "detail": "Send Authorization: Bearer <token>."}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="max-mcp"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._token)


def http_app(server: MCPServer[Any], *, host: str, auth_token: str | None) -> ASGIApp:
    """The ASGI app serving `server` at /mcp.

    Raises:
        ConfigurationError: a non-loopback host without a token.
    """
    loopback = is_loopback(host)
    if not loopback and not auth_token:
        raise ConfigurationError(
            f"Refusing to serve on {host} without a token: anyone who can reach it could use "
            "your PostHog key. Set --auth-token (or MAX_MCP_AUTH_TOKEN), or bind to 127.0.0.1."
        )
    # On loopback the SDK turns DNS-rebinding protection on (Host and Origin must be loopback);
    # off loopback the bearer token is the guard.
    security = (
        None if loopback else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,  # no session state: any instance can serve any request
        transport_security=security,
        host=host if loopback else "0.0.0.0",  # noqa: S104 - the caller chose the address
    )
    return BearerTokenMiddleware(app, auth_token) if auth_token else app


@asynccontextmanager
async def serve_http(
    server: MCPServer[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    auth_token: str | None = None,
) -> AsyncIterator[str]:
    """Serve `server` over streamable HTTP while the block lasts; yields the endpoint URL."""
    app = http_app(server, host=host, auth_token=auth_token)
    shown = f"[{host}]" if ":" in host else host
    async with serve_asgi(app, host=host, port=port) as bound:
        yield f"http://{shown}:{bound}{MCP_PATH}"
