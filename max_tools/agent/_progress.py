"""Progress while a reply is awaited: stream events become short, increasing notifications."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from max_tools._events import ConversationEvent, MessageEvent, StatusEvent, StreamEvent, UpdateEvent
from max_tools._messages import AIMessage, FailureMessage, HumanMessage, ToolResultMessage
from max_tools.agent._charts import visualization_summary

__all__ = ["PROGRESS_EVERY_S", "TEXT_EVERY_S", "Progress", "describe_event", "with_progress"]

logger = logging.getLogger("max_tools")
_T = TypeVar("_T")

PROGRESS_EVERY_S = 1.0
"""A progress notification at least this often while waiting, even when nothing arrives."""

TEXT_EVERY_S = 0.25
"""The growing text of an answer is passed on at most this often.

PostHog streams an answer a few words at a time (every chunk is the whole text so far); a
notification per chunk would cost hosts and a shared server hundreds of messages per reply.
Held text is not lost: the next chunk after the pause, the finished message or the
once-a-second heartbeat shows the newest words.
"""

Progress = Callable[[float, str], Awaitable[None]]
"""Awaited with (strictly increasing counter, message) while a reply is awaited."""


async def with_progress(progress: Progress | None, follow: Callable[..., Awaitable[_T]]) -> _T:
    """Await `follow(on_event=...)`: stream events become progress, ticking at least every second.

    `follow` is a client method that follows a run (`ask`, `wait`, `approve`, ...) with its
    other arguments bound.
    """
    if progress is None:
        return await follow(on_event=None)
    reporter = _Reporter(progress)
    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(reporter.tick)
            try:
                return await follow(on_event=reporter.event)
            finally:
                task_group.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # anyio wraps the body's error; hand it on as it was
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    raise AssertionError("unreachable: the task group either returned or raised")  # for mypy


class _Reporter:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._count = 0
        self._started = time.monotonic()
        self._last = self._started
        self._latest = "Waiting for PostHog AI"
        self._sent = ""
        self._text_at = -TEXT_EVERY_S
        self._writing = ""  # the text so far of the answer being written

    async def event(self, event: StreamEvent) -> None:
        message = describe_event(event)
        if message is None:
            return
        self._latest = message
        partial = event.message if isinstance(event, MessageEvent) and event.is_partial else None
        if isinstance(partial, AIMessage):
            text = partial.content
            now = time.monotonic()
            more_of_the_same = text.startswith(self._writing) and bool(self._writing)
            self._writing = text
            if more_of_the_same and now - self._text_at < TEXT_EVERY_S:
                return  # a new answer's first words always go out
            self._text_at = now
        await self._emit(message)

    async def tick(self) -> None:
        while True:
            await anyio.sleep(PROGRESS_EVERY_S - (time.monotonic() - self._last))
            if time.monotonic() - self._last >= PROGRESS_EVERY_S:
                waited = int(time.monotonic() - self._started)
                await self._emit(f"{self._latest} ({waited} s)")

    async def _emit(self, message: str) -> None:
        if message == self._sent:
            return
        self._sent = message
        self._count += 1
        self._last = time.monotonic()
        try:
            await self._progress(float(self._count), message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            logger.debug("Progress could not be sent; the client went away")


_PROGRESS_CHARS = 160


def _latest_words(text: str) -> str:
    """The end of a growing answer, since the newest words tell the host what is happening now.

    The cut falls after a space so no word is shown half, and the ellipsis says text was left out.
    """
    if len(text) <= _PROGRESS_CHARS:
        return text
    tail = text[-_PROGRESS_CHARS:]
    start = tail.find(" ")
    return "\u2026" + (tail[start + 1 :] if 0 <= start < len(tail) - 1 else tail)


def describe_event(event: StreamEvent) -> str | None:
    """A short progress line for a stream event (None for events not worth a line)."""
    if isinstance(event, MessageEvent):
        message = event.message
        if isinstance(message, AIMessage):
            text = " ".join(message.content.split())
            if message.tool_calls and message.id is not None:
                return f"PostHog AI is using {', '.join(c.name for c in message.tool_calls)}"
            return _latest_words(text) or "PostHog AI is thinking"
        if isinstance(message, HumanMessage):
            return "PostHog AI received the message"
        if isinstance(message, FailureMessage):
            return "PostHog AI reported a failure"
        if isinstance(message, ToolResultMessage):
            return "PostHog AI finished a step"
        return f"PostHog AI added {visualization_summary(message)}"
    if isinstance(event, UpdateEvent):
        return event.content if isinstance(event.content, str) else "PostHog AI is working"
    if isinstance(event, ConversationEvent):
        return (
            f"Conversation titled: {event.conversation.title}" if event.conversation.title else None
        )
    if isinstance(event, StatusEvent):
        return "PostHog AI is retrying a step"
    return None
