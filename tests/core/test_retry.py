"""The retry policy as a table: (attempt, outcome, safety) -> wait or give up."""

from __future__ import annotations

import random

import pytest

from max_tools._retry import MAX_RETRY_AFTER_S, Attempts, Outcome, Repeatable, retry_delay

ALWAYS, ONCE = Repeatable.ALWAYS, Repeatable.IF_NOT_RECEIVED
NOT_SENT, NO_ANSWER, STATUS = Outcome.NOT_SENT, Outcome.NO_ANSWER, Outcome.STATUS


RETRIED_EVEN_IF_IT_MAY_LAND = (429, 503)  # PostHog did not take the request in
RETRIED_IF_REPEATABLE = (502, 504)  # the gateway gave up; PostHog may have taken it in
NEVER_RETRIED = (400, 404, 409, 500)  # wrong, or failed at PostHog: sending again changes nothing


def status_rows() -> list[tuple[Repeatable, Outcome, int, None, bool]]:
    """Every status above, for both kinds of request, with whether the policy must retry it."""
    return [
        (repeatable, STATUS, status, None, retried_after(status, repeatable))
        for status in (*RETRIED_EVEN_IF_IT_MAY_LAND, *RETRIED_IF_REPEATABLE, *NEVER_RETRIED)
        for repeatable in (ALWAYS, ONCE)
    ]


def retried_after(status: int, repeatable: Repeatable) -> bool:
    if status in RETRIED_IF_REPEATABLE:
        return repeatable is ALWAYS
    return status in RETRIED_EVEN_IF_IT_MAY_LAND


@pytest.mark.parametrize(
    ("repeatable", "outcome", "status", "retry_after", "retried"),
    [
        (ALWAYS, NOT_SENT, None, None, True),
        (ONCE, NOT_SENT, None, None, True),
        (ALWAYS, NO_ANSWER, None, None, True),
        (ONCE, NO_ANSWER, None, None, False),
        *status_rows(),
        (ALWAYS, STATUS, 429, MAX_RETRY_AFTER_S, True),
        (ALWAYS, STATUS, 429, MAX_RETRY_AFTER_S + 1, False),
    ],
)
def test_what_is_retried(
    repeatable: Repeatable,
    outcome: Outcome,
    status: int | None,
    retry_after: float | None,
    retried: bool,
) -> None:
    delay = retry_delay(
        attempt=1,
        max_retries=3,
        repeatable=repeatable,
        outcome=outcome,
        status_code=status,
        retry_after=retry_after,
    )
    assert (delay is not None) is retried


def test_retry_after_is_honoured_exactly() -> None:
    delay = retry_delay(
        attempt=1, max_retries=3, repeatable=ALWAYS, outcome=STATUS, status_code=429, retry_after=7
    )
    assert delay == 7


def test_no_retry_after_the_last_allowed_attempt() -> None:
    assert retry_delay(attempt=4, max_retries=3, repeatable=ALWAYS, outcome=NOT_SENT) is None
    assert retry_delay(attempt=1, max_retries=0, repeatable=ALWAYS, outcome=NOT_SENT) is None


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.25, 0.5), (2, 0.5, 1.0), (3, 1.0, 2.0), (9, 4.0, 8.0)]
)
def test_backoff_doubles_with_jitter_and_is_capped(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)  # noqa: S311 - seeded jitter for a repeatable test
    delays = [
        retry_delay(attempt=attempt, max_retries=10, repeatable=ALWAYS, outcome=NOT_SENT, rng=rng)
        for _ in range(200)
    ]
    assert all(d is not None and low <= d <= high for d in delays)
    assert len(set(delays)) > 100  # jittered, so many clients do not retry in lockstep


def test_attempts_give_up_after_the_retries_allowed_and_remember_a_possible_landing() -> None:
    attempts = Attempts(max_retries=2, repeatable=Repeatable.ALWAYS)

    assert attempts.after_no_answer(request_sent=False) is not None
    assert not attempts.maybe_landed
    assert attempts.after_status(502, None) is not None
    assert attempts.maybe_landed
    assert attempts.after_no_answer(request_sent=False) is None


def test_attempts_never_repeat_a_send_that_may_have_landed() -> None:
    attempts = Attempts(max_retries=3, repeatable=Repeatable.IF_NOT_RECEIVED)

    assert attempts.after_no_answer(request_sent=True) is None
    assert attempts.maybe_landed


def test_attempts_count_afresh_once_a_resumed_stream_progressed() -> None:
    attempts = Attempts(max_retries=1, repeatable=Repeatable.ALWAYS)

    assert attempts.after_no_answer(request_sent=True) is not None
    attempts.progressed()
    assert attempts.after_no_answer(request_sent=True) is not None
    assert attempts.after_no_answer(request_sent=True) is None
