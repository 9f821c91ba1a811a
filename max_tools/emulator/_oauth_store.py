"""What PostHog's OAuth tables hold: apps, authorization codes, access and refresh tokens.

Everything lives in memory (not in the emulator's state file): a restart signs everyone out.
Expiry follows the store's clock, real time plus an offset that tests move forward instead
of sleeping (``advance_clock_s`` on ``/_emulator/oauth``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from max_tools.emulator._oauth_clients import OAuthApp
from max_tools.emulator._store import User

__all__ = [
    "CODE_TTL_S",
    "AccessToken",
    "Code",
    "ConsentSwitch",
    "OAuthStore",
    "RefreshToken",
    "new_token",
]

CODE_TTL_S = 300  # AUTHORIZATION_CODE_EXPIRE_SECONDS
LONG_TTL_S = 604_800  # 7 days: DCR and CIMD clients, first-party apps (`_get_token_expires_in`)
SHORT_TTL_S = 3600  # ACCESS_TOKEN_EXPIRE_SECONDS: apps registered by hand
_BASE57 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_token(prefix: str) -> str:
    """`generate_random_token()` with a prefix: base57 of 256 bits whose top bit is set.

    The top bit makes every body exactly 44 characters long.
    """
    number = secrets.randbits(256) | (1 << 255)
    digits = []
    while number:
        number, digit = divmod(number, 57)
        digits.append(_BASE57[digit])
    return prefix + "".join(reversed(digits))


@dataclass(slots=True)
class Grant:
    """What the user consented to: whose token, which app, scopes and projects."""

    client_id: str
    user: User
    scopes: list[str]
    scoped_teams: list[int]
    scoped_organizations: list[str]


@dataclass(slots=True)
class Code:
    """An authorization code (`OAuthGrant`): single-use, 300 s."""

    grant: Grant
    redirect_uri: str
    code_challenge: str
    expires_at: float


@dataclass(slots=True)
class AccessToken:
    token: str
    grant: Grant
    expires_at: float
    refresh_token: str | None


@dataclass(slots=True)
class RefreshToken:
    token: str
    grant: Grant
    revoked_at: float | None = None


@dataclass(slots=True)
class ConsentSwitch:
    """The testing switch: /authorize consents at once, as `user`, for `project`."""

    on: bool = False
    user: User | None = None
    """Who signs in; None: the emulator's first user."""
    project: int | str | None = None
    """A project id, ``"all"`` (no restriction) or None (the current project)."""


@dataclass
class OAuthStore:
    """Every app, code and token, and the switches tests steer them with."""

    apps: dict[str, OAuthApp] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    cimd_documents: dict[str, object] = field(default_factory=dict)
    """Documents registered through the control API, served instead of fetching their URL."""
    consent: ConsentSwitch = field(default_factory=ConsentSwitch)
    access_token_ttl_s: int | None = None
    """Overrides every access token's lifetime (for refresh tests)."""
    clock_offset_s: float = 0.0
    wall_clock: Callable[[], float] = time.time

    def now(self) -> float:
        return self.wall_clock() + self.clock_offset_s

    def ttl_s(self, app: OAuthApp) -> int:
        if self.access_token_ttl_s is not None:
            return self.access_token_ttl_s
        return SHORT_TTL_S if app.kind == "registered" else LONG_TTL_S

    # Codes

    def issue_code(self, grant: Grant, redirect_uri: str, code_challenge: str) -> str:
        code = secrets.token_urlsafe(22)[:30]
        self.codes[code] = Code(grant, redirect_uri, code_challenge, self.now() + CODE_TTL_S)
        return code

    def take_code(self, code: str, client_id: str) -> Code | None:
        """The code's grant, used up; None when it is unknown, expired, used or not the app's."""
        found = self.codes.get(code)
        if found is None or found.grant.client_id != client_id:
            return None
        del self.codes[code]
        return found if found.expires_at > self.now() else None

    # Tokens

    def issue(self, app: OAuthApp, grant: Grant, refresh: str | None = None) -> AccessToken:
        """A new access token for a grant, with `refresh` or a new refresh token."""
        if refresh is None:
            refresh = new_token("phr_")
            self.refresh_tokens[refresh] = RefreshToken(refresh, grant)
        token = AccessToken(new_token("pha_"), grant, self.now() + self.ttl_s(app), refresh)
        self.access_tokens[token.token] = token
        return token

    def access(self, token: str) -> AccessToken | None:
        """The stored access token (expired ones too); None once revoked or unknown."""
        return self.access_tokens.get(token)

    def expired(self, token: AccessToken) -> bool:
        return token.expires_at <= self.now()

    def live_refresh(self, token: str, client_id: str) -> RefreshToken | None:
        found = self.refresh_tokens.get(token)
        if found is None or found.revoked_at is not None or found.grant.client_id != client_id:
            return None
        return found

    def revoke_session(self, user: User, client_id: str) -> int:
        """Delete every token and code of a (user, app) pair (`revoke_oauth_session`)."""

        def mine(grant: Grant) -> bool:
            return grant.user is user and grant.client_id == client_id

        removed = 0
        for table in (self.access_tokens, self.refresh_tokens, self.codes):
            for key in [key for key, row in table.items() if mine(row.grant)]:
                del table[key]
                removed += 1
        return removed

    def revoke_all(self, user: User | None = None) -> int:
        """Delete every token and code (of one user); returns how many went."""
        removed = 0
        for table in (self.access_tokens, self.refresh_tokens, self.codes):
            for key in [k for k, row in table.items() if user is None or row.grant.user is user]:
                del table[key]
                removed += 1
        return removed

    def counts(self) -> dict[str, int]:
        now = self.now()
        live = [token for token in self.access_tokens.values() if token.expires_at > now]
        return {
            "apps": len(self.apps),
            "codes": len(self.codes),
            "access_tokens": len(self.access_tokens),
            "live_access_tokens": len(live),
            "refresh_tokens": len(
                [t for t in self.refresh_tokens.values() if t.revoked_at is None]
            ),
        }
