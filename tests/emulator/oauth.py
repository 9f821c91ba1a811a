"""Helpers for the OAuth tests: register a client, run the code flow with PKCE, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "http://127.0.0.1/callback"
"""A port-less loopback redirect URI, as a CLI registers it."""
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


def authorize_params(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "http://127.0.0.1:53682/callback",
        "scope": SCOPES,
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def sign_in(
    http: httpx.AsyncClient, client_id: str, *, scope: str = SCOPES
) -> dict[str, Any]:
    """The code flow, with auto-consent on: authorize, then exchange the code; the token body."""
    verifier, challenge = pkce()
    params = authorize_params(client_id, challenge, scope=scope)
    answer = await http.get("/oauth/authorize/", params=params)
    assert answer.status_code == 302, answer.text
    code = query(answer.headers["location"])["code"]
    response = await http.post(
        "/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": params["redirect_uri"],
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
