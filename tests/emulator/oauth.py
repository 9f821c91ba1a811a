"""Helpers for the OAuth tests: the steps of a sign-in at the emulator, over raw HTTP.

Register a client, ask for a code with PKCE, exchange it, refresh, introspect: each test keeps
only the step it checks and takes the rest from here.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "http://127.0.0.1/callback"
"""A port-less loopback redirect URI, as a CLI registers it."""
CALLBACK = "http://127.0.0.1:53682/callback"
"""Where the authorization requests send the browser: `REDIRECT` on the CLI's listening port."""
SCOPES = "conversation:read conversation:write query:read"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query(location: str) -> dict[str, str]:
    """The parameters of a redirect's query."""
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def register(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A public client registered (DCR) with `fields` over the defaults; the 201's body."""
    body = {
        "redirect_uris": [REDIRECT],
        "client_name": "My CLI",
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        **fields,
    }
    response = await http.post("/oauth/register/", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def authorize_params(client_id: str, /, **extra: str) -> dict[str, str]:
    """An authorization request's query, with state ``st4te``; `extra` adds or replaces any.

    The PKCE challenge is of a verifier thrown away unless `extra` gives ``code_challenge``:
    enough for a request whose code is never exchanged (`authorize` keeps its verifier).
    """
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": SCOPES,
        "state": "st4te",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
        **extra,
    }


@dataclass(frozen=True)
class Code:
    """An authorization code, with the request it answered and the verifier it was bound to."""

    value: str
    verifier: str
    params: dict[str, str]

    def token_request(self, *, with_verifier: bool = True) -> dict[str, str]:
        """The form that exchanges this code (`with_verifier=False`: the PKCE proof left out)."""
        form = {
            "grant_type": "authorization_code",
            "code": self.value,
            "redirect_uri": self.params["redirect_uri"],
            "client_id": self.params["client_id"],
        }
        return {**form, "code_verifier": self.verifier} if with_verifier else form


async def authorize(http: httpx.AsyncClient, client_id: str, **extra: str) -> Code:
    """A code, with auto-consent on: the authorization request and the redirect it answers."""
    verifier, challenge = pkce()
    params = authorize_params(client_id, code_challenge=challenge, **extra)
    answer = await http.get("/oauth/authorize/", params=params)
    assert answer.status_code == 302, answer.text
    return Code(query(answer.headers["location"])["code"], verifier, params)


async def sign_in(
    http: httpx.AsyncClient, client_id: str, *, scope: str = SCOPES
) -> dict[str, Any]:
    """The code flow, with auto-consent on: authorize, then exchange the code; the token body."""
    code = await authorize(http, client_id, scope=scope)
    response = await http.post("/oauth/token/", data=code.token_request())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def refresh(http: httpx.AsyncClient, client_id: str, refresh_token: str) -> httpx.Response:
    """The refresh grant for a public client, as sent; the answer is the test's to judge."""
    return await http.post(
        "/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


async def introspect(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """What the emulator says of `token` when the token asks about itself (self-introspection)."""
    response = await http.post(
        "/oauth/introspect/", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
