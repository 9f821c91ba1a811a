"""Serving the emulator over real HTTP on loopback: in-process for tests, or from the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from max_tools.emulator._app import EmulatorApp
from max_tools.emulator._control import ConversationState, EmulatorStats, move_to_sandbox
from max_tools.emulator._oauth_control import apply as apply_oauth
from max_tools.emulator._oauth_control import oauth_state
from max_tools.serving import serve_asgi

__all__ = ["DEFAULT_KEY", "RunningEmulator", "serve", "serve_in_thread"]

DEFAULT_KEY = "phx_emulator_key"
"""A key the default emulator accepts (any `phx_` key works)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RunningEmulator:
    """An emulator serving on loopback: where it is, and the testing interface to steer it.

    The methods are safe to call from the test's code whichever way the emulator is served
    (`serve` on the same event loop, or `serve_in_thread` from another thread). The same
    steering is available over HTTP under ``/_emulator/`` (see the package docs).
    """

    app: EmulatorApp
    host: str
    port: int
    _portal: BlockingPortal | None = field(default=None, repr=False, compare=False)

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

    def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        if self._portal is None:
            return function(*args)
        return self._portal.call(function, *args)

    # Runs

    def hold(self) -> None:
        """Make runs stop before they write their answer (they stay ``in_progress``)."""
        self._call(self.app.faults.hold)

    def release(self) -> None:
        """Let held runs write their answers."""
        self._call(self.app.faults.release)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold runs for as long as the block lasts; they are released however it ends."""
        self.hold()
        try:
            yield
        finally:
            self.release()

    # Faults

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Set faults, as a POST to ``/_emulator/faults`` does; returns every switch's state.

        For example ``set_faults(status=503, count=2)`` or ``set_faults(drop_after_events=3)``.
        Raises ValueError naming what is wrong.
        """
        self._call(self.app.faults.apply, faults)
        return self.fault_state()

    def reset_faults(self) -> dict[str, Any]:
        """Forget pending faults, restore the start-up switches and release held runs."""
        self._call(self.app.faults.reset)
        return self.fault_state()

    def fault_state(self) -> dict[str, Any]:
        """Every fault switch and its value (GET ``/_emulator/faults``)."""
        return self._call(self.app.faults.state)

    # Sign in with PostHog

    def set_oauth(self, **switches: Any) -> dict[str, Any]:
        """Set the OAuth switches, as a POST to ``/_emulator/oauth`` does; returns the state.

        For example ``set_oauth(auto_consent=True, user_key="phx_other", project=2)`` or
        ``set_oauth(advance_clock_s=3600)``. Raises ValueError naming what is wrong.
        """
        self._call(apply_oauth, self.app.oauth, switches)
        return self.oauth_state()

    def oauth_state(self) -> dict[str, Any]:
        """The OAuth switches and how many apps, codes and tokens exist."""
        return self._call(oauth_state, self.app.oauth)

    # What the emulator holds

    def conversation(self, conversation_id: str) -> ConversationState:
        """A conversation's stored state: status, every message, queue, readers of its run.

        Raises LookupError when the emulator has no such conversation.
        """
        state = self._call(self.app.conversation, conversation_id)
        if state is None:
            raise LookupError(f"The emulator has no conversation {conversation_id}.")
        return state

    def delete_key(self, key: str) -> None:
        """Delete a personal API key: later requests get PostHog's 401; open streams run on."""
        self._call(self.app.delete_key, key)

    def add_human_message(self, conversation_id: str, content: str) -> dict[str, Any]:
        """Store a human message in a conversation without starting a run; returns it."""
        return self._call(self.app.add_human_message, conversation_id, content)

    def move_to_sandbox(
        self, conversation_id: str, *, task: dict[str, Any] | None = None
    ) -> ConversationState:
        """Move a conversation to PostHog AI's sandbox runtime for good (reference 16.3).

        Create, reconnect and resume then answer PostHog's 400, retrieve shows
        ``agent_runtime: "sandbox"`` and `task` (the given object, or the chat's mirror task,
        whose latest run is then the sandbox run).
        Raises LookupError when there is no such conversation.
        """
        return self._call(move_to_sandbox, self.app, conversation_id, task)

    def stats(self) -> EmulatorStats:
        """Connections, peak requests in flight, conversations and running runs."""
        return self._call(self.app.stats)

    def running(self) -> list[str]:
        """The ids of conversations with a run going on."""
        return self.stats().running_conversations


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
        app, host=host, port=port, started=app.started, on_stop=app.faults.release
    ) as bound_port:
        yield RunningEmulator(app, host, bound_port)


@contextmanager
def serve_in_thread(app: EmulatorApp | None = None, **options: Any) -> Iterator[RunningEmulator]:
    """Serve an emulator from a background thread, for synchronous code and test suites.

    Steer it through the returned `RunningEmulator`'s methods (they run on the emulator's
    thread) or its control API, not through `app` directly: the app lives on the background
    thread's event loop.
    """
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(app, **options)) as running,
    ):
        yield RunningEmulator(running.app, running.host, running.port, portal)
