"""The catalogue of agent actions: one list that the MCP server and the LangChain tools render.

Each action has a name, a human title, a model-facing description, a pydantic parameters model
(whose field descriptions are what the model reads), safety flags, a result model, and a runner
that returns compact text plus structured data. Adapters stay thin: they translate arguments in
and results, progress and errors out.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from max_tools._arguments import MAX_APPEND_CHARS, MAX_MESSAGE_CHARS, QUEUE_ID
from max_tools._client import AsyncMaxClient, OnEvent
from max_tools._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConversationBusyError,
    InternalServerError,
    InvalidArgumentsError,
    MaxError,
    NotFoundError,
    PermissionDeniedError,
    QueueFullError,
    QueueNotRunningError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from max_tools._events import ConversationEvent, MessageEvent, StatusEvent, StreamEvent, UpdateEvent
from max_tools._messages import AIMessage, FailureMessage, HumanMessage
from max_tools._reply import Reply
from max_tools.agent._render import (
    AppendResult,
    CancelResult,
    ChatResult,
    ConversationListResult,
    ConversationView,
    DeleteResult,
    QueueResult,
    render_chat,
    render_conversation,
    render_conversation_list,
    render_queue,
    visualization_summary,
)

__all__ = [
    "ACTIONS",
    "MAX_WAIT_S",
    "Action",
    "ActionResult",
    "InvalidArgumentsError",
    "Progress",
    "describe_invalid_arguments",
    "explain_error",
    "input_schema",
    "parse_arguments",
    "select_actions",
]

logger = logging.getLogger("max_tools")
_T = TypeVar("_T")

MAX_WAIT_S = 55.0
"""Upper bound of `wait_s`: MCP hosts cut a tool call at about 60 s."""
DEFAULT_WAIT_S = 45.0
PROGRESS_EVERY_S = 1.0
"""A progress notification at least this often while waiting, even when nothing arrives."""

Progress = Callable[[float, str], Awaitable[None]]
"""Awaited with (strictly increasing counter, message) while a reply is awaited."""


# Parameters (their field descriptions are the text models read)

_CONVERSATION_ID = "Conversation id (UUID) from max_chat or max_list_conversations."
_WAIT_S = "Seconds to wait (0-55). If unfinished, status is in_progress; max_wait continues."
_QUEUE_ID_HELP = "queue_id from max_list_queue."


def _untitled(schema: dict[str, Any]) -> None:
    """Drop the titles pydantic derives from names: they repeat the name and cost tokens."""
    schema.pop("title", None)
    schema.pop("description", None)  # the model's docstring is for developers
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class _Params(BaseModel):
    model_config = ConfigDict(json_schema_extra=_untitled)

    @field_validator("conversation_id", mode="after", check_fields=False)
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError(
                "must be a conversation id (a UUID like 6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77); "
                "list conversations with max_list_conversations"
            ) from None

    @field_validator("message", mode="after", check_fields=False)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; write the message to send")
        return value

    @field_validator("queue_id", mode="after", check_fields=False)
    @classmethod
    def _queue_id(cls, value: str) -> str:
        if not QUEUE_ID.fullmatch(value.strip()):
            raise ValueError("must be a queue_id from max_list_queue")
        return value.strip()


class ChatParams(_Params):
    """Arguments of max_chat."""

    message: str = Field(
        description="The question or instruction for PostHog AI, in plain language.",
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
    )
    conversation_id: str | None = Field(
        default=None,
        description=(
            "Continue this conversation (a UUID from an earlier result); omit to start a new one."
        ),
    )
    agent_mode: str | None = Field(
        default=None,
        description=(
            "Optional PostHog AI mode, e.g. product_analytics, sql, session_replay, "
            "error_tracking, research. Omit for the default."
        ),
    )
    wait_s: float = Field(default=DEFAULT_WAIT_S, ge=0, le=MAX_WAIT_S, description=_WAIT_S)


class WaitParams(_Params):
    """Arguments of max_wait."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    wait_s: float = Field(default=DEFAULT_WAIT_S, ge=0, le=MAX_WAIT_S, description=_WAIT_S)


class ListParams(_Params):
    """Arguments of max_list_conversations."""

    limit: int = Field(default=20, ge=1, le=100, description="How many conversations (1-100).")
    offset: int = Field(default=0, ge=0, description="How many of the newest to skip (paging).")


class GetParams(_Params):
    """Arguments of max_get_conversation."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    last_messages: int = Field(
        default=20, ge=1, le=200, description="How many of the latest messages to show (1-200)."
    )


class ConversationParams(_Params):
    """Arguments of the actions that need only a conversation."""

    conversation_id: str = Field(description=_CONVERSATION_ID)


class AppendParams(_Params):
    """Arguments of max_append_message."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    message: str = Field(
        description="The assistant message to store (no reply is generated).",
        min_length=1,
        max_length=MAX_APPEND_CHARS,
    )


class QueueMessageParams(_Params):
    """Arguments of max_queue_message."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    message: str = Field(
        description="The follow-up to send when the current reply ends.",
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
    )


class UpdateQueuedParams(_Params):
    """Arguments of max_update_queued_message."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    queue_id: str = Field(description=_QUEUE_ID_HELP)
    message: str = Field(
        description="The new text of the queued follow-up.",
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
    )


class QueueItemParams(_Params):
    """Arguments of max_delete_queued_message."""

    conversation_id: str = Field(description=_CONVERSATION_ID)
    queue_id: str = Field(description=_QUEUE_ID_HELP)


# Results and the catalogue


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action returns: compact text for the model and structured data."""

    text: str
    data: BaseModel


Runner = Callable[[AsyncMaxClient, Any, Progress | None], Awaitable[ActionResult]]


@dataclass(frozen=True, slots=True)
class Action:
    """One agent action, as both adapters expose it."""

    name: str
    title: str
    description: str
    params: type[_Params]
    result: type[BaseModel]
    read_only: bool
    destructive: bool
    idempotent: bool
    run: Runner


# Runners


async def _chat(client: AsyncMaxClient, p: ChatParams, progress: Progress | None) -> ActionResult:
    cid = p.conversation_id or str(uuid.uuid4())

    async def ask(on_event: OnEvent) -> Reply:
        return await client.ask(
            p.message,
            conversation_id=cid,
            agent_mode=p.agent_mode,
            wait_s=p.wait_s,
            on_event=on_event,
        )

    try:
        reply = await _with_progress(progress, ask)
    except ConversationBusyError:
        try:
            queue = await client.queue_message(cid, p.message, agent_mode=p.agent_mode)
        except QueueNotRunningError:  # the earlier reply ended meanwhile: send it after all
            reply = await _with_progress(progress, ask)
        else:
            mine = [item for item in queue.messages if item.content == p.message]
            queue_id = mine[-1].id if mine else None
            text, data = render_chat(None, conversation_id=cid, queued=queue, queue_id=queue_id)
            return ActionResult(text, data)
    text, data = render_chat(reply, conversation_id=cid)
    return ActionResult(text, data)


async def _wait(client: AsyncMaxClient, p: WaitParams, progress: Progress | None) -> ActionResult:
    async def wait(on_event: OnEvent) -> Reply:
        return await client.wait(p.conversation_id, wait_s=p.wait_s, on_event=on_event)

    reply = await _with_progress(progress, wait)
    text, data = render_chat(reply, conversation_id=p.conversation_id)
    return ActionResult(text, data)


async def _list(client: AsyncMaxClient, p: ListParams, progress: Progress | None) -> ActionResult:
    page = await client.list_conversations(limit=p.limit, offset=p.offset)
    text, data = render_conversation_list(page, offset=p.offset)
    return ActionResult(text, data)


async def _get(client: AsyncMaxClient, p: GetParams, progress: Progress | None) -> ActionResult:
    conversation = await client.get_conversation(p.conversation_id)
    text, data = render_conversation(conversation, last_messages=p.last_messages)
    return ActionResult(text, data)


async def _append(
    client: AsyncMaxClient, p: AppendParams, progress: Progress | None
) -> ActionResult:
    message_id = await client.append_message(p.conversation_id, p.message)
    text = (
        f"conversation_id: {p.conversation_id}\nStored the assistant message (message_id: "
        f"{message_id}); PostHog AI did not run."
    )
    return ActionResult(
        text, AppendResult(conversation_id=p.conversation_id, message_id=message_id)
    )


async def _cancel(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    await client.cancel(p.conversation_id)
    text = (
        f"conversation_id: {p.conversation_id}\nCanceled: any running reply was stopped and the "
        "queue of follow-ups was cleared."
    )
    return ActionResult(text, CancelResult(conversation_id=p.conversation_id))


async def _list_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    queue = await client.get_queue(p.conversation_id)
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id))


async def _queue_message(
    client: AsyncMaxClient, p: QueueMessageParams, progress: Progress | None
) -> ActionResult:
    queue = await client.queue_message(p.conversation_id, p.message)
    what = "Queued; it runs when the current reply ends (follow it with max_wait)."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _update_queued(
    client: AsyncMaxClient, p: UpdateQueuedParams, progress: Progress | None
) -> ActionResult:
    queue = await client.update_queued_message(p.conversation_id, p.queue_id, p.message)
    what = f"Changed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _delete_queued(
    client: AsyncMaxClient, p: QueueItemParams, progress: Progress | None
) -> ActionResult:
    queue = await client.delete_queued_message(p.conversation_id, p.queue_id)
    what = f"Removed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _clear_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    queue = await client.clear_queue(p.conversation_id)
    return ActionResult(
        *render_queue(queue, conversation_id=p.conversation_id, what="Cleared the queue.")
    )


async def _delete(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    await client.delete_conversation(p.conversation_id)
    text = f"conversation_id: {p.conversation_id}\nDeleted the conversation."
    return ActionResult(text, DeleteResult(conversation_id=p.conversation_id))


ACTIONS: tuple[Action, ...] = (
    Action(
        name="max_chat",
        title="Ask PostHog AI",
        description=(
            "Ask PostHog AI (Max) a product-analytics question, or continue a conversation. "
            "Streams the reply for up to wait_s seconds and returns it with the conversation_id. "
            "If the reply "
            "is still being written, the result says in_progress: call max_wait with the same "
            "conversation_id. If the conversation is busy, the message is queued instead."
        ),
        params=ChatParams,
        result=ChatResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_chat,
    ),
    Action(
        name="max_wait",
        title="Wait for a PostHog AI reply",
        description=(
            "Follow a conversation whose reply is still being written (status in_progress or "
            "queued) until it finishes or wait_s runs out; returns the reply so far. Works from "
            "any process."
        ),
        params=WaitParams,
        result=ChatResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_wait,
    ),
    Action(
        name="max_list_conversations",
        title="List PostHog AI conversations",
        description=(
            "List your PostHog AI conversations, newest first: id, title, status and last update."
        ),
        params=ListParams,
        result=ConversationListResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_list,
    ),
    Action(
        name="max_get_conversation",
        title="Read a PostHog AI conversation",
        description=("Read a conversation: its status, title and its latest messages, compactly."),
        params=GetParams,
        result=ConversationView,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_get,
    ),
    Action(
        name="max_append_message",
        title="Store an assistant message",
        description=(
            "Store an assistant message in a conversation without running PostHog AI (for notes "
            "such as a ticket confirmation)."
        ),
        params=AppendParams,
        result=AppendResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_append,
    ),
    Action(
        name="max_cancel",
        title="Cancel a PostHog AI reply",
        description=(
            "Stop the reply being written in a conversation and clear its queued follow-ups. "
            "Harmless when nothing is running."
        ),
        params=ConversationParams,
        result=CancelResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=_cancel,
    ),
    Action(
        name="max_list_queue",
        title="List queued follow-ups",
        description=(
            "List the follow-up messages queued in a conversation (they run after the current "
            "reply)."
        ),
        params=ConversationParams,
        result=QueueResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_list_queue,
    ),
    Action(
        name="max_queue_message",
        title="Queue a follow-up",
        description=(
            "Queue a follow-up message to run when the current reply ends (at most 2 can wait)."
        ),
        params=QueueMessageParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_queue_message,
    ),
    Action(
        name="max_update_queued_message",
        title="Edit a queued follow-up",
        description=("Change the text of a queued follow-up before it runs."),
        params=UpdateQueuedParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=_update_queued,
    ),
    Action(
        name="max_delete_queued_message",
        title="Remove a queued follow-up",
        description=("Remove one queued follow-up so it never runs."),
        params=QueueItemParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_delete_queued,
    ),
    Action(
        name="max_clear_queue",
        title="Clear queued follow-ups",
        description=("Remove every queued follow-up of a conversation."),
        params=ConversationParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_clear_queue,
    ),
    Action(
        name="max_delete_conversation",
        title="Delete a PostHog AI conversation",
        description=(
            "Delete a conversation of yours. It disappears from lists and cannot be continued."
        ),
        params=ConversationParams,
        result=DeleteResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_delete,
    ),
)


def input_schema(action: Action) -> dict[str, Any]:
    """The JSON schema of an action's arguments, as both adapters publish it."""
    return action.params.model_json_schema()


def select_actions(*, read_only: bool = False, names: Sequence[str] | None = None) -> list[Action]:
    """The actions to expose: all, only read-only ones, and/or those named.

    Raises:
        ConfigurationError: a name is not an action.
    """
    known = {action.name: action for action in ACTIONS}
    if names is not None:
        wanted = [name.strip() for name in names if name.strip()]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ConfigurationError(
                f"Unknown tool name(s) {', '.join(unknown)}; the tools are {', '.join(known)}."
            )
        chosen = [action for action in ACTIONS if action.name in wanted]
    else:
        chosen = list(ACTIONS)
    return [action for action in chosen if action.read_only or not read_only]


def parse_arguments(action: Action, arguments: dict[str, Any]) -> _Params:
    """Validate tool arguments against the action's parameters.

    Raises:
        InvalidArgumentsError: one sentence naming each bad argument and what it needs.
    """
    try:
        return action.params.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidArgumentsError(describe_invalid_arguments(action.name, exc)) from None


def describe_invalid_arguments(tool: str, exc: ValidationError) -> str:
    """One sentence of ours naming each bad argument of `tool`, what it needs, what to do."""
    problems = [_problem(error) for error in exc.errors(include_url=False)]
    return f"Invalid arguments for {tool}: {'; '.join(problems)}. Correct and call {tool} again."


def _problem(error: Any) -> str:
    """What one validation error asks of the caller, in plain words (no validator jargon)."""
    where = ".".join(str(part) for part in error["loc"]) or "the arguments"
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    given = error.get("input")
    got = (
        f" (got {given!r})"
        if isinstance(given, int | float | str) and len(repr(given)) < 40
        else ""
    )
    if kind == "missing":
        return f"{where} is required"
    if kind == "extra_forbidden":
        return f"{where} is not an argument of this tool"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        most = "at most" if kind == "less_than_equal" else "below"
        return f"{where} must be {most} {_number(bound)}{got}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        least = "at least" if kind == "greater_than_equal" else "above"
        return f"{where} must be {least} {_number(bound)}{got}"
    if kind == "string_too_short":
        return f"{where} must not be empty"
    if kind == "string_too_long":
        return f"{where} must be at most {ctx.get('max_length', 0):,} characters"
    if kind in ("literal_error", "enum"):
        return f"{where} must be one of {ctx.get('expected', 'the listed values')}{got}"
    if kind == "value_error":  # our own validators: their message is already a sentence of ours
        return f"{where} {_plain(str(error['msg']))}"
    for prefix, need in _NEEDS:
        if kind.startswith(prefix):
            return f"{where} must be {need}{got}"
    return f"{where} is not valid{got}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_NEEDS = (
    ("string", "text"),
    ("int", "a whole number"),
    ("float", "a number"),
    ("decimal", "a number"),
    ("bool", "true or false"),
    ("dict", "an object"),
    ("model", "an object"),
    ("list", "a list"),
)


def _plain(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def explain_error(exc: BaseException) -> str | None:
    """One actionable sentence for an error the agent can act on; None for programming errors."""
    if isinstance(exc, InvalidArgumentsError | ConfigurationError):
        return str(exc)
    if isinstance(exc, QueueFullError):
        return (
            "The conversation already has 2 queued follow-ups (the most PostHog keeps); wait for "
            "the reply with max_wait, or remove one with max_delete_queued_message."
        )
    if isinstance(exc, QueueNotRunningError):
        return (
            "Nothing is running in this conversation to pick up a queued message; send it with "
            "max_chat."
        )
    if isinstance(exc, ConversationBusyError):
        return (
            "The conversation is busy answering an earlier message; follow it with max_wait, "
            "then send."
        )
    if isinstance(exc, RateLimitError):
        wait = (
            f"retry in {exc.retry_after:g} s"
            if exc.retry_after is not None
            else "retry in a minute"
        )
        return f"PostHog AI is rate limiting requests: {wait}."
    if isinstance(exc, NotFoundError):
        return (
            "Not found: no such conversation (or queued message) for this key and project; it may "
            "be deleted, another user's, or not titled yet. Check the id with "
            "max_list_conversations."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            "PostHog refused this action for this API key: append, cancel and the queue are "
            "refused "
            "to personal API keys with scopes; use a key without scopes, or chat and read only."
            if "Personal API Key" in (exc.detail or "") or "scopes" in str(exc)
            else "PostHog refused this action for this API key; check its scopes and project id."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "PostHog rejected the API key: check POSTHOG_PERSONAL_API_KEY, and that POSTHOG_HOST "
            "is the region the key belongs to (us or eu)."
        )
    if isinstance(exc, QuotaExceededError):
        return (
            "The PostHog organization has used up its AI credits; an admin can raise the limit "
            "in Billing."
        )
    if isinstance(exc, BadRequestError):
        return f"PostHog refused the request: {exc.detail or 'invalid request'}."
    if isinstance(exc, UnprocessableEntityError | InternalServerError):
        return f"PostHog could not do it right now ({exc.status_code}); try again in a moment."
    if isinstance(exc, APIStatusError):
        return f"PostHog answered {exc.status_code}: {exc.detail or 'unexpected status'}."
    if isinstance(exc, StreamError):
        return str(exc)
    if isinstance(exc, APIConnectionError):
        return str(exc)  # already says what failed and to check the network and POSTHOG_HOST
    if isinstance(exc, ValueError) and isinstance(exc, MaxError):
        return str(exc)
    return None


# Progress


async def _with_progress(progress: Progress | None, run: Callable[[OnEvent], Awaitable[_T]]) -> _T:
    """Run `run(on_event)`: stream events become progress, ticking at least every second."""
    if progress is None:
        return await run(_ignore_event)
    reporter = _Reporter(progress)
    try:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(reporter.tick)
            try:
                return await run(reporter.event)
            finally:
                task_group.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # anyio wraps the body's error; hand it on as it was
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    raise AssertionError("unreachable: the task group either returned or raised")  # for mypy


async def _ignore_event(event: StreamEvent) -> None:
    return None


class _Reporter:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._count = 0
        self._started = time.monotonic()
        self._last = self._started
        self._latest = "Waiting for PostHog AI"
        self._sent = ""

    async def event(self, event: StreamEvent) -> None:
        message = _describe(event)
        if message is not None:
            self._latest = message
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


def _describe(event: StreamEvent) -> str | None:
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
