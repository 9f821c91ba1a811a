"""OAuth access tokens (``pha_``) on the emulated API: who sends them, and what they may do.

PostHog's `OAuthAccessTokenAuthentication` and `APIScopePermission` (reference posthog-oauth.md
section 5): the token is read from the ``Authorization`` header only and looked up on every
request, so a revocation takes effect at once; its scopes are checked as a scoped personal API
key's are, and its ``scoped_teams`` bind it to those projects.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._oauth import OAuthServer
from max_tools.emulator._oauth_scopes import missing_scope
from max_tools.emulator._responses import json_response
from max_tools.emulator._store import User
from max_tools.emulator._wire import drf_error

__all__ = ["TOKEN_PREFIX", "required_scope", "token_permission", "token_user"]

TOKEN_PREFIX = "pha_"  # noqa: S105 - a prefix, not a secret
_READS = frozenset({"list", "retrieve"})
_WRITES = frozenset({"create", "destroy"})


def _refused(status: int, code: str, detail: str) -> Response:
    error = "authentication_error"
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response(status, drf_error(error, code, detail), headers)


def token_user(server: OAuthServer, token: str) -> User | Response:
    """The user behind an access token, or PostHog's 401."""
    found = server.state.access(token)
    if found is None:
        return _refused(401, "authentication_failed", "Invalid access token.")
    if server.state.expired(found):
        return _refused(401, "authentication_failed", "Access token has expired.")
    return found.grant.user


def required_scope(action: str) -> str | None:
    """The scope an action needs; None for the custom actions, which declare none."""
    if action == "query":
        return "query:read"
    if action in _READS:
        return "conversation:read"
    if action in _WRITES:
        return "conversation:write"
    return None


def token_permission(
    server: OAuthServer, request: Request, action: str, team_id: int
) -> Response | None:
    """PostHog's 403 for an OAuth request the token does not allow, or None.

    Requests authenticated otherwise (personal API keys) pass untouched.
    """
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip().startswith(TOKEN_PREFIX):
        return None
    found = server.state.access(value.strip())
    if found is None:
        return None
    grant = found.grant
    if grant.scopes and grant.scoped_teams and team_id not in grant.scoped_teams:
        detail = f"API key does not have access to the requested project: ID {team_id}."
        return _refused(403, "permission_denied", detail)
    reason = missing_scope(grant.scopes, required_scope(action))
    return None if reason is None else _refused(403, "permission_denied", reason)
