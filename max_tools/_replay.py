"""Replay de-duplication: which events of a resumed stream are new (pure, no I/O).

A reconnect to a running reply replays the run from PostHog's buffer, so events already
delivered come again; this decides, event by event, what to pass on.
"""

from __future__ import annotations

from collections import OrderedDict

from max_tools._events import MessageEvent, StreamEvent, UpdateEvent
from max_tools._messages import AIMessage, Message

__all__ = ["Replay"]

_RECENT_UPDATES = 1024
"""How many update events are remembered to drop their replays (bounded, so memory stays flat)."""


class Replay:
    """Tells events already delivered from new ones when a reconnect replays a run.

    A replay may start at the beginning of the run or, when PostHog already trimmed its buffer,
    part-way; finished messages are recognised by id, partial text by being a prefix of what was
    shown, and updates by their content.
    """

    def __init__(self) -> None:
        self.seen_ids: set[str] = set()
        self.replaying = False
        self._anchor: str | None = None
        self._partial = ""
        self._updates: OrderedDict[tuple[str | None, str | None, str], None] = OrderedDict()

    def restart(self) -> None:
        """A reconnect happened: what follows may repeat what was delivered."""
        self.replaying = True

    def accept(self, event: StreamEvent) -> bool:
        """Whether to deliver this event."""
        if isinstance(event, MessageEvent):
            return self._accept_message(event.message)
        if isinstance(event, UpdateEvent):
            key = (event.id, event.tool_call_id, repr(event.content))
            if key in self._updates:
                return False
            self._updates[key] = None
            if len(self._updates) > _RECENT_UPDATES:
                self._updates.popitem(last=False)
        return True

    def _accept_message(self, message: Message) -> bool:
        if message.id is None:
            if not isinstance(message, AIMessage):
                return True
            text = message.content
            if self.replaying:
                if not (self._partial and text.startswith(self._partial) and text != self._partial):
                    return False
                self.replaying = False
            elif self._partial and text and self._partial.startswith(text):
                return False
            self._partial = text
            return True
        if message.id in self.seen_ids:
            if message.id == self._anchor:
                self.replaying = False  # the replay caught up with what was delivered
            return False
        self.seen_ids.add(message.id)
        self._anchor = message.id
        self._partial = ""
        self.replaying = False
        return True
