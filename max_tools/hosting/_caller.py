"""Who is calling a hosted face: the client made for their credentials and what they may do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from max_tools import AsyncMaxClient
from max_tools.hosting._scopes import covers, missing_scope

__all__ = ["Caller"]


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """One request's caller: a client for their own credentials, for this request alone.

    Attributes:
        client: the client for the caller's key or sign-in token, host and project, over the
            face's shared pool and with the caller's memory (`ClientState`). Not to be closed:
            the pool outlives it.
        granted: the scopes a PostHog sign-in granted; None for a personal API key (PostHog
            checks that key's scopes on each call).
    """

    client: AsyncMaxClient
    granted: frozenset[str] | None = None
    _forget: Callable[[], None] = field(default=_nothing, compare=False, repr=False)

    @property
    def signed_in(self) -> bool:
        """Whether the caller signed in with PostHog (OAuth), rather than sending a key."""
        return self.granted is not None

    @property
    def read_only(self) -> bool:
        """Whether the caller may only read: a sign-in without ``conversation:write``."""
        return self.granted is not None and not covers(self.granted, "conversation:write")

    @property
    def can_query(self) -> bool:
        """Whether the caller may run queries (the chart action): ``query:read`` if signed in."""
        return self.granted is None or covers(self.granted, "query:read")

    def missing_scope(self, action: str) -> str | None:
        """The scope catalogue action `action` needs and the sign-in lacks; None if allowed."""
        return None if self.granted is None else missing_scope(action, self.granted)

    def allows(self, action: str) -> bool:
        """Whether the caller's credentials let them use catalogue action `action`."""
        return self.missing_scope(action) is None

    def forget_token(self) -> None:
        """Drop the cached check of the caller's sign-in token, after PostHog refused it.

        The next request with that token is checked again (and refused 401, which makes the
        client sign in again). Nothing for a personal API key.
        """
        self._forget()
