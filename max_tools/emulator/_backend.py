"""What the endpoints reach through the app: `Backend`, which `EmulatorApp` is.

The endpoint modules (`_conversations`, `_queue`, `_control`) take the app as their first
argument; they name it by this protocol rather than by `EmulatorApp`, so that the app imports
them and they never import the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from max_tools.emulator._engine import Engine
    from max_tools.emulator._faults import Faults
    from max_tools.emulator._oauth import OAuthServer
    from max_tools.emulator._store import Store
    from max_tools.emulator._throttle import Throttles

__all__ = ["Backend"]


class Backend(Protocol):
    """The emulator's state as the endpoints use it (see `EmulatorApp` for each part)."""

    faults: Faults
    store: Store
    engine: Engine
    throttles: Throttles
    keepalive_s: float
    oauth: OAuthServer
    connections_seen: set[tuple[str, int]]
    peak_requests_in_flight: int
    requests_served: int

    def add_human_message(self, conversation_id: str, content: str) -> dict[str, Any]:
        """Store a human message in a conversation, as if its user wrote it in PostHog's UI."""
        ...
