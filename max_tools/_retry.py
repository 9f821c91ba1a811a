"""When to repeat a request, and how long to wait first: a pure function, tested with a table."""

from __future__ import annotations

import enum
import random

__all__ = ["MAX_RETRY_AFTER_S", "Attempts", "Outcome", "Repeatable", "retry_delay"]

MAX_RETRY_AFTER_S = 20.0
"""Longest Retry-After we wait out ourselves; a longer wait is the caller's decision."""

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


class Repeatable(enum.Enum):
    """How safe it is to send a request again."""

    ALWAYS = "always"
    """Repeating has no further effect (reads, cancel, clear, PATCH of a value, delete)."""

    IF_NOT_RECEIVED = "if_not_received"
    """Repeat only when the server surely did not act on it (never sent, 429, 503)."""


class Outcome(enum.Enum):
    """What became of one attempt, as far as retrying is concerned."""

    NOT_SENT = "not_sent"
    """Connecting failed or the pool had no connection: the request never left."""

    NO_ANSWER = "no_answer"
    """Sent, but the connection broke or timed out before an answer: it may have been acted on."""

    STATUS = "status"
    """An HTTP status came back."""


_RETRY_ALWAYS = frozenset({429, 502, 503, 504})
_NOT_ACTED_ON = frozenset({429, 503})  # throttled or turned away before the view ran


def retry_delay(
    *,
    attempt: int,
    max_retries: int,
    repeatable: Repeatable,
    outcome: Outcome,
    status_code: int | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before repeating, or None when the request must not be repeated.

    Args:
        attempt: how many attempts failed so far, counting this one (1 after the first).
        max_retries: how many repeats are allowed in all.
        repeatable: how safe a repeat is.
        outcome: what happened to this attempt.
        status_code: the status, when `outcome` is STATUS.
        retry_after: the server's Retry-After in seconds, if it sent one.
        rng: source of jitter (tests pass a seeded one).
    """
    if attempt > max_retries:
        return None
    if outcome is Outcome.STATUS:
        if status_code not in _RETRY_ALWAYS:
            return None
        if repeatable is Repeatable.IF_NOT_RECEIVED and status_code not in _NOT_ACTED_ON:
            return None
        if retry_after is not None:
            return retry_after if 0 <= retry_after <= MAX_RETRY_AFTER_S else None
    elif outcome is Outcome.NO_ANSWER and repeatable is Repeatable.IF_NOT_RECEIVED:
        return None
    backoff = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (attempt - 1))
    jitter: float = rng.random() if rng is not None else random.random()  # noqa: S311 - not crypto
    return backoff * (0.5 + jitter / 2)


class Attempts:
    """The one attempt policy: counts failed attempts and whether one may have landed.

    Every loop that repeats a request (plain requests, opening a reply stream, resuming a
    broken one) asks it how long to pause, or whether to give up.
    """

    def __init__(self, *, max_retries: int, repeatable: Repeatable) -> None:
        self.max_retries = max_retries
        self.repeatable = repeatable
        self.failed = 0
        self.maybe_landed = False
        """An attempt reached the server without an answer (or with 502/504): it may have acted."""

    def after_no_answer(self, *, request_sent: bool) -> float | None:
        """The pause before the next attempt after no answer came, or None to give up."""
        self.failed += 1
        outcome = Outcome.NO_ANSWER if request_sent else Outcome.NOT_SENT
        delay = self._delay(outcome)
        self.maybe_landed = self.maybe_landed or request_sent
        return delay

    def after_status(self, status_code: int, retry_after: float | None) -> float | None:
        """The pause before the next attempt after an error status, or None to give up."""
        self.failed += 1
        delay = self._delay(Outcome.STATUS, status_code, retry_after)
        self.maybe_landed = self.maybe_landed or status_code in (502, 504)
        return delay

    def progressed(self) -> None:
        """The last attempt got somewhere (a resumed stream delivered events): count afresh."""
        self.failed = 0

    def _delay(
        self, outcome: Outcome, status_code: int | None = None, retry_after: float | None = None
    ) -> float | None:
        return retry_delay(
            attempt=self.failed,
            max_retries=self.max_retries,
            repeatable=self.repeatable,
            outcome=outcome,
            status_code=status_code,
            retry_after=retry_after,
        )
