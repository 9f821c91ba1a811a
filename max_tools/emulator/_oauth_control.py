"""The OAuth part of the control API, ``/_emulator/oauth``: read and steer sign-ins in tests.

| request | effect |
|---|---|
| ``GET /_emulator/oauth`` | the switches and how many apps, codes and tokens exist |
| ``POST /_emulator/oauth`` | set switches: ``auto_consent``, ``user_key`` or ``user_id``, ``project``, ``access_token_ttl_s``, ``advance_clock_s`` |
| ``DELETE /_emulator/oauth`` | switches back to their defaults (tokens stay) |
| ``POST /_emulator/oauth/revoke`` | revoke every token, or ``{"user_key": ...}``'s |
| ``POST /_emulator/oauth/cimd`` | ``{"client_id": url, "document": {...}}``: the metadata document that URL serves |
| ``POST /_emulator/oauth/apps`` | register an app by hand (``kind`` ``registered``: 1-hour tokens, rotating refresh) |
"""  # noqa: E501 - a table

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._oauth import OAuthServer
from max_tools.emulator._oauth_clients import OAuthApp, RegistrationError, register
from max_tools.emulator._oauth_store import ConsentSwitch
from max_tools.emulator._responses import json_response

__all__ = ["apply", "oauth_control", "oauth_state"]

_SWITCHES = frozenset(
    {"auto_consent", "user_key", "user_id", "project", "access_token_ttl_s", "advance_clock_s"}
)


def oauth_state(server: OAuthServer) -> dict[str, Any]:
    """The switches, and counts of what the authorization server holds."""
    state = server.state
    user = state.consent.user
    return {
        "auto_consent": state.consent.on,
        "user": None if user is None else {"id": user.id, "name": user.first_name},
        "project": state.consent.project,
        "access_token_ttl_s": state.access_token_ttl_s,
        "clock_offset_s": state.clock_offset_s,
        "region": server.region,
        **state.counts(),
    }


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'{name}' must be a whole number, 0 or more.")
    return value


def apply(server: OAuthServer, body: Any) -> None:
    """Apply a switches body; raises ValueError naming what is wrong (then nothing changes)."""
    if not isinstance(body, dict) or not body:
        raise ValueError('Send a JSON object of switches, e.g. {"auto_consent": true}.')
    unknown = sorted(set(body) - _SWITCHES)
    if unknown:
        raise ValueError(f"Unknown OAuth switches {unknown}; known: {sorted(_SWITCHES)}.")
    state = server.state
    switch = ConsentSwitch(state.consent.on, state.consent.user, state.consent.project)
    if "auto_consent" in body:
        if not isinstance(body["auto_consent"], bool):
            raise ValueError("'auto_consent' must be true or false.")
        switch.on = body["auto_consent"]
    if body.get("user_key") is not None:
        if not isinstance(body["user_key"], str) or not body["user_key"]:
            raise ValueError("'user_key' must be a personal API key (its user signs in).")
        switch.user = server.users_store.user_for(body["user_key"])
    elif body.get("user_id") is not None:
        switch.user = server.user(body["user_id"])
        if switch.user is None:
            raise ValueError(f"There is no emulated user {body['user_id']}.")
    if "project" in body:
        project = body["project"]
        if project not in (None, "all") and project not in server.projects:
            raise ValueError(f"'project' must be one of {server.projects}, \"all\" or null.")
        switch.project = project
    ttl = state.access_token_ttl_s
    if "access_token_ttl_s" in body:
        raw = body["access_token_ttl_s"]
        ttl = None if raw is None else _whole(raw, "access_token_ttl_s")
    advance = 0.0
    if "advance_clock_s" in body:
        advance = float(_whole(body["advance_clock_s"], "advance_clock_s"))
    state.consent = switch
    state.access_token_ttl_s = ttl
    state.clock_offset_s += advance


def _reset(server: OAuthServer) -> None:
    server.state.consent = ConsentSwitch()
    server.state.access_token_ttl_s = None


async def oauth_control(server: OAuthServer, request: Request) -> Response:
    """Answer a request under ``/_emulator/oauth``."""
    path = request.url.path.rstrip("/")
    method = request.method
    try:
        body = json.loads(await request.body() or b"{}") if method == "POST" else None
    except ValueError:
        return json_response(400, {"detail": "The body is not valid JSON."})
    try:
        if path == "/_emulator/oauth" and method in ("GET", "POST", "DELETE"):
            if method == "POST":
                apply(server, body)
            elif method == "DELETE":
                _reset(server)
            return json_response(200, oauth_state(server))
        if path == "/_emulator/oauth/revoke" and method == "POST":
            key = body.get("user_key") if isinstance(body, dict) else None
            user = server.users_store.user_for(key) if isinstance(key, str) and key else None
            return json_response(200, {"revoked": server.state.revoke_all(user)})
        if path == "/_emulator/oauth/cimd" and method == "POST":
            return _cimd(server, body)
        if path == "/_emulator/oauth/apps" and method == "POST":
            return _app(server, body)
    except ValueError as exc:
        return json_response(400, {"detail": str(exc)})
    return json_response(404, {"detail": "Not found."})


def _cimd(server: OAuthServer, body: Any) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("client_id"), str):
        raise ValueError('Send {"client_id": "<the document URL>", "document": {...}}.')
    url = body["client_id"]
    server.state.cimd_documents[url] = body.get("document")
    server.state.apps.pop(url, None)  # read again on next use
    return json_response(201, {"client_id": url})


def _app(server: OAuthServer, body: Any) -> Response:
    if not isinstance(body, dict):
        raise ValueError("Send a JSON object describing the app.")
    kind = body.get("kind", "registered")
    if kind not in ("registered", "dcr"):
        raise ValueError("'kind' must be 'registered' or 'dcr'.")
    registration = {
        key: body[key]
        for key in ("redirect_uris", "client_name", "token_endpoint_auth_method", "scope")
        if key in body
    }
    try:
        app: OAuthApp = register(registration)
    except RegistrationError as exc:
        raise ValueError(exc.description) from exc
    app.kind = kind
    server.state.apps[app.client_id] = app
    reply = {"client_id": app.client_id, "kind": app.kind}
    if app.client_secret is not None:
        reply["client_secret"] = app.client_secret
    return json_response(201, reply)
