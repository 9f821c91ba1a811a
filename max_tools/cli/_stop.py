"""SIGTERM (a `timeout`, a supervisor) stops a command as Ctrl-C does: it detaches, exit 143.

The handler never raises. An exception raised from a signal handler lands on whatever line
runs at that moment: inside the event loop's own machinery, a task group, a `finally` that is
closing a stream, and what comes out is then not always the exception raised. Instead the
handler notes the signal and asks the event loop, from its own queue, to cancel the command's
cancel scope: the command unwinds at its next await like any cancellation, its shielded
clean-up runs, and whoever runs it reads `terminated` afterwards, wherever the signal landed.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

import anyio

__all__ = ["SigtermStop"]

T = TypeVar("T")


class SigtermStop:
    """Notes SIGTERM while installed; `run` runs a command that SIGTERM cancels."""

    def __init__(self) -> None:
        self.terminated = False
        self._cancel: Callable[[], None] | None = None

    @contextmanager
    def installed(self) -> Iterator[SigtermStop]:
        """While the block runs, SIGTERM is noted (and stops `run`) instead of ending Python."""
        if threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread can take signals
            return
        previous = signal.signal(signal.SIGTERM, self._noted)
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)

    async def run(self, command: Callable[[], Awaitable[T]]) -> T | None:
        """The command's result, or None when SIGTERM stopped it (or came before it began)."""
        loop = asyncio.get_running_loop()
        with anyio.CancelScope() as scope:

            def cancel() -> None:
                loop.call_soon_threadsafe(scope.cancel)

            # Registered before `terminated` is read: a signal between the two is seen by one.
            self._cancel = cancel
            try:
                if self.terminated:
                    return None
                return await command()
            finally:
                self._cancel = None
        return None  # cancelled by SIGTERM: only this class cancels the scope

    def _noted(self, signum: int, frame: FrameType | None) -> None:
        self.terminated = True
        cancel = self._cancel
        if cancel is not None:
            # Through the loop's queue (which also wakes it from select): never inside
            # whatever loop code the signal interrupted.
            cancel()
