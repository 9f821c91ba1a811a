"""Checking PostHog sign-in tokens: self-introspection once, then a short cache by digest.

PostHog answers ``POST /oauth/introspect/`` with ``Authorization: Bearer <token>`` and
``token=<token>`` for the token's own holder, with no client credentials (reference
posthog-oauth.md section 3, Introspect): whether it is active, its scopes, the projects it may
use (``scoped_teams``), its expiry and its client. The facts are kept under the SHA-256 of the
token, never the token, for at most `CACHE_S` and never past the token's expiry, so a revoked
token stops working within that window (at once when PostHog refuses it on a call: the face
forgets it).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from max_tools.hosting._oauth import OAuthSettings

__all__ = [
    "CACHE_S",
    "INACTIVE_CACHE_S",
    "IntrospectionError",
    "TokenChecker",
    "TokenFacts",
    "token_digest",
]

CACHE_S = 300.0
"""How long a check stands (5 minutes): the longest a revoked token keeps working here. PostHog
itself looks a token up on every API call, so a revoked token fails there at once anyway."""
INACTIVE_CACHE_S = 60.0
"""An inactive answer stands this long: a token never turns active later, and a client that
repeats a dead token must not cost PostHog an introspection per request."""
_TOKENS_REMEMBERED = 10_000  # facts kept, one per recent token (least recently used go first)


class IntrospectionError(Exception):
    """PostHog could not be asked about a token (unreachable, or an answer that is not JSON)."""


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What PostHog says about an active token.

    Attributes:
        digest: SHA-256 of the token (hex): the user's identity here, and the cache key.
        scopes: the granted scopes.
        scoped_teams: the projects it may use; empty means every project of the user.
        expires_at: when it expires (seconds since the epoch), None if PostHog did not say.
        client_id: the OAuth client it was issued to.
        api_host: the PostHog host its API calls go to (its region's).
    """

    digest: str
    scopes: frozenset[str]
    scoped_teams: tuple[int, ...]
    expires_at: float | None
    client_id: str
    api_host: str


def token_digest(token: str) -> str:
    """The SHA-256 of a token, in hex: what is kept in its place."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenChecker:
    """Introspects tokens at PostHog and remembers the answers for a while (bounded, LRU)."""

    def __init__(self, settings: OAuthSettings, http_client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http_client
        self._cache: OrderedDict[str, tuple[TokenFacts | None, float]] = OrderedDict()

    async def check(self, token: str) -> TokenFacts | None:
        """The facts of an active token; None when PostHog says it is not active.

        Raises:
            IntrospectionError: no region could be asked.
        """
        digest = token_digest(token)
        now = self._settings.clock()
        cached = self._cache.get(digest)
        if cached is not None and now < cached[1]:
            self._cache.move_to_end(digest)
            return cached[0]
        facts = await self._introspect(token, digest)
        if facts is None:
            until = now + INACTIVE_CACHE_S
        else:
            until = now + CACHE_S
            if facts.expires_at is not None:
                until = min(until, facts.expires_at)
        self._cache[digest] = (facts, until)
        self._cache.move_to_end(digest)
        if len(self._cache) > _TOKENS_REMEMBERED:
            self._cache.popitem(last=False)
        return facts

    def forget(self, digest: str) -> None:
        """Drop what is known of a token (PostHog refused it): the next request asks again."""
        self._cache.pop(digest, None)

    async def _introspect(self, token: str, digest: str) -> TokenFacts | None:
        unreachable = 0
        for host in self._settings.api_hosts:
            try:
                answer = await self._http.post(
                    f"{host}/oauth/introspect/",
                    data={"token": token},
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = answer.json() if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                unreachable += 1
                continue
            if answer.status_code >= 500:
                unreachable += 1
                continue
            if isinstance(body, dict) and body.get("active") is True:
                return _facts(body, digest, host, self._settings.api_hosts)
        # Inactive only when every region could say so: a region that could not be asked may
        # be this user's, and a 401 would send them through sign-in again for nothing.
        if unreachable:
            raise IntrospectionError(
                f"PostHog ({', '.join(self._settings.api_hosts)}) could not be asked whether "
                "the sign-in token is valid; try again shortly."
            )
        return None


def _facts(body: dict[str, object], digest: str, host: str, hosts: tuple[str, ...]) -> TokenFacts:
    scope = body.get("scope")
    teams = body.get("scoped_teams")
    exp = body.get("exp")
    # PostHog's token responses name the region's API host; honour it when introspection does
    # too, but only among the hosts this deployment serves.
    base = body.get("posthog_base_url")
    api_host = base.rstrip("/") if isinstance(base, str) and base.rstrip("/") in hosts else host
    return TokenFacts(
        digest=digest,
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        scoped_teams=tuple(
            team for team in (teams if isinstance(teams, list) else []) if isinstance(team, int)
        ),
        expires_at=float(exp) if isinstance(exp, (int, float)) else None,
        client_id=str(body.get("client_id") or ""),
        api_host=api_host,
    )
