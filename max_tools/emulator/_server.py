"""Serving the emulator over real HTTP on loopback: in-process for tests, or from the CLI."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from anyio.from_thread import start_blocking_portal

from max_tools.emulator._app import EmulatorApp

__all__ = ["DEFAULT_KEY", "RunningEmulator", "serve", "serve_in_thread"]

DEFAULT_KEY = "phx_emulator_key"
"""A key the default emulator accepts (any `phx_` key works)."""

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RunningEmulator:
    """An emulator serving on loopback: where it is and how to steer it."""

    app: EmulatorApp
    host: str
    port: int

    @property
    def url(self) -> str:
        """The base URL to use as POSTHOG_HOST."""
        return f"http://{self.host}:{self.port}"

    def env(self, key: str = DEFAULT_KEY) -> dict[str, str]:
        """Environment variables that point a client at this emulator."""
        return {
            "POSTHOG_HOST": self.url,
            "POSTHOG_PERSONAL_API_KEY": key,
            "POSTHOG_PROJECT_ID": str(self.app.current_project_id),
        }


@asynccontextmanager
async def serve(
    app: EmulatorApp | None = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[RunningEmulator]:
    """Serve an emulator on `host:port` (0: a free port) for as long as the block lasts.

    Args:
        app: the app to serve; by default one made from `options` (see `EmulatorApp`).
        host: the address to bind (loopback by default).
        port: the port; 0 picks a free one.
        **options: passed to `EmulatorApp` when `app` is None.
    """
    app = app or EmulatorApp(**options)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    stopped = anyio.Event()

    async def run() -> None:
        try:
            await server.serve([sock])
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(run)
            with anyio.fail_after(_START_TIMEOUT_S):
                await app.started.wait()
            try:
                yield RunningEmulator(app, host, bound_port)
            finally:
                # Stop uvicorn cleanly (finishing the lifespan) rather than canceling it.
                server.should_exit = True
                app.engine.release()
                with anyio.CancelScope(shield=True), anyio.move_on_after(_STOP_TIMEOUT_S):
                    await stopped.wait()
    except BaseExceptionGroup as group:  # hand the block's own error on as it was raised
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        sock.close()


@contextmanager
def serve_in_thread(app: EmulatorApp | None = None, **options: Any) -> Iterator[RunningEmulator]:
    """Serve an emulator from a background thread, for synchronous code and test suites.

    Steer it through its control API (`/_emulator/faults`), not through `app` directly: the app
    lives on the background thread's event loop.
    """
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(app, **options)) as running,
    ):
        yield running
