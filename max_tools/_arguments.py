"""Checks of the arguments the client sends, before anything goes to PostHog.

Each failure is an `InvalidArgumentsError` that names the argument, what it must be and what
was passed (shortened), so every face can show it as it is.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from max_tools._errors import InvalidArgumentsError

__all__ = [
    "MAX_APPEND_CHARS",
    "MAX_MESSAGE_CHARS",
    "QUEUE_ID",
    "conversation_id",
    "count",
    "message_options",
    "message_text",
    "preview",
    "queue_id",
    "seconds",
]

MAX_MESSAGE_CHARS = 40_000
"""PostHog's limit for a message and a queued message (`MessageSerializer`, max_length)."""
MAX_APPEND_CHARS = 10_000
"""PostHog's limit for append_message (`MessageMinimalSerializer`, max_length)."""
EXAMPLE_UUID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
SANDBOX_MODE = "sandbox"
"""The agent mode of PostHog AI's newer runtime: the conversations API refuses it (ref. 4.3)."""
QUEUE_ID = re.compile(r"^[A-Za-z0-9_~:-]{1,128}$")  # PostHog mints uuid4s; its route takes [^/.]+


def message_options(
    agent_mode: str | None,
    ui_context: dict[str, Any] | None,
    contextual_tools: dict[str, Any] | None,
    billing_context: dict[str, Any] | None,
    resume_payload: Any = None,
) -> dict[str, Any]:
    """The optional fields of a message body that were given (PostHog rejects explicit nulls)."""
    if agent_mode is not None and str(agent_mode).strip().lower() == SANDBOX_MODE:
        raise _invalid(
            "agent_mode",
            agent_mode,
            "a mode this API can run ('sandbox' is PostHog AI's newer runtime, which PostHog "
            "refuses here); leave it out, or use one such as product_analytics, sql or research",
        )
    optional = {
        "agent_mode": str(agent_mode) if agent_mode is not None else None,
        "ui_context": ui_context,
        "contextual_tools": contextual_tools,
        "billing_context": billing_context,
        "resume_payload": resume_payload,
    }
    return {key: value for key, value in optional.items() if value is not None}


def conversation_id(value: str | uuid.UUID) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    raise _invalid(
        "conversation_id", value, "a conversation id; expected a UUID like " + EXAMPLE_UUID
    )


def queue_id(value: str) -> str:
    if isinstance(value, str) and QUEUE_ID.fullmatch(value.strip()):
        return value.strip()
    raise _invalid("queue_id", value, "the id of a queued message, as the queue lists it")


def message_text(value: str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    if not isinstance(value, str):
        raise TypeError(f"The message must be a string, not {type(value).__name__}.")
    if not value.strip():
        problem = "the message is empty; PostHog does not accept blank messages"
    elif len(value) > limit:
        problem = (
            f"the message has {len(value):,} characters; PostHog accepts at most {limit:,}. "
            "Shorten it or split it"
        )
    else:
        return value
    raise InvalidArgumentsError(
        f"{problem[:1].upper()}{problem[1:]}.", argument="message", problem=problem
    )


def count(value: int, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(name, value, f"a whole number of {minimum} or more")
    return value


def seconds(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise _invalid("wait_s", value, "a number of seconds, 0 or more")
    return float(value)


def _invalid(argument: str, value: object, expected: str) -> InvalidArgumentsError:
    """`argument` must be `expected`: said for Python callers, and without the name for others."""
    got = preview(value)
    return InvalidArgumentsError(
        f"{argument} must be {expected}; got {got}.",
        argument=argument,
        problem=f"{got} is not {expected}",
    )


def preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
