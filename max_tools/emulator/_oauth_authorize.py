"""``/oauth/authorize/``: the code request, its validation, the consent page and the consent.

Validation runs in oauthlib's order (reference posthog-oauth.md section 2): errors found before
a redirect URI is trusted are JSON 400s; later ones are 302s to the redirect URI with
``error`` and ``state``. The user is never asked to log in: they pick an emulated user on the
consent page, or the auto-consent switch names one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import ImmutableMultiDict, MultiDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from max_tools.emulator._oauth import ORGANIZATION_ID, OAuthServer, oauth_error
from max_tools.emulator._oauth_clients import OAuthApp, RegistrationError, redirect_allowed
from max_tools.emulator._oauth_consent import consent_page, levels
from max_tools.emulator._oauth_scopes import ALWAYS_ALLOWED_SCOPES, clamp
from max_tools.emulator._oauth_store import Grant
from max_tools.emulator._responses import json_response
from max_tools.emulator._store import User
from max_tools.emulator._wire import drf_error

__all__ = ["authorize"]

_SINGLE = ("client_id", "response_type", "redirect_uri", "scope", "state")
"""Parameters oauthlib refuses to see twice."""
_FORWARDED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)
"""The request parameters the consent posts back."""


@dataclass(slots=True)
class CodeRequest:
    """A validated authorization request."""

    app: OAuthApp
    redirect_uri: str
    state: str | None
    scopes: list[str]
    code_challenge: str
    code_challenge_method: str
    params: dict[str, str]


class _Refusal(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _redirect(uri: str, **params: str | None) -> str:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{query}"


async def _validate(server: OAuthServer, params: ImmutableMultiDict[str, str]) -> CodeRequest:
    """The request, or `_Refusal` with PostHog's answer."""
    for name in _SINGLE:
        if len(params.getlist(name)) > 1:
            raise _Refusal(oauth_error(400, "invalid_request", f"Duplicate {name} parameter."))
    client_id = params.get("client_id")
    if not client_id:
        raise _Refusal(oauth_error(400, "invalid_request", "Missing client_id parameter."))
    try:
        app = await server.app(client_id)
    except RegistrationError as exc:
        raise _Refusal(oauth_error(400, exc.error, exc.description)) from exc
    if app is None:
        raise _Refusal(oauth_error(400, "invalid_request", "Invalid client_id parameter value."))
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        if len(app.redirect_uris) != 1:
            raise _Refusal(oauth_error(400, "invalid_request", "Missing redirect URI."))
        redirect_uri = app.redirect_uris[0]
    elif not urlsplit(redirect_uri).scheme:
        raise _Refusal(oauth_error(400, "invalid_request", "Invalid redirect URI."))
    elif not redirect_allowed(redirect_uri, app.redirect_uris):
        raise _Refusal(oauth_error(400, "invalid_request", "Mismatching redirect URI."))

    state = params.get("state")

    def refuse(error: str, description: str | None = None) -> _Refusal:
        uri = _redirect(redirect_uri, error=error, error_description=description, state=state)
        return _Refusal(RedirectResponse(uri, 302))

    if params.get("prompt") == "login":
        raise _Refusal(json_response(401, {"error": "login_required"}))
    response_type = params.get("response_type")
    if not response_type:
        raise refuse("invalid_request", "Missing response_type parameter.")
    if response_type != "code":
        raise refuse("unsupported_response_type")
    challenge = params.get("code_challenge")
    if not challenge:
        raise refuse("invalid_request", "Code challenge required.")
    # oauthlib defaults a missing method to `plain`, which it accepts: the refusal comes later,
    # when the code is saved (see `_consented`).
    method = params.get("code_challenge_method") or "plain"
    if method not in ("plain", "S256"):
        raise refuse("invalid_request", "Transform algorithm not supported.")
    if params.get("prompt") == "none":
        raise refuse("consent_required")
    return CodeRequest(
        app=app,
        redirect_uri=redirect_uri,
        state=state,
        scopes=clamp(params.get("scope"), app.scopes),
        code_challenge=challenge,
        code_challenge_method=method,
        params={name: params[name] for name in _FORWARDED if name in params},
    )


async def authorize(server: OAuthServer, request: Request) -> Response:
    """GET shows the consent page (or consents at once); POST is the consent."""
    if request.method == "GET":
        return await _show(server, request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return await _consent_json(server, request)
    return await _consent_form(server, request)


async def _show(server: OAuthServer, request: Request) -> Response:
    try:
        asked = await _validate(server, request.query_params)
    except _Refusal as refusal:
        return refusal.response
    switch = server.state.consent
    if switch.on:
        user = switch.user or server.users()[0]
        project = switch.project if switch.project is not None else server.current_project_id
        try:
            teams, organizations = _scoping(server, "all" if project == "all" else "team", project)
        except _Refusal as refusal:
            return refusal.response
        return _consented(server, asked, user, asked.scopes, teams, organizations, as_json=False)
    required = [scope for scope in asked.app.scopes if scope in asked.scopes]
    team_id = request.query_params.get("team_id", "")
    selected = team_id if team_id.isdigit() and int(team_id) in server.projects else "all"
    if request.query_params.get("required_access_level") == "project" and selected == "all":
        selected = str(server.current_project_id)
    page = consent_page(
        client_name=asked.app.name,
        params=asked.params,
        scopes=asked.scopes,
        required=required,
        users=server.users(),
        projects=server.projects,
        selected_project=selected,
        allow_all=request.query_params.get("required_access_level") != "project",
    )
    return HTMLResponse(page)


def _scoping(server: OAuthServer, access_level: Any, project: Any) -> tuple[list[int], list[str]]:
    """`scoped_teams` and `scoped_organizations` for an access level (all: no restriction)."""
    if access_level == "organization":
        return [], [ORGANIZATION_ID]
    if access_level == "team":
        try:
            team = int(project)
        except (TypeError, ValueError):
            raise _Refusal(oauth_error(400, "invalid_request", "Choose a project.")) from None
        if team not in server.projects:
            raise _Refusal(oauth_error(400, "invalid_request", f"There is no project {team}."))
        return [team], []
    return [], []


def _consented(
    server: OAuthServer,
    asked: CodeRequest,
    user: User,
    scopes: list[str],
    teams: list[int],
    organizations: list[str],
    *,
    as_json: bool,
) -> Response:
    if asked.code_challenge_method != "S256":
        # `OAuthGrant` has a CheckConstraint on S256: saving a `plain` grant fails in the
        # database, and PostHog answers a bare server error.
        body = drf_error("server_error", "error", "A server error occurred.")
        return json_response(500, body)
    grant = Grant(asked.app.client_id, user, scopes, teams, organizations)
    code = server.state.issue_code(grant, asked.redirect_uri, asked.code_challenge)
    return _answer(_redirect(asked.redirect_uri, code=code, state=asked.state), as_json=as_json)


def _answer(uri: str, *, as_json: bool) -> Response:
    if as_json:
        return json_response(200, {"redirect_to": uri})
    return RedirectResponse(uri, 302)


def _chosen_scopes(asked: CodeRequest, choices: dict[str, str]) -> list[str]:
    """The scopes the consent keeps: each object's choice, never above what was asked."""
    wanted = levels(asked.scopes)
    kept = [scope for scope in asked.scopes if scope in ALWAYS_ALLOWED_SCOPES or scope == "*"]
    for obj, level in wanted.items():
        choice = choices.get(obj, level)
        if choice == "write" and level == "write":
            kept.append(f"{obj}:write")
        elif choice in ("read", "write"):
            kept.append(f"{obj}:read")
    return kept


async def _decide(
    server: OAuthServer,
    asked: CodeRequest,
    *,
    allow: bool,
    user_id: object,
    scopes: list[str],
    access_level: object,
    project: object,
    as_json: bool,
) -> Response:
    if not allow:
        uri = _redirect(asked.redirect_uri, error="access_denied", state=asked.state)
        return _answer(uri, as_json=as_json)
    user = server.user(user_id) if user_id not in (None, "") else server.users()[0]
    if user is None:
        return oauth_error(400, "invalid_request", f"There is no emulated user {user_id}.")
    # What the consent sends is clamped again, as PostHog's serializer does.
    granted = [scope for scope in clamp(" ".join(scopes), asked.app.scopes) if scope in scopes]
    # A write scope covers its read, as on the API: the page's "Read and write" sends only
    # `conversation:write`, and an app that requires both must still be allowed.
    missing = [
        scope
        for scope in asked.app.scopes
        if scope in asked.scopes
        and scope not in granted
        and not (scope.endswith(":read") and scope.removesuffix(":read") + ":write" in granted)
    ]
    if missing:
        return oauth_error(400, "invalid_scope", f"Required scopes missing: {' '.join(missing)}.")
    teams, organizations = _scoping(server, access_level, project)
    return _consented(server, asked, user, granted, teams, organizations, as_json=as_json)


async def _consent_form(server: OAuthServer, request: Request) -> Response:
    form = await request.form()
    params = MultiDict([(key, str(value)) for key, value in form.multi_items()])
    try:
        asked = await _validate(server, params)
        choices = {
            key.removeprefix("scope_"): value
            for key, value in params.items()
            if key.startswith("scope_")
        }
        project = params.get("project", "all")
        return await _decide(
            server,
            asked,
            allow=params.get("allow") == "true",
            user_id=params.get("user_id"),
            scopes=_chosen_scopes(asked, choices),
            access_level="all" if project == "all" else "team",
            project=project,
            as_json=False,
        )
    except _Refusal as refusal:
        return refusal.response


async def _consent_json(server: OAuthServer, request: Request) -> Response:
    """The SPA's consent: the request's fields plus the choices, answered with `redirect_to`."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return oauth_error(400, "invalid_request", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return oauth_error(400, "invalid_request", "Expected a JSON object.")
    fields = [(key, str(value)) for key, value in body.items() if isinstance(value, str)]
    try:
        asked = await _validate(server, MultiDict(fields))
        teams = body.get("scoped_teams") or []
        access_level = body.get("access_level", "all")
        if access_level == "team" and len(teams) != 1:
            return oauth_error(400, "invalid_request", "Choose exactly one project.")
        return await _decide(
            server,
            asked,
            allow=body.get("allow") is True,
            user_id=body.get("user_id"),
            scopes=str(body.get("scope", " ".join(asked.scopes))).split(),
            access_level=access_level,
            project=teams[0] if teams else None,
            as_json=True,
        )
    except _Refusal as refusal:
        response = refusal.response
        if isinstance(response, RedirectResponse):
            return json_response(200, {"redirect_to": response.headers["location"]})
        return response
