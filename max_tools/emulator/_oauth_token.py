"""``/oauth/token/``, ``/oauth/introspect/``, ``/oauth/revoke/`` and ``/oauth/userinfo/``.

oauthlib's checks in oauthlib's order, with its error bodies (reference posthog-oauth.md
section 3): ``invalid_grant`` carries no description, a failed client authentication is a 401
with ``WWW-Authenticate``, and a code stays usable until a request passes every check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._oauth import OAuthServer, oauth_error
from max_tools.emulator._oauth_clients import OAuthApp, RegistrationError
from max_tools.emulator._oauth_store import AccessToken, Grant
from max_tools.emulator._responses import json_response

__all__ = ["introspect", "revoke", "token", "userinfo"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("bad request")
        self.response = response


async def _params(request: Request) -> dict[str, str]:
    """The body's parameters, form or JSON (PostHog accepts both), and the query's on GET."""
    if request.method == "GET":
        return dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _BadRequest(oauth_error(400, "invalid_request", "Invalid JSON body.")) from None
        if not isinstance(body, dict):
            raise _BadRequest(oauth_error(400, "invalid_request", "Expected a JSON object."))
        params: dict[str, str] = {}
        for key, value in body.items():
            if isinstance(value, (dict, list)):
                description = f"Parameter '{key}' must be a string"
                raise _BadRequest(oauth_error(400, "invalid_request", description))
            if value is not None:
                params[key] = json.dumps(value) if isinstance(value, bool) else str(value)
        return params
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


def _invalid_client() -> _BadRequest:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_client"', **_NO_STORE}
    return _BadRequest(oauth_error(401, "invalid_client", headers=headers))


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


async def _client(server: OAuthServer, request: Request, params: dict[str, str]) -> OAuthApp:
    """The authenticated client (`authenticate_client` / `authenticate_client_id`)."""
    basic = _basic(request)
    client_id = basic[0] if basic else params.get("client_id", "")
    secret = basic[1] if basic else params.get("client_secret")
    try:
        app = await server.app(client_id) if client_id else None
    except RegistrationError:
        app = None
    if app is None:
        raise _invalid_client()
    if app.client_secret is not None and (
        secret is None or not secrets.compare_digest(secret, app.client_secret)
    ):
        raise _invalid_client()
    return app


def _token_body(server: OAuthServer, request: Request, app: OAuthApp, issued: AccessToken) -> Any:
    grant = issued.grant
    return {
        "access_token": issued.token,
        "expires_in": server.state.ttl_s(app),
        "token_type": "Bearer",
        "scope": " ".join(grant.scopes),
        "refresh_token": issued.refresh_token,
        "scoped_teams": grant.scoped_teams,
        "scoped_organizations": grant.scoped_organizations,
        **server.region_fields(request),
    }


async def token(server: OAuthServer, request: Request) -> Response:
    """Exchange a code, or a refresh token, for tokens."""
    try:
        params = await _params(request)
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            app, issued = await _exchange_code(server, request, params)
        elif grant_type == "refresh_token":
            app, issued = await _refresh(server, request, params)
        else:
            return oauth_error(400, "unsupported_grant_type", headers=_NO_STORE)
    except _BadRequest as refused:
        return refused.response
    return json_response(200, _token_body(server, request, app, issued), _NO_STORE)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def _exchange_code(
    server: OAuthServer, request: Request, params: dict[str, str]
) -> tuple[OAuthApp, AccessToken]:
    code = params.get("code")
    if not code:
        raise _BadRequest(oauth_error(400, "invalid_request", "Missing code parameter."))
    app = await _client(server, request, params)
    state = server.state
    found = state.codes.get(code)
    if found is None or found.grant.client_id != app.client_id or found.expires_at <= state.now():
        raise _BadRequest(oauth_error(400, "invalid_grant", headers=_NO_STORE))
    verifier = params.get("code_verifier")
    if not verifier:
        description = "Code verifier required."
        raise _BadRequest(oauth_error(400, "invalid_request", description, _NO_STORE))
    if not secrets.compare_digest(_s256(verifier), found.code_challenge):
        raise _BadRequest(oauth_error(400, "invalid_grant", headers=_NO_STORE))
    redirect_uri = params.get("redirect_uri") or (
        app.redirect_uris[0] if len(app.redirect_uris) == 1 else None
    )
    if redirect_uri != found.redirect_uri:
        description = "Mismatching redirect URI."
        raise _BadRequest(oauth_error(400, "invalid_request", description, _NO_STORE))
    taken = state.take_code(code, app.client_id)
    if taken is None:  # another request used it meanwhile
        description = "Authorization code is invalid or has already been used"
        raise _BadRequest(oauth_error(400, "invalid_grant", description, _NO_STORE))
    return app, state.issue(app, taken.grant)


async def _refresh(
    server: OAuthServer, request: Request, params: dict[str, str]
) -> tuple[OAuthApp, AccessToken]:
    refresh_token = params.get("refresh_token")
    if not refresh_token:
        description = "Missing refresh token parameter."
        raise _BadRequest(oauth_error(400, "invalid_request", description, _NO_STORE))
    app = await _client(server, request, params)
    state = server.state
    found = state.live_refresh(refresh_token, app.client_id)
    if found is None:
        raise _BadRequest(oauth_error(400, "invalid_grant", headers=_NO_STORE))
    grant = found.grant
    asked = params.get("scope")
    if asked is not None:
        if not set(asked.split()) <= set(grant.scopes):
            raise _BadRequest(oauth_error(400, "invalid_scope", headers=_NO_STORE))
        grant = Grant(
            grant.client_id,
            grant.user,
            asked.split(),
            grant.scoped_teams,
            grant.scoped_organizations,
        )
    if not app.rotates_refresh_tokens:
        # DCR and CIMD clients keep their refresh token; earlier access tokens stay valid.
        return app, state.issue(app, grant, refresh=refresh_token)
    found.revoked_at = state.now()
    return app, state.issue(app, grant)


# Introspection (RFC 7662)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def introspect(server: OAuthServer, request: Request) -> Response:
    """Self-introspection, or a caller seeing its own app's tokens; otherwise inactive."""
    inactive = json_response(200, {"active": False})
    try:
        params = await _params(request)
    except _BadRequest:
        return inactive
    state = server.state
    found = state.access(params.get("token", ""))
    if found is None or state.expired(found):
        return inactive
    caller = _bearer(request)
    if caller is not None:
        caller_token = state.access(caller)
        allowed = caller == found.token or (
            caller_token is not None
            and not state.expired(caller_token)
            and "introspection" in caller_token.grant.scopes
            and caller_token.grant.client_id == found.grant.client_id
        )
    else:
        try:
            app = await _client(server, request, params)
        except _BadRequest:
            return inactive
        allowed = app.client_secret is not None and app.client_id == found.grant.client_id
    if not allowed:
        return inactive
    app = state.apps[found.grant.client_id]
    return json_response(
        200,
        {
            "active": True,
            "token_type": "access_token",
            "scope": " ".join(found.grant.scopes),
            "is_impersonated": False,
            "scoped_teams": found.grant.scoped_teams,
            "scoped_organizations": found.grant.scoped_organizations,
            "exp": int(found.expires_at),
            "client_id": app.client_id,
            "client_name": app.name,
        },
    )


# Revocation (RFC 7009)


async def revoke(server: OAuthServer, request: Request) -> Response:
    """Revoke a token of the calling client's; another app's token is ignored (still 200)."""
    try:
        params = await _params(request)
        token_value = params.get("token")
        if not token_value:
            return oauth_error(400, "invalid_request", "Missing token parameter.")
        app = await _client(server, request, params)
    except _BadRequest as refused:
        return refused.response
    hint = params.get("token_type_hint")
    if hint not in (None, "access_token", "refresh_token"):
        return oauth_error(400, "unsupported_token_type")
    state = server.state
    access = state.access_tokens.get(token_value)
    if access is not None and access.grant.client_id == app.client_id:
        del state.access_tokens[token_value]
    refresh = state.refresh_tokens.get(token_value)
    if refresh is not None and refresh.grant.client_id == app.client_id:
        if app.kind in ("dcr", "cimd"):
            state.revoke_session(refresh.grant.user, app.client_id)
        else:
            del state.refresh_tokens[token_value]
            for key in [
                k for k, t in state.access_tokens.items() if t.refresh_token == token_value
            ]:
                del state.access_tokens[key]
    return Response(b"", 200, _NO_STORE)


# OIDC userinfo


async def userinfo(server: OAuthServer, request: Request) -> Response:
    """The OIDC claims of the token's user (`claims.py`), as its scopes allow."""
    state = server.state
    found = state.access(_bearer(request) or "")
    if found is None or state.expired(found):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return oauth_error(401, "invalid_token", headers=headers)
    scopes = found.grant.scopes
    if "openid" not in scopes:
        headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
        return oauth_error(403, "insufficient_scope", headers=headers)
    user = found.grant.user
    claims: dict[str, Any] = {"sub": user.uuid}
    if "profile" in scopes:
        claims |= {"given_name": user.first_name, "family_name": ""}
    if "email" in scopes:
        claims |= {"email": user.email, "email_verified": True}
    return json_response(200, claims)
