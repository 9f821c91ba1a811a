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

The face's check of a sign-in stands for minutes, and a personal key is checked by PostHog alone,
so a token revoked (or a key deleted) since can still pass `Authenticate`; PostHog then refuses
the request's calls with a 401. The handler reports that (`Clients.refused`), and a request
whose answer has not started yet is answered 401 instead, as it would have been up front: for a
sign-in, the challenge that starts a new one (its cached check is dropped first).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

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
_REFUSAL = "max_tools.refusal"
"""Where `Authenticate` leaves the request's `Refusal` (scope state and call context)."""

KEY_REFUSED = (
    "PostHog refused this personal API key (it was deleted, rolled or has expired). Send a valid "
    "key as 'Authorization: Bearer phx_...'."
)


class Refusal:
    """Whether PostHog refused the credentials of one request (set by the handler, read here)."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused = False


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
        refusal = Refusal()
        state = scope.setdefault("state", {})
        state[_CALLER], state[_REFUSAL] = caller, refusal
        answered = False

        async def send_unless_refused(message: MutableMapping[str, Any]) -> None:
            nonlocal answered
            # The server's own key is no caller's to renew: its refusal stays an A2A error.
            hosted = isinstance(self._auth, HostedAuth)
            if message["type"] == "http.response.start" and refusal.refused and hosted:
                again = await self._auth.authenticate(headers, resource=resource)
                if isinstance(again, Answer):  # the sign-in's challenge, checked anew
                    answered = True
                    await again.send(send)
                elif not again.signed_in:  # PostHog alone checks personal keys
                    answered = True
                    await _key_refused().send(send)
            if not answered:
                await send(message)

        await self._app(scope, receive, send_unless_refused)


class CallerContext(DefaultServerCallContextBuilder):
    """The SDK's call context, with the request's caller and without its Authorization."""

    def build(self, request: Request) -> ServerCallContext:
        """The call context of `request` (which `Authenticate` let through)."""
        context = super().build(request)
        context.state["headers"].pop("authorization", None)
        state = request.scope.get("state", {})
        context.state[_CALLER] = state.get(_CALLER)
        context.state[_REFUSAL] = state.get(_REFUSAL)
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

    def refused(self, context: ServerCallContext) -> None:
        """PostHog refused this call's credentials: forget their check, answer 401 if still can."""
        self.caller(context).forget_token()
        refusal = context.state.get(_REFUSAL)
        if isinstance(refusal, Refusal):
            refusal.refused = True


def _key_refused() -> Answer:
    """The 401 for a personal key PostHog refused (the face does not check keys itself)."""
    challenge = ("www-authenticate", 'Bearer error="invalid_token"')
    return Answer.json(401, {"detail": KEY_REFUSED}, [challenge])
