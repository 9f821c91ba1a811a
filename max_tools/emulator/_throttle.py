"""PostHog's AI rate limits on sending messages (reference section 1.6), DRF-style."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Throttle", "Throttles", "throttled_detail"]

CHAT_DETAIL = (
    "You've reached PostHog AI's usage limit for the moment. Please try again {retry_after}."
)
RESEARCH_DETAIL = (
    "You've reached the usage limit for Research mode, which is currently in beta with limited "
    "capacity. Please try again {retry_after}, or switch to a regular conversation for "
    "continued access."
)


@dataclass(slots=True)
class Throttle:
    """DRF's `SimpleRateThrottle`: at most `limit` requests per `duration_s`, per user."""

    limit: int
    duration_s: float
    history: dict[int, list[float]] = field(default_factory=dict)

    def allow(self, user_id: int, now: float) -> float | None:
        """None when allowed (and counted); else DRF's `wait()` in seconds."""
        history = [t for t in self.history.get(user_id, []) if t > now - self.duration_s]
        self.history[user_id] = history
        if len(history) >= self.limit:
            remaining = self.duration_s - (now - history[-1])
            available = self.limit - len(history) + 1
            return remaining / available if available > 0 else remaining
        history.insert(0, now)
        return None


class Throttles:
    """The four AI throttles: chat 10/minute and 100/day; research 3/minute and 10/day."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.chat = (Throttle(10, 60), Throttle(100, 86_400))
        self.research = (Throttle(3, 60), Throttle(10, 86_400))

    def check(self, user_id: int, *, research: bool) -> tuple[float, str] | None:
        """None when allowed; else (wait in seconds, the 429 detail)."""
        now = self.clock()
        for throttle in self.research if research else self.chat:
            wait = throttle.allow(user_id, now)
            if wait is not None:
                return wait, throttled_detail(wait, research=research)
        return None


def throttled_detail(wait: float, *, research: bool) -> str:
    """The view's sentence plus DRF's "Expected available in N seconds."."""
    if wait < 60:
        retry_after = f"in {int(wait)} seconds"
    elif wait < 3600:
        retry_after = f"in {int(wait / 60)} minutes"
    else:
        retry_after = "later today"
    if research:
        detail = RESEARCH_DETAIL.format(retry_after=retry_after)
    else:
        detail = CHAT_DETAIL.format(retry_after=retry_after)
    seconds = math.ceil(wait)
    return f"{detail} Expected available in {seconds} second{'' if seconds == 1 else 's'}."
