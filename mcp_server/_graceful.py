"""Stopping max-mcp gracefully over HTTP, in one process or in each uvicorn worker.

On SIGTERM or SIGINT the listening socket stays open until the requests in flight have
finished and a moment has passed without a new one (all within the grace period): the official
MCP client, once a tool call's result has arrived, asks for the tool list (to check the result
against the tool's output schema) before it hands the result over, on a new connection where
the old one was closed. A server that stopped accepting at the signal made that request fail,
and the client dropped the result of the call it had just received. Meanwhile `OpsMiddleware`
refuses new tool calls with 503 (a balancer or the client sends them elsewhere) and answers
/readyz with 503, and everything else is served: the continuation of a call in flight (a
2026-07-28 retry carrying requestState) included. Then uvicorn's own graceful shutdown runs,
with what is left of the grace period.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import anyio
import uvicorn
from uvicorn.supervisors import multiprocess

__all__ = ["GracefulServer", "GracefulWorkers", "let_streams_finish", "stopping"]

logger = logging.getLogger("mcp_server")

QUIET_S = 1.0
"""How long a stopping process goes on accepting after its last request ended: the official
client's follow-up (the tool list, after a result) comes within milliseconds of the result."""


class Stopping:
    """This process's stop: whether it has begun, and the requests it waits for.

    One per process, like the signal that starts it: the stopping server waits on it, the
    middleware of every app the process serves counts its requests in it.
    """

    def __init__(self) -> None:
        self.begun = False
        self.abandoned = False  # a second signal: stop waiting
        self.in_flight = 0
        self._changed: anyio.Event | None = None

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Count a request in flight while the block lasts."""
        self.in_flight += 1
        self._signal()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._signal()

    def abandon(self) -> None:
        """Stop waiting for requests (a second signal)."""
        self.abandoned = True
        self._signal()

    async def settled(self, quiet_s: float) -> None:
        """Return once no request is in flight and none has begun for `quiet_s` seconds."""
        while not self.abandoned:
            self._changed = changed = anyio.Event()
            if self.in_flight:
                await changed.wait()
                continue
            with anyio.move_on_after(quiet_s) as quiet:
                await changed.wait()
            if quiet.cancelled_caught:
                return

    def _signal(self) -> None:
        if self._changed is not None:
            self._changed.set()


stopping = Stopping()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, stopping as the module says: accepting until the calls settle.

    Args:
        config: uvicorn's configuration.
        grace_s: how long the stop may take, from the signal on.
    """

    def __init__(self, config: uvicorn.Config, grace_s: float) -> None:
        super().__init__(config)
        self.grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            stopping.begun = True
            logger.warning(
                "Stopping on %s: new tool calls get 503; requests in flight get up to %g s",
                signal.Signals(sig).name,
                self.grace_s,
            )
        elif self._loop is not None:  # a second signal: stop waiting for them
            self._loop.call_soon_threadsafe(stopping.abandon)
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Still accepting: answer what the clients of the calls in flight ask next.
        started = time.monotonic()
        with anyio.move_on_after(self.grace_s):
            await stopping.settled(QUIET_S)
        left = self.grace_s - (time.monotonic() - started)
        self.config.timeout_graceful_shutdown = max(0, math.ceil(left))
        await super().shutdown(sockets)


class _GracefulWorker(multiprocess.Process):
    """A uvicorn worker process whose server is a `GracefulServer`.

    Its grace period is the configuration's (whole seconds): uvicorn makes the worker with
    only the configuration and the sockets, and hands the worker to its process pickled.
    """

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            grace_s = float(self.config.timeout_graceful_shutdown or 0)
            self._server = GracefulServer(self.config, grace_s)
        return self._server


class GracefulWorkers(multiprocess.Multiprocess):
    """uvicorn's worker supervisor, whose workers stop like `GracefulServer`.

    The grace period is the configuration's ``timeout_graceful_shutdown``.
    """

    def run(self) -> None:
        # uvicorn makes its workers, at start and when one dies, by the name `Process` of its
        # module, with no factory to hand it another class: name ours there while it runs.
        original = multiprocess.Process
        multiprocess.Process = _GracefulWorker  # type: ignore[misc]  # the one seam uvicorn offers
        try:
            super().run()
        finally:
            multiprocess.Process = original  # type: ignore[misc]


def let_streams_finish() -> None:
    """Keep sse-starlette from ending event streams when a stop signal comes.

    A tool call answered as an event stream (the 2025-11-25 transport, and progress) would
    otherwise be cut the moment SIGTERM arrives; the graceful stop already waits for the
    requests in flight, up to the grace period, and then cancels what is left.
    """
    from sse_starlette.sse import AppStatus

    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]  # untyped in sse-starlette
