"""Every fault switch of the emulator, in one place: its state, how to set it, how to reset it.

The control API (``/_emulator/faults``) and the Python API (`RunningEmulator.set_faults` and
friends) both go through `Faults`, so what one can set, the other can read and reset.
"""

from __future__ import annotations

from typing import Any

import anyio

__all__ = ["FAULT_KEYS", "Faults"]

_STATUSES = (429, 500, 502, 503, 504)
_STANDING = ("scoped_keys", "quota_exceeded", "throttle", "trim_on_disconnect", "mirror_tasks")
"""Switches that stay as set until changed or reset."""
_ONE_SHOT = ("unknown_events", "action_failure", "garble_utf8")
"""Switches that act once, on what comes next, then turn themselves off."""
FAULT_KEYS = frozenset(
    {"status", "retry_after", "count", "drop_after_events", "stall_s", "hold", "query_polls"}
    | set(_STANDING)
    | set(_ONE_SHOT)
)
"""The keys a faults body may carry."""


class Faults:
    """What goes wrong next, and the switches that stay set (see the README's fault table).

    Args:
        scoped_keys, quota_exceeded, throttle, trim_on_disconnect: the standing switches'
            values at start-up; `reset()` returns to them.
    """

    def __init__(
        self,
        *,
        scoped_keys: bool = False,
        quota_exceeded: bool = False,
        throttle: bool = False,
        trim_on_disconnect: bool = False,
    ) -> None:
        self._defaults = {
            "scoped_keys": scoped_keys,
            "quota_exceeded": quota_exceeded,
            "throttle": throttle,
            "trim_on_disconnect": trim_on_disconnect,
            "mirror_tasks": False,
        }
        self.statuses: list[tuple[int, float | None]] = []
        """Statuses the next API requests answer with, and their Retry-After, in order."""
        self.drop_after_events: int | None = None
        """The next stream response is cut after this many events."""
        self.stall_s: float | None = None
        """The next run waits this long before its first event (keep-alives meanwhile)."""
        self.unknown_events = False
        self.action_failure = False
        self.garble_utf8 = False
        self.scoped_keys = scoped_keys
        self.quota_exceeded = quota_exceeded
        self.throttle = throttle
        self.trim_on_disconnect = trim_on_disconnect
        self.mirror_tasks = False
        """PostHog's task mirror: each chat that runs gets an "Imported chat" task (16.1)."""
        self.query_polls = 1
        """Status reads that answer 202 before an asynchronous query completes (standing)."""
        self._released = anyio.Event()
        self._released.set()

    # Holding runs

    @property
    def held(self) -> bool:
        """Whether runs wait before writing their answer."""
        return not self._released.is_set()

    def hold(self) -> None:
        """Make runs wait before they write their answer, until `release()`."""
        if self._released.is_set():
            self._released = anyio.Event()

    def release(self) -> None:
        """Let held runs write their answers."""
        self._released.set()

    async def wait_released(self) -> None:
        """Return once runs are not held."""
        await self._released.wait()

    # Taking one-shot faults

    def take_status(self) -> tuple[int, float | None] | None:
        """The status the next request must fail with, if one is pending."""
        return self.statuses.pop(0) if self.statuses else None

    def take_drop_after_events(self) -> int | None:
        drop, self.drop_after_events = self.drop_after_events, None
        return drop

    def take_stall_s(self) -> float | None:
        stall, self.stall_s = self.stall_s, None
        return stall

    def take(self, switch: str) -> bool:
        """Whether the one-shot `switch` is on; it is off afterwards."""
        if switch not in _ONE_SHOT:
            raise ValueError(f"{switch!r} is not a one-shot fault; known: {list(_ONE_SHOT)}.")
        on = bool(getattr(self, switch))
        setattr(self, switch, False)
        return on

    # The control surface

    def apply(self, body: Any) -> None:
        """Apply a faults body (see the README); raises ValueError naming what is wrong.

        Nothing changes when any part of the body is wrong.
        """
        if not isinstance(body, dict) or not body:
            raise ValueError('Send a JSON object of faults, e.g. {"status": 503, "count": 2}.')
        unknown = sorted(set(body) - FAULT_KEYS)
        if unknown:
            raise ValueError(f"Unknown fault keys {unknown}; known: {sorted(FAULT_KEYS)}.")
        statuses: list[tuple[int, float | None]] = []
        if "status" in body:
            status = body["status"]
            if status not in _STATUSES:
                raise ValueError("'status' must be 429, 500, 502, 503 or 504.")
            count = int(_number(body.get("count", 1), "count", integer=True))
            retry_after = body.get("retry_after")
            if retry_after is not None:
                retry_after = _number(retry_after, "retry_after")
            statuses = [(status, retry_after)] * count
        drop: int | None = None
        stall: float | None = None
        if "drop_after_events" in body:
            drop = int(_number(body["drop_after_events"], "drop_after_events", integer=True))
        if "stall_s" in body:
            stall = _number(body["stall_s"], "stall_s")
        polls = self.query_polls
        if "query_polls" in body:
            polls = int(_number(body["query_polls"], "query_polls", integer=True))
        flags = {key: value for key, value in body.items() if key in {*_STANDING, *_ONE_SHOT}}
        for flag, value in {**flags, "hold": body.get("hold", False)}.items():
            if not isinstance(value, bool):
                raise ValueError(f"'{flag}' must be true or false.")

        self.statuses.extend(statuses)
        if "drop_after_events" in body:
            self.drop_after_events = drop
        if "stall_s" in body:
            self.stall_s = stall
        self.query_polls = polls
        for flag, value in flags.items():
            setattr(self, flag, value)
        if body.get("hold") is True:
            self.hold()
        elif body.get("hold") is False:
            self.release()

    def reset(self) -> None:
        """Forget every pending fault, restore the start-up switches and release held runs."""
        self.statuses.clear()
        self.drop_after_events = None
        self.stall_s = None
        self.query_polls = 1
        for flag in _ONE_SHOT:
            setattr(self, flag, False)
        for flag, value in self._defaults.items():
            setattr(self, flag, value)
        self.release()

    def state(self) -> dict[str, Any]:
        """Every switch and its value, as the control API shows them."""
        return {
            "pending_statuses": [{"status": s, "retry_after": r} for s, r in self.statuses],
            "drop_after_events": self.drop_after_events,
            "stall_s": self.stall_s,
            "query_polls": self.query_polls,
            **{flag: getattr(self, flag) for flag in (*_ONE_SHOT, *_STANDING)},
            "hold": self.held,
        }


def _number(value: Any, name: str, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        raise ValueError(f"'{name}' must be a {'whole ' if integer else ''}number, 0 or more.")
    return float(value)
