"""PostHog's OAuth wire, as a public client on the command line uses it (posthog-oauth.md).

Discovery (RFC 8414), dynamic client registration (RFC 7591), PKCE S256, the authorize URL,
the token endpoint (a code, or a refresh token), revocation (RFC 7009) and OIDC userinfo. Every
request is one plain httpx call; failures become `SignInError` (or `SignInExpiredError` when
PostHog refuses a refresh) with a sentence that says what to do. Nothing here stores anything.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from max_tools._advice import advice
from max_tools._errors import SignInError, SignInExpiredError

__all__ = [
    "CLIENT_NAME",
    "REDIRECT_PATH",
    "SCOPES",
    "ServerMetadata",
    "TokenResponse",
    "authorize_url",
    "client_known",
    "discover",
    "exchange_code",
    "pkce_pair",
    "refresh",
    "register_client",
    "revoke",
    "userinfo",
]

SCOPES = "openid email conversation:read conversation:write query:read"
"""What max-tools asks for: the conversations API, its query API, and who signed in (email).

PostHog never refuses scopes; it narrows them (posthog-oauth.md section 2), so what was granted
is read from the token response, not assumed from this list.
"""
CLIENT_NAME = "max-tools"
REDIRECT_PATH = "/callback"
ModelT = TypeVar("ModelT", bound=BaseModel)

REGISTERED_REDIRECT = f"http://127.0.0.1{REDIRECT_PATH}"
"""Registered without a port: PostHog then accepts any loopback port at authorize time."""


class ServerMetadata(BaseModel):
    """The parts of PostHog's authorization server metadata that signing in needs."""

    model_config = ConfigDict(extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    code_challenge_methods_supported: list[str] = Field(default_factory=list)
    posthog_base_url: str | None = None


class TokenResponse(BaseModel):
    """What PostHog's token endpoint answers (the extras it adds included)."""

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_in: float | None = None
    scope: str = ""
    scoped_teams: list[int] = Field(default_factory=list)
    scoped_organizations: list[str] = Field(default_factory=list)
    posthog_base_url: str | None = None


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE code verifier (86 characters) and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


async def discover(http: httpx.AsyncClient, host: str) -> ServerMetadata:
    """The authorization server metadata of `host` (its ``/.well-known`` document).

    Raises:
        SignInError: the host does not answer it, or answers something else.
    """
    url = f"{host}/.well-known/oauth-authorization-server"
    response = await _send(http, "GET", url, doing=f"read {host}'s sign-in settings")
    if response.status_code != 200:
        raise SignInError(
            f"{host} does not offer Sign in with PostHog (its {url} answered "
            f"{response.status_code}). Check --host / POSTHOG_HOST, or use a personal API key "
            "(POSTHOG_PERSONAL_API_KEY)."
        )
    metadata = _parse(ServerMetadata, response, doing=f"read {host}'s sign-in settings")
    if "S256" not in metadata.code_challenge_methods_supported:
        raise SignInError(
            f"{host}'s sign-in does not support PKCE with S256, which max-tools requires; use "
            "a personal API key (POSTHOG_PERSONAL_API_KEY) instead."
        )
    return metadata


async def register_client(http: httpx.AsyncClient, metadata: ServerMetadata) -> str:
    """Register max-tools as a public client of this issuer; its client id.

    Raises:
        SignInError: the server offers no registration or refused it.
    """
    if metadata.registration_endpoint is None:
        raise SignInError(
            f"{metadata.issuer} does not let applications register themselves, so max-tools "
            "cannot sign in there; use a personal API key (POSTHOG_PERSONAL_API_KEY)."
        )
    body = {
        "client_name": CLIENT_NAME,
        "redirect_uris": [REGISTERED_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": SCOPES,
    }
    doing = "register max-tools with PostHog"
    response = await _send(http, "POST", metadata.registration_endpoint, json=body, doing=doing)
    if response.status_code not in (200, 201):
        raise SignInError(f"Could not {doing}: {_said(response)} Try again later.")
    client_id = _json(response, doing).get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise SignInError(f"Could not {doing}: PostHog's answer had no client_id.")
    return client_id


async def client_known(http: httpx.AsyncClient, metadata: ServerMetadata, client_id: str) -> bool:
    """Whether the issuer still knows a client id max-tools registered there before.

    A deliberately wrong redirect URI makes the authorize endpoint check the client id and stop
    (400 "Mismatching redirect URI."), so nothing is issued. False only when PostHog says the
    client id is unknown (a deleted app, an emulator restarted); anything else (a login
    redirect, no answer) keeps the client id, and the browser shows what went wrong.
    """
    probe = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "http://127.0.0.1:1/max-tools-probe",
    }
    try:
        response = await http.get(metadata.authorization_endpoint, params=probe)
    except httpx.HTTPError:
        return True
    if response.status_code != 400 or not _is_json(response):
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    if not isinstance(body, dict):
        return True
    described = str(body.get("error_description") or "")
    return not (
        body.get("error") in ("invalid_request", "invalid_client") and "client_id" in described
    )


def authorize_url(
    metadata: ServerMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    project_id: str | None = None,
) -> str:
    """The URL that asks the person to sign in and consent.

    ``code_challenge_method=S256`` is sent explicitly: PostHog (oauthlib) takes a missing one
    as ``plain``, which its database then refuses. ``required_access_level=project`` makes the
    consent page ask for one project, which the API calls then use.
    """
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "required_access_level": "project",
    }
    if project_id is not None and project_id.isdigit():
        params["team_id"] = project_id
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{urlencode(params)}"


async def exchange_code(
    http: httpx.AsyncClient,
    token_endpoint: str,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> TokenResponse:
    """Trade the authorization code for tokens (a form body, as RFC 6749 has it).

    Raises:
        SignInError: PostHog refused the code.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": code_verifier,
    }
    doing = "finish signing in"
    response = await _send(http, "POST", token_endpoint, data=form, doing=doing)
    if response.status_code != 200:
        raise SignInError(f"Could not {doing}: {_said(response)} Run max-tools login again.")
    return _parse(TokenResponse, response, doing=doing)


async def refresh(
    http: httpx.AsyncClient, token_endpoint: str, *, client_id: str, refresh_token: str
) -> TokenResponse:
    """A new access token for a refresh token.

    Raises:
        SignInExpiredError: PostHog refused the refresh token (expired, revoked, re-authorize).
        SignInError: PostHog could not be reached, or failed.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    doing = "refresh your PostHog sign-in"
    response = await _send(http, "POST", token_endpoint, data=form, doing=doing)
    if response.status_code != 200:
        error = _json(response, doing).get("error") if _is_json(response) else None
        if response.status_code in (400, 401) and error in ("invalid_grant", "invalid_client"):
            raise expired_error(doing, status_code=response.status_code)
        raise SignInError(f"Could not {doing}: {_said(response)} Try again in a moment.")
    return _parse(TokenResponse, response, doing=doing)


def expired_error(doing: str, *, status_code: int = 401) -> SignInExpiredError:
    """The error for a sign-in PostHog no longer takes, with the advice in each face's words."""
    head = f"Could not {doing}: {status_code}."
    return SignInExpiredError(
        f"{head} {advice('signin_expired', 'python')}",
        status_code=status_code,
        situation="signin_expired",
        head=head,
    )


async def revoke(
    http: httpx.AsyncClient, revocation_endpoint: str, *, client_id: str, token: str, hint: str
) -> None:
    """Revoke a token (RFC 7009; a public client names itself with ``client_id``).

    For a registered client, revoking the refresh token ends the whole sign-in at PostHog.

    Raises:
        SignInError: PostHog could not be reached or refused.
    """
    form = {"token": token, "token_type_hint": hint, "client_id": client_id}
    doing = "revoke the sign-in at PostHog"
    response = await _send(http, "POST", revocation_endpoint, data=form, doing=doing)
    if response.status_code != 200:
        raise SignInError(f"Could not {doing}: {_said(response)}")


async def userinfo(http: httpx.AsyncClient, endpoint: str, *, access_token: str) -> dict[str, Any]:
    """The OIDC claims of whoever signed in (``email`` with the email scope); {} if refused."""
    try:
        response = await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
    except httpx.HTTPError:
        return {}
    if response.status_code != 200 or not _is_json(response):
        return {}
    claims = response.json()
    return claims if isinstance(claims, dict) else {}


async def _send(
    http: httpx.AsyncClient, method: str, url: str, *, doing: str, **content: Any
) -> httpx.Response:
    try:
        return await http.request(method, url, headers={"Accept": "application/json"}, **content)
    except httpx.TimeoutException as exc:
        raise SignInError(f"Could not {doing}: {url} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise SignInError(
            f"Could not {doing}: no answer from {url} ({reason}). Check the network and the host."
        ) from exc


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _json(response: httpx.Response, doing: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SignInError(f"Could not {doing}: PostHog's answer was not JSON.") from exc
    if not isinstance(body, dict):
        raise SignInError(f"Could not {doing}: PostHog's answer was not a JSON object.")
    return body


def _parse(model: type[ModelT], response: httpx.Response, *, doing: str) -> ModelT:
    try:
        return model.model_validate(_json(response, doing))
    except ValidationError as exc:
        raise SignInError(
            f"Could not {doing}: PostHog's answer ({response.status_code}) is not what its "
            "OAuth server sends. Check --host / POSTHOG_HOST."
        ) from exc


def _said(response: httpx.Response) -> str:
    """PostHog's reason, from an OAuth error body (``error`` and ``error_description``)."""
    said = f"{response.status_code}."
    if _is_json(response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            described = body.get("error_description")
            said += f" PostHog said: {body['error']}" + (f" ({described})." if described else ".")
    return said
