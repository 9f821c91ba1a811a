"""What one hosted MCP request may use, set per request and read by the tools.

The hosted middleware (`mcp_server._hosted`) makes a `RequestScope` for each HTTP request and
sets it in a context variable for that request alone; the tools read it with `current_scope`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from max_tools import AsyncMaxClient, AuthenticationError
from max_tools.agent import ACTIONS_BY_NAME
from max_tools.hosting import missing_scope

__all__ = ["SCOPE", "RequestScope", "current_scope"]


@dataclass(frozen=True, slots=True)
class RequestScope:
    """What one MCP request may use: its tools and, with per-request keys, its own client."""

    client: AsyncMaxClient | None = None
    read_only: bool = False
    tools: frozenset[str] | None = None
    per_request_key: bool = field(default=False)
    granted: frozenset[str] | None = None
    """The scopes a PostHog sign-in granted (None: not signed in with OAuth)."""
    forget_token: Callable[[], None] | None = field(default=None, compare=False)
    """Drops the cached check of this request's sign-in token (PostHog refused it)."""

    def allows(self, tool: str) -> bool:
        """Whether this request may list and call `tool`."""
        if self.tools is not None and tool not in self.tools:
            return False
        if self.granted is not None and missing_scope(tool, self.granted) is not None:
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
        lacking = missing_scope(tool, self.granted) if self.granted is not None else None
        if lacking is not None:
            return (
                f"{tool} needs the {lacking} scope, which the user's PostHog sign-in did not "
                f"grant. Ask the user to sign in again (reconnect this server) and allow {lacking}."
            )
        return (
            f"{tool} is not available on this connection: it is read-only "
            "(x-posthog-read-only), so only tools that change nothing can be called."
        )

    def explain(self, exc: BaseException) -> str | None:
        """A message for errors that mean something else when the key came with the request."""
        if self.granted is not None and isinstance(exc, AuthenticationError):
            if self.forget_token is not None:
                self.forget_token()  # the next request is checked again, and answered 401
            return (
                "PostHog no longer accepts the user's sign-in (it expired or was revoked). "
                "Call again: the server will ask the MCP host to sign the user in again."
            )
        if self.per_request_key and isinstance(exc, AuthenticationError):
            host = self.client.settings.host if self.client is not None else "PostHog"
            return (
                f"PostHog ({host}) rejected the personal API key this request sent "
                "(Authorization: Bearer): it is unknown, revoked, or from another region. "
                "Ask the user to send a valid personal API key (phx_...) for this PostHog host."
            )
        return None


SCOPE: ContextVar[RequestScope | None] = ContextVar("max_mcp_request_scope", default=None)


def current_scope() -> RequestScope | None:
    """The scope of the MCP request being served over HTTP; None outside one (stdio, memory)."""
    return SCOPE.get()
