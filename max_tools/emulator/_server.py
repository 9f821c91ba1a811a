"""Serving the emulator over real HTTP on loopback: in-process for tests, or from the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from anyio.from_thread import start_blocking_portal

from max_tools._serving import serve_asgi
from max_tools.emulator._app import EmulatorApp

__all__ = ["DEFAULT_KEY", "RunningEmulator", "serve", "serve_in_thread"]

DEFAULT_KEY = "phx_emulator_key"
"""A key the default emulator accepts (any `phx_` key works)."""


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
    async with serve_asgi(
        app, host=host, port=port, started=app.started, on_stop=app.engine.release
    ) as bound_port:
        yield RunningEmulator(app, host, bound_port)


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
