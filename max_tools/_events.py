"""Typed events of a reply stream, parsed from PostHog's SSE `event:`/`data:` pairs."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from max_tools._messages import AIMessage, Message, parse_message
from max_tools._models import ConversationSummary

__all__ = [
    "ConversationEvent",
    "MessageEvent",
    "StatusEvent",
    "StreamEvent",
    "UnknownEvent",
    "UpdateEvent",
    "parse_event",
]

logger = logging.getLogger("max_tools")


@dataclass(slots=True)
class ConversationEvent:
    """The conversation row: sent first for a new conversation, again once it has a title."""

    conversation: ConversationSummary
    type: ClassVar[str] = "conversation"


@dataclass(slots=True)
class MessageEvent:
    """A message; finished when it has an id.

    Without an id it is an `ai` message still being written: its content is the whole text so
    far, to replace (never append to) the previous partial text.
    """

    message: Message
    type: ClassVar[str] = "message"

    @property
    def is_partial(self) -> bool:
        """Whether this is the text so far of a message still being written."""
        return self.message.id is None and isinstance(self.message, AIMessage)


@dataclass(slots=True)
class UpdateEvent:
    """Tool progress: `content` is a sentence, or a subagent's tool call as a dict."""

    id: str | None
    tool_call_id: str | None
    content: str | dict[str, Any] | None
    type: ClassVar[str] = "update"


@dataclass(slots=True)
class StatusEvent:
    """A generation status; PostHog forwards only `generation_error` (a step will be retried)."""

    status: str
    type: ClassVar[str] = "status"


@dataclass(slots=True)
class UnknownEvent:
    """An event this version does not know, or could not read; `data` is the JSON or the text."""

    event: str
    data: Any
    type: ClassVar[str] = "unknown"


StreamEvent = ConversationEvent | MessageEvent | UpdateEvent | StatusEvent | UnknownEvent


def parse_event(event: str, data: str | bytes) -> StreamEvent:
    """Turn one SSE event into a typed event; anything unreadable becomes an `UnknownEvent`.

    `data` may be the bytes as sent: messages are validated from them, not from a decoded copy.
    """
    try:
        return _parse(event, data)
    except ValueError:  # pydantic's ValidationError is one
        pass
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if text is not data and "\ufffd" in text:
        try:  # bytes that are not UTF-8: read them as a text decoder would have
            return _parse(event, text)
        except ValueError:
            pass
    logger.warning("Unreadable %r event in the reply stream; passing it on as unknown", event)
    return UnknownEvent(event, text)


def _parse(event: str, data: str | bytes) -> StreamEvent:
    if event == "message":
        return MessageEvent(parse_message(data))
    payload = json.loads(data)
    if event == "conversation":
        return ConversationEvent(ConversationSummary.model_validate(payload))
    if event == "update" and isinstance(payload, dict):
        content = payload.get("content")
        return UpdateEvent(
            id=payload.get("id"),
            tool_call_id=payload.get("tool_call_id"),
            content=content if isinstance(content, str | dict) else None,
        )
    if event == "status" and isinstance(payload, dict):
        return StatusEvent(str(payload.get("type", "")))
    return UnknownEvent(event, payload)
