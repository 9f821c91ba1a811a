"""Checking that a sent message took the place its task id names.

A task id says where its message stands in the conversation (`<conversation>~<n>`), and the SDK
needs it before the message is sent, so `_TurnIds` counts the conversation's messages first.
Another client (or replica) can send to the same context in between: while that run goes on,
PostHog answers this send 409 and the message is queued (not a task yet); once that run is over,
this message lands after it, one place later than counted. So the first thing PostHog streams
back, the echo of the message it stored, is checked against the conversation (one read) before
the task is announced; a message that landed elsewhere is told its real task id instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from a2a_server._tasks import TaskKey, human_turns, task_id_for
from max_tools import (
    AsyncMaxClient,
    AuthenticationError,
    ConversationEvent,
    HumanMessage,
    MaxError,
    MessageEvent,
    StreamEvent,
)

__all__ = ["PlaceCheck", "PlaceTaken"]

logger = logging.getLogger("a2a_server")

OnEvent = Callable[[StreamEvent], Awaitable[None] | None]


class PlaceTaken(Exception):
    """The message landed at another place than its task id said: its task is `task_id`."""

    def __init__(self, task_id: str) -> None:
        super().__init__(task_id)
        self.task_id = task_id


class PlaceCheck:
    """Passes stream events on, after checking the place of the message's echo (once).

    Args:
        client: reads the conversation.
        key: the task id the message was given.
        on_event: what takes the events (the relay).
    """

    def __init__(self, client: AsyncMaxClient, key: TaskKey, on_event: OnEvent) -> None:
        self._client = client
        self._key = key
        self._on_event = on_event
        self._checked = False
        self.heard = False
        """Whether PostHog streamed anything back (the message reached it)."""

    def event(self, event: StreamEvent) -> Awaitable[None] | None:
        """One stream event: the echo is checked first; everything is then passed on."""
        self.heard = True
        if not self._checked:
            if type(event) is ConversationEvent:
                # This send created the conversation: its message is the first one.
                self._checked = True
                if self._key.turn != 1:
                    raise PlaceTaken(task_id_for(self._key.conversation_id, 1))
            elif type(event) is MessageEvent and isinstance(event.message, HumanMessage):
                return self._check_then(event, event.message.id)
        return self._on_event(event)

    async def _check_then(self, event: StreamEvent, message_id: str | None) -> None:
        self._checked = True
        place = await self._place_of(message_id)
        if place is not None and place != self._key.turn:
            raise PlaceTaken(task_id_for(self._key.conversation_id, place))
        passed = self._on_event(event)
        if passed is not None:
            await passed

    async def _place_of(self, message_id: str | None) -> int | None:
        """Where the echoed message stands among the conversation's messages of people."""
        try:
            conversation = await self._client.get_conversation(self._key.conversation_id)
        except AuthenticationError:
            raise  # the executor asks for credentials
        except MaxError as exc:  # the id counted before the send stands
            logger.warning("Could not check the place of a message: %s", exc)
            return None
        turns = human_turns(conversation.messages)
        found = [n for n, i in enumerate(turns, 1) if conversation.messages[i].id == message_id]
        # Not stored yet: nothing else can land while this message's run goes on.
        return found[0] if found else len(turns) + 1
