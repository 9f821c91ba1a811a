"""Who calls each A2A request, with which PostHog credentials: `max_tools.hosting` decides.

The face takes the three ways hosted max-mcp takes credentials, through the same public package:
the server's own key (`ServerKeyAuth`, guarded by a shared token off loopback), each request's
personal API key and/or a PostHog sign-in token (`HostedAuth`). `Authenticate`, an ASGI
middleware, checks every request but the agent card before any PostHog call: it serves the
RFC 9728 metadata, answers a request without usable credentials with 401 (pointing at that
metadata when sign-ins are on) or 503 when PostHog cannot be asked, and otherwise hands the
request's `Caller` on in the ASGI scope; `CallerContext` puts it in the SDK's call context, where
`Clients` finds it. The Authorization header is kept out of the call context (tokens are never
logged or kept beyond their request).
"""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.routes.common import DefaultServerCallContextBuilder
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from max_tools import AsyncMaxClient
from max_tools.hosting import Answer, Caller, HostedAuth, ServerKeyAuth

__all__ = ["ENDPOINT_PATH", "Auth", "Authenticate", "CallerContext", "Clients"]

Auth = HostedAuth | ServerKeyAuth
"""How a deployment takes credentials (the same surface for every mode)."""

ENDPOINT_PATH = "/"
"""The A2A endpoint (JSON-RPC; HTTP+JSON below it): the protected resource of a sign-in."""

_CALLER = "max_tools.caller"
"""Where `Authenticate` leaves the caller in the ASGI scope's state."""


class Authenticate:
    """ASGI middleware: every request but the public ones gets its `Caller`, or is refused.

    Args:
        app: the A2A app.
        auth: the deployment's credentials rules.
        public_paths: paths served to anyone (the agent card: a client reads it to learn how to
            authenticate).
    """

    def __init__(self, app: ASGIApp, *, auth: Auth, public_paths: frozenset[str]) -> None:
        self._app = app
        self._auth = auth
        self._public = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._public:
            await self._app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers") or []
        }
        resource = self._auth.resource(
            scheme=scope.get("scheme", "http"), host=headers.get("host"), path=ENDPOINT_PATH
        )
        metadata = self._auth.metadata_answer(
            path=scope["path"], method=scope.get("method", ""), resource=resource
        )
        if metadata is not None:
            await metadata.send(send)
            return
        caller = await self._auth.authenticate(headers, resource=resource)
        if isinstance(caller, Answer):
            await caller.send(send)
            return
        scope.setdefault("state", {})[_CALLER] = caller
        await self._app(scope, receive, send)


class CallerContext(DefaultServerCallContextBuilder):
    """The SDK's call context, with the request's caller and without its Authorization."""

    def build(self, request: Request) -> ServerCallContext:
        """The call context of `request` (which `Authenticate` let through)."""
        context = super().build(request)
        context.state["headers"].pop("authorization", None)
        context.state[_CALLER] = request.scope.get("state", {}).get(_CALLER)
        return context


class Clients:
    """Hands each A2A call its caller, and the `AsyncMaxClient` that acts for them."""

    def caller(self, context: ServerCallContext) -> Caller:
        """The caller `Authenticate` found for this call."""
        caller = context.state.get(_CALLER)
        if not isinstance(caller, Caller):  # Authenticate refused such requests
            raise PermissionError("This A2A request was not authenticated.")
        return caller

    def for_call(self, context: ServerCallContext) -> AsyncMaxClient:
        """The client for this call's caller (for this call alone)."""
        return self.caller(context).client
