"""Which endpoint a request is for, and who sends it: routing, authentication, projects."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Set

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._oauth import OAuthServer
from max_tools.emulator._oauth_api import TOKEN_PREFIX, token_user
from max_tools.emulator._responses import json_response
from max_tools.emulator._store import Store, User
from max_tools.emulator._wire import drf_error

__all__ = ["API", "QUERY", "SCOPED_ACTIONS", "authenticate", "route", "team"]

API = re.compile(
    r"/api/(?:environments|projects)/(?P<project>[^/]+)/conversations(?:/(?P<rest>.*?))?/?"
)
QUERY = re.compile(
    r"/api/(?:environments|projects)/(?P<project>[^/]+)/query(?:/(?P<kind>[^/]+))?/?"
)
"""The query endpoint, and its ``{Kind}`` form."""
SCOPED_ACTIONS = frozenset(
    {"append_message", "cancel", "queue", "queue_item", "clear_queue", "open"}
)
"""Actions PostHog refuses to scoped personal API keys."""


def route(parts: list[str], method: str) -> tuple[str | None, tuple[str, ...]]:
    """The action for the path parts after ``conversations/``, and the methods it allows."""
    if not parts:
        return ("list" if method == "GET" else "create"), ("GET", "POST")
    if len(parts) == 1:
        return ("retrieve" if method == "GET" else "destroy"), ("GET", "DELETE")
    if len(parts) == 2:
        return {
            "append_message": ("append_message", ("POST",)),
            "cancel": ("cancel", ("PATCH",)),
            "queue": ("queue", ("GET", "POST")),
            "open": ("open", ("POST",)),
        }.get(parts[1], (None, ()))
    if len(parts) == 3 and parts[1] == "queue":
        if parts[2] == "clear":
            return "clear_queue", ("POST",)
        if "." not in parts[2]:
            return "queue_item", ("PATCH", "DELETE")
    return None, ()


def authenticate(
    request: Request,
    keys: Set[str] | None,
    store: Store,
    oauth: OAuthServer | None = None,
    deleted: Set[str] = frozenset(),
) -> User | Response:
    """The user behind the request's personal API key or OAuth access token, or PostHog's 401.

    `deleted` holds the SHA-256 digests of deleted keys. PostHog looks a key up on every request
    (and only when a request arrives: a stream already open runs on).
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    if oauth is not None and key.startswith(TOKEN_PREFIX):  # OAuth tokens: the header only
        return token_user(oauth, key)
    key = key or request.query_params.get("personal_api_key", "")
    if not key:
        detail = "Authentication credentials were not provided."
        return json_response(401, drf_error("authentication_error", "not_authenticated", detail))
    valid = key in keys if keys is not None else key.startswith("phx_")
    valid = valid and hashlib.sha256(key.encode()).hexdigest() not in deleted
    if not valid:
        detail = "Personal API key found in request Authorization header is invalid."
        body = drf_error("authentication_error", "authentication_failed", detail)
        return json_response(401, body)
    return store.user_for(key)


def team(project: str, current_project_id: int, project_ids: Set[int] | None) -> int | None:
    """The team a project path segment names, or None when there is no such project."""
    if project == "@current":
        return current_project_id
    if not project.isdigit():
        return None
    number = int(project)
    if project_ids is not None and number not in project_ids:
        return None
    return number
