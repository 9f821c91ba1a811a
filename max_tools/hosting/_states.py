"""What a client remembers between one user's requests, kept per user under a digest.

A cancel, an approval seen, a decision being sent (`ClientState`) must hold for the next request
of the same user, which gets a new client. The memory is found by the SHA-256 of the host,
project and credential, so no key is kept; the least recently seen users are forgotten first.
Replicas do not share it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from max_tools import ClientState

__all__ = ["ClientStates"]

USERS_REMEMBERED = 10_000  # conversation memories kept, one per recent user


class ClientStates:
    """Each user's `ClientState`, by digest, bounded (least recently used go first).

    Args:
        limit: how many users' memories are kept.
    """

    def __init__(self, *, limit: int = USERS_REMEMBERED) -> None:
        self._limit = limit
        self._states: OrderedDict[str, ClientState] = OrderedDict()  # per user, newest last

    def __len__(self) -> int:
        return len(self._states)

    def state_of(self, host: str, project: str, user: str) -> ClientState:
        """The memory of `user` (a credential, or a token's digest) on `host` and `project`."""
        digest = hashlib.sha256(f"{host}\n{project}\n{user}".encode()).hexdigest()
        state = self._states.pop(digest, None) or ClientState()
        self._states[digest] = state
        if len(self._states) > self._limit:
            self._states.popitem(last=False)  # the user not seen for the longest time
        return state
