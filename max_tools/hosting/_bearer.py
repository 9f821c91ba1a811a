"""Reading the bearer credential of a request: a personal key, a sign-in token, or neither.

PostHog's credentials say what they are by their prefix: ``phx_`` a personal API key, ``pha_``
an OAuth access token (a sign-in), ``phc_`` a project token (public, for ingestion only).
"""

from __future__ import annotations

import re

from max_tools.hosting._answer import Refused
from max_tools.hosting._oauth import TOKEN_PREFIX

__all__ = ["PROJECT_TOKEN_PREFIX", "bearer_token", "personal_key"]

PROJECT_TOKEN_PREFIX = "phc_"  # noqa: S105 - a prefix, not a secret
# A personal API key as PostHog mints it: `phx_` and URL-safe characters (about 40 of them).
_PERSONAL_KEY = re.compile(r"phx_[A-Za-z0-9_-]{1,200}")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header value; None when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def personal_key(authorization: str | None) -> str:
    """The personal API key an ``Authorization`` header value carries.

    Raises:
        Refused: 401 for a missing header, another scheme, a sign-in or project token, or
            anything that is not shaped like a personal API key.
    """
    if not authorization:
        raise Refused(401, "Send your PostHog personal API key as Authorization: Bearer phx_...")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "Use Authorization: Bearer phx_... with your personal API key.")
    if token.startswith(TOKEN_PREFIX):
        raise Refused(
            401,
            "This server takes personal API keys (phx_...); it does not accept PostHog sign-in "
            "tokens (pha_...) unless sign-in with PostHog is on (max-mcp: --oauth).",
            error="invalid_token",
        )
    if token.startswith(PROJECT_TOKEN_PREFIX):
        raise Refused(
            401,
            "That is a project token (phc_...); send a personal API key (phx_...) instead.",
            error="invalid_token",
        )
    if not _PERSONAL_KEY.fullmatch(token):
        raise Refused(
            401,
            "The bearer token is not a PostHog personal API key: it must look like phx_... "
            "(letters, digits, _ and -).",
            error="invalid_token",
        )
    return token
