"""The body of a stream response: a run's log, read from where a new reader starts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from max_tools.emulator._engine import RunLog
from max_tools.emulator._faults import Faults
from max_tools.emulator._wire import KEEPALIVE

__all__ = ["DropConnection", "read_log"]


class DropConnection(Exception):
    """Raised inside a streaming body to cut the connection without ending the response."""


async def read_log(
    log: RunLog, *, drop_after: int | None, keepalive_s: float, faults: Faults
) -> AsyncIterator[bytes]:
    """Yield the log's frames as they come, keep-alives in silences, until the run is done.

    Args:
        log: the run's log.
        drop_after: cut the connection after this many events (a fault).
        keepalive_s: seconds of silence before a keep-alive comment.
        faults: read when the reader leaves, for ``trim_on_disconnect``.
    """
    sent = 0
    log.readers += 1
    index = log.start
    try:
        while True:
            if index < len(log.frames):
                yield log.frames[index]
                index += 1
                sent += 1
                if drop_after is not None and sent >= drop_after:
                    raise DropConnection
            elif log.done:
                return
            elif not await log.wait_past(index, keepalive_s):
                yield KEEPALIVE
    finally:
        log.readers -= 1
        if faults.trim_on_disconnect:
            # PostHog deletes a run's Redis stream when a reader finishes, so a reconnect
            # sees only what was written after this reader left.
            log.start = max(log.start, index)
