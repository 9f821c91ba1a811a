"""`SignedInKey`: the access token of a stored sign-in, refreshed when it ends or is refused.

The HTTP layer asks it for a token before each request (`fresh`: refreshed first when it ends
within a minute) and, when PostHog answers 401 to a token, asks for a new one once (`refresh`).
Refreshes in one process take turns under a lock per event loop; whoever gets the lock second
finds the token already new and uses it. Before calling PostHog, the stored sign-in is read again
(the file, and the keyring when it holds the tokens): another process (a second MCP server) may
have refreshed already.
"""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx

from max_tools import _oauth
from max_tools._secret import APIKey
from max_tools._signin import SignIn, SignInStore

__all__ = ["SignedInKey"]


class SignedInKey(APIKey):
    """The key of a PostHog sign-in (``max-tools login``): an access token that refreshes.

    Attributes:
        sign_in: the sign-in as last read or refreshed (its tokens hidden in reprs).
        store: where it is kept, and saved to after a refresh.
    """

    __slots__ = ("_guard", "_locks", "sign_in", "store")

    def __init__(self, sign_in: SignIn, store: SignInStore) -> None:
        super().__init__(sign_in.access_token.get_secret_value())
        self.sign_in = sign_in
        self.store = store
        self._guard = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[Any, anyio.Lock] = weakref.WeakKeyDictionary()

    def get_secret_value(self) -> str:
        """The current access token, for the Authorization header only."""
        return self.sign_in.access_token.get_secret_value()

    def secrets(self) -> list[str]:
        """Every token it holds, to scrub from anything shown."""
        refresh = self.sign_in.refresh_token
        found = [self.get_secret_value()]
        return found if refresh is None else [*found, refresh.get_secret_value()]

    def __repr__(self) -> str:
        return f"SignedInKey(host={self.sign_in.host!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SignedInKey) and other.sign_in.host == self.sign_in.host

    def __hash__(self) -> int:
        return hash(self.sign_in.host)

    async def fresh(self, http: httpx.AsyncClient) -> str:
        """The access token to send, refreshed first when it has ended or ends within a minute.

        Raises:
            SignInExpiredError: PostHog refused to refresh it; the person must sign in again.
            SignInError: PostHog could not be reached to refresh it.
        """
        token = self.get_secret_value()
        if self.sign_in.expiring():
            return await self.refresh(http, rejected=token)
        return token

    async def refresh(self, http: httpx.AsyncClient, *, rejected: str) -> str:
        """A new access token in place of `rejected` (refused by PostHog, or ending).

        Raises:
            SignInExpiredError: the sign-in is gone (logged out) or PostHog refused to refresh.
            SignInError: PostHog could not be reached to refresh it.
        """
        async with self._lock():
            if self.get_secret_value() != rejected:
                return self.get_secret_value()  # refreshed meanwhile, by another request
            # A keyring may block (an unlock prompt, D-Bus): never the event loop's thread.
            stored = await anyio.to_thread.run_sync(self.store.find, self.sign_in.host)
            if stored is None or not stored.matches(self.sign_in.host):
                raise _oauth.expired_error("use your PostHog sign-in")
            current = stored.access_token.get_secret_value()
            if current != rejected and not stored.expiring():
                self.sign_in = stored  # another process refreshed it
                return current
            if stored.refresh_token is None:
                raise _oauth.expired_error("refresh your PostHog sign-in")
            answer = await _oauth.refresh(
                http,
                stored.token_endpoint,
                client_id=stored.client_id,
                refresh_token=stored.refresh_token.get_secret_value(),
            )
            # back where it was read from
            self.sign_in = await anyio.to_thread.run_sync(self.store.save, updated(stored, answer))
            return self.get_secret_value()

    def _lock(self) -> anyio.Lock:
        """This event loop's lock (the sync client runs its own loop on a thread)."""
        loop = anyio.lowlevel.current_token().native_token  # the event loop itself
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = anyio.Lock()
            return lock


def updated(sign_in: SignIn, answer: _oauth.TokenResponse) -> SignIn:
    """`sign_in` with a refresh's answer: the new access token, its end, the scopes granted."""
    changes: dict[str, Any] = {
        "access_token": answer.access_token,
        "expires_at": expires_at(answer),
    }
    if answer.refresh_token:  # non-rotating clients get the same one back
        changes["refresh_token"] = answer.refresh_token
    if answer.scope:
        changes["scopes"] = answer.scope.split()
    return SignIn.model_validate({**sign_in.model_dump(), **changes})


def expires_at(answer: _oauth.TokenResponse) -> datetime:
    """When an access token ends (PostHog's DCR tokens last 7 days; an hour if it did not say)."""
    seconds = answer.expires_in if answer.expires_in is not None else 3600
    return datetime.now(UTC) + timedelta(seconds=seconds)
