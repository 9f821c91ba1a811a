"""Serving an ASGI app with uvicorn on a pre-bound socket, for the emulator and max-mcp's HTTP.

Not part of the client: only the faces that serve HTTP use it (uvicorn comes with their extras).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

__all__ = ["bind_socket", "serve_asgi"]

_STOP_TIMEOUT_S = 5.0


def bind_socket(host: str, port: int, *, backlog: int = 1024) -> socket.socket:
    """A TCP socket bound to `host:port` (0 picks a free port) and listening, for uvicorn.

    Bound before the server starts, so connections wait in the backlog instead of being
    refused, and the port is known at once.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:  # the address is taken or not this machine's: no socket left open
        sock.close()
        raise
    sock.set_inheritable(True)  # uvicorn's worker processes accept on it too
    return sock


@asynccontextmanager
async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    started: anyio.Event | None = None,
    on_stop: Callable[[], None] | None = None,
    start_timeout_s: float = 30.0,
) -> AsyncIterator[int]:
    """Serve `app` on `host:port` (0 picks a free port) while the block lasts; yields the port.

    The socket is bound and listening before uvicorn starts, so connections wait in the backlog
    instead of being refused. On exit uvicorn is stopped cleanly (its lifespan finishes) rather
    than canceled, and an error raised in the block comes out as itself, not in a group.

    Args:
        app: the ASGI app.
        host: the address to bind.
        port: the port; 0 picks a free one.
        started: set by the app once it is ready (awaited, bounded, before yielding).
        on_stop: called before stopping (e.g. to release held work).
        start_timeout_s: how long `started` may take.
    """
    import uvicorn

    sock = bind_socket(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app, lifespan="on", log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
    )
    stopped = anyio.Event()

    async def run() -> None:
        try:
            await server.serve([sock])
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(run)
            if started is not None:
                with anyio.fail_after(start_timeout_s):
                    await started.wait()
            try:
                yield sock.getsockname()[1]
            finally:
                server.should_exit = True
                if on_stop is not None:
                    on_stop()
                with anyio.CancelScope(shield=True), anyio.move_on_after(_STOP_TIMEOUT_S):
                    await stopped.wait()
    except BaseExceptionGroup as group:  # hand the block's own error on as it was raised
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        sock.close()
