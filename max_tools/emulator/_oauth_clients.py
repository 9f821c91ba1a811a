"""OAuth applications: who may register (DCR, CIMD), their redirect URIs, and how they match.

PostHog's rules (reference posthog-oauth.md sections 2 and 4): `_validate_redirect_uris` and
django-oauth-toolkit's `redirect_to_uri_allowed` for redirect URIs, ``dcr.py`` for dynamic
registration, ``cimd.py`` for client ID metadata documents.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from max_tools.emulator._oauth_scopes import filter_to_unprivileged

__all__ = [
    "OAuthApp",
    "RegistrationError",
    "cimd_app",
    "is_cimd_url",
    "redirect_allowed",
    "register",
    "registration_reply",
]

_BLOCKED_SCHEMES = frozenset({"javascript", "data", "file", "blob", "vbscript"})
_CLIENT_ID_CHARACTERS = string.ascii_letters + string.digits
"""DOT's `generate_client_id` alphabet (40 characters)."""
_NAME_WORDS = ("official", "verified", "trusted")
_TAG = re.compile(r"<[^>]*>")


class RegistrationError(Exception):
    """A refused registration or metadata document: the OAuth error code and its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(slots=True)
class OAuthApp:
    """An `OAuthApplication` row.

    Attributes:
        client_id: the opaque id (DCR) or the document's URL (CIMD).
        name: what the consent page shows.
        redirect_uris: the registered redirect URIs.
        kind: ``dcr``, ``cimd`` (7-day tokens, non-rotating refresh) or ``registered``
            (an app registered by hand in PostHog: 1-hour tokens, rotating refresh).
        auth_method: ``none`` (public) or ``client_secret_post``.
        client_secret: the secret of a confidential client.
        scopes: the ceiling (and the required scopes); empty: every unprivileged scope.
        grant_types: as registered (PostHog lets every authorization-code app refresh).
    """

    client_id: str
    name: str
    redirect_uris: list[str]
    kind: str = "dcr"
    auth_method: str = "none"
    client_secret: str | None = None
    scopes: list[str] = field(default_factory=list)
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code"])
    issued_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def rotates_refresh_tokens(self) -> bool:
        """DCR and CIMD clients get the same refresh token back (`rotate_refresh_token`)."""
        return self.kind == "registered"


# Redirect URIs


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_redirect_uri(uri: str) -> None:
    """`_validate_redirect_uris`: https anywhere, http on loopback, custom schemes but five."""
    if not isinstance(uri, str) or not uri or any(ch.isspace() for ch in uri):
        raise RegistrationError("invalid_redirect_uri", f"Invalid redirect URI: {uri!r}.")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme:
        raise RegistrationError("invalid_redirect_uri", f"Redirect URI {uri} has no scheme.")
    if parts.fragment or "#" in uri:
        raise RegistrationError(
            "invalid_redirect_uri", f"Redirect URI {uri} must not contain a fragment."
        )
    if scheme in _BLOCKED_SCHEMES:
        raise RegistrationError(
            "invalid_redirect_uri", f"Redirect URI scheme '{scheme}' is not allowed."
        )
    if "@" in parts.netloc:
        raise RegistrationError(
            "invalid_redirect_uri", f"Redirect URI {uri} has an ambiguous authority."
        )
    if scheme in ("http", "https") and not parts.hostname:
        raise RegistrationError("invalid_redirect_uri", f"Redirect URI {uri} has no host.")
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise RegistrationError(
            "invalid_redirect_uri",
            f"Redirect URI {uri} must use https unless it is a loopback address.",
        )


def redirect_allowed(uri: str, registered: list[str]) -> bool:
    """DOT's `redirect_to_uri_allowed`, with PostHog's port-less ``localhost`` addition.

    Scheme, host and path match exactly and the registered query is a subset; the port is free
    when the registered URI is a port-less http loopback one (RFC 8252 section 7.3).
    """
    try:
        asked = urlsplit(uri)
        asked_port = asked.port
    except ValueError:
        return False
    if asked.fragment or "@" in asked.netloc:
        return False
    asked_query = set(parse_qsl(asked.query))
    for allowed in registered:
        known = urlsplit(allowed)
        if (known.scheme, known.path) != (asked.scheme, asked.path):
            continue
        if not set(parse_qsl(known.query)) <= asked_query:
            continue
        loopback = (
            known.scheme == "http"
            and known.hostname in ("127.0.0.1", "::1", "localhost")
            and known.port is None
        )
        if loopback and known.hostname == asked.hostname:
            return True
        if known.netloc == asked.netloc and known.port == asked_port:
            return True
    return False


# Dynamic client registration (RFC 7591)


def _client_name(value: Any, *, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise RegistrationError("invalid_client_metadata", "client_name: Not a valid string.")
    name = _TAG.sub("", value).strip()
    if len(name) > 255:
        raise RegistrationError(
            "invalid_client_metadata",
            "client_name: Ensure this field has no more than 255 characters.",
        )
    lowered = name.lower()
    if lowered.startswith("posthog") or any(word in lowered for word in _NAME_WORDS):
        raise RegistrationError(
            "invalid_client_metadata",
            "client_name: This client name is reserved; choose another name.",
        )
    return name or default


def _redirect_uris(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise RegistrationError(
            "invalid_client_metadata", "redirect_uris: At least one redirect URI is required."
        )
    for uri in value:
        _check_redirect_uri(uri)
    return [str(uri) for uri in value]


def register(body: Any) -> OAuthApp:
    """A new DCR app from a registration body; raises `RegistrationError` as ``dcr.py`` does."""
    if not isinstance(body, dict):
        raise RegistrationError("invalid_client_metadata", "Expected a JSON object.")
    redirect_uris = _redirect_uris(body.get("redirect_uris"))
    name = _client_name(body.get("client_name"), default="DCR Client")
    grant_types = body.get("grant_types", ["authorization_code"])
    if (
        not isinstance(grant_types, list)
        or not grant_types
        or not set(grant_types) <= {"authorization_code", "refresh_token"}
    ):
        raise RegistrationError(
            "invalid_client_metadata",
            "grant_types: Only authorization_code and refresh_token are supported.",
        )
    if body.get("response_types", ["code"]) != ["code"]:
        raise RegistrationError(
            "invalid_client_metadata", "response_types: Only 'code' is supported."
        )
    method = body.get("token_endpoint_auth_method", "none")
    if method not in ("none", "client_secret_post"):
        raise RegistrationError(
            "invalid_client_metadata",
            f'token_endpoint_auth_method: "{method}" is not a valid choice; '
            "use 'none' or 'client_secret_post'.",
        )
    scopes: list[str] = []
    if body.get("scope") is not None:
        scope = body["scope"]
        if not isinstance(scope, str):
            raise RegistrationError("invalid_client_metadata", "scope: Not a valid string.")
        scopes = filter_to_unprivileged(scope.split())
        if not scopes:
            raise RegistrationError(
                "invalid_client_metadata", "scope: None of the requested scopes can be granted."
            )
    secret = None
    if method == "client_secret_post":
        secret = secrets.token_urlsafe(96)
    return OAuthApp(
        client_id="".join(secrets.choice(_CLIENT_ID_CHARACTERS) for _ in range(40)),
        name=name,
        redirect_uris=redirect_uris,
        kind="dcr",
        auth_method=method,
        client_secret=secret,
        scopes=scopes,
        grant_types=list(grant_types),
    )


def registration_reply(app: OAuthApp) -> dict[str, Any]:
    """The 201 body of a registration."""
    reply: dict[str, Any] = {
        "client_id": app.client_id,
        "redirect_uris": app.redirect_uris,
        "grant_types": app.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": app.auth_method,
        "client_id_issued_at": app.issued_at,
    }
    if app.client_secret is not None:
        reply["client_secret"] = app.client_secret
        reply["client_secret_expires_at"] = 0
    reply["client_name"] = app.name
    if app.scopes:
        reply["scope"] = " ".join(app.scopes)
    return reply


# Client ID metadata documents


def is_cimd_url(client_id: str, *, allow_http_loopback: bool = False) -> bool:
    """Whether a client_id names a metadata document: https, a non-root path, nothing else.

    Args:
        client_id: the client_id of a request.
        allow_http_loopback: also take ``http://`` loopback URLs (the emulator's testing
            affordance: offline tests cannot serve https).
    """
    try:
        parts = urlsplit(client_id)
    except ValueError:
        return False
    secure = parts.scheme == "https" and bool(parts.hostname)
    local = allow_http_loopback and parts.scheme == "http" and _is_loopback(parts.hostname)
    return (
        (secure or local)
        and parts.path not in ("", "/")
        and not parts.query
        and not parts.fragment
        and "@" not in parts.netloc
        and "#" not in client_id
        and "?" not in client_id
    )


def cimd_app(client_id: str, document: Any) -> OAuthApp:
    """The app a client ID metadata document describes; raises `RegistrationError`."""
    if not isinstance(document, dict):
        raise RegistrationError("invalid_client", "The client metadata document is not an object.")
    if document.get("client_id") != client_id:
        raise RegistrationError(
            "invalid_client",
            "The client metadata document's client_id does not match the URL it was fetched from.",
        )
    uris = document.get("redirect_uris")
    if (
        not isinstance(uris, list)
        or not uris
        or not all(isinstance(uri, str) and uri and not re.search(r"\s", uri) for uri in uris)
    ):
        raise RegistrationError(
            "invalid_client", "The client metadata document needs a non-empty redirect_uris list."
        )
    method = document.get("token_endpoint_auth_method", "none")
    if method not in ("none", "private_key_jwt"):
        raise RegistrationError(
            "invalid_client",
            "The client metadata document's token_endpoint_auth_method must be 'none' or "
            "'private_key_jwt'.",
        )
    try:
        name = _client_name(document.get("client_name"), default="CIMD Client")
    except RegistrationError:
        name = "CIMD Client"
    declared = document.get("com.posthog.scopes") or []
    scopes = filter_to_unprivileged(declared.split() if isinstance(declared, str) else declared)
    # A private_key_jwt client stays public unless it is a provisioning partner.
    return OAuthApp(
        client_id=client_id, name=name, redirect_uris=list(uris), kind="cimd", scopes=scopes
    )
