"""`AsyncMaxClient`: one method per PostHog AI conversation action."""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from max_tools._config import APIKey, Settings, resolve_settings
from max_tools._errors import APIError, ConfigurationError, InvalidArgumentsError
from max_tools._events import StreamEvent
from max_tools._http import DEFAULT_TIMEOUT, USER_AGENT, HTTPCore, Sleep
from max_tools._models import Conversation, ConversationPage, ConversationSummary, Queue
from max_tools._reply import Reply
from max_tools._retry import Repeatable
from max_tools._stream import ReplyStream

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "MAX_APPEND_CHARS",
    "MAX_MESSAGE_CHARS",
    "AsyncMaxClient",
    "OnEvent",
]

logger = logging.getLogger("max_tools")

DEFAULT_MAX_RETRIES = 3
MAX_MESSAGE_CHARS = 40_000
"""PostHog's limit for a message and a queued message (`MessageSerializer`, max_length)."""
MAX_APPEND_CHARS = 10_000
"""PostHog's limit for append_message (`MessageMinimalSerializer`, max_length)."""

OnEvent = Callable[[StreamEvent], Awaitable[None]]
"""A coroutine function that is awaited with each stream event (progress reporting)."""

DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30
)
"""Keep every connection a burst opened: streams are long, so agents in parallel reuse them."""

_QUEUE_ID = re.compile(r"^[A-Za-z0-9_~:-]{1,128}$")  # PostHog mints uuid4s; its route takes [^/.]+
_ModelT = TypeVar("_ModelT", bound=BaseModel)


class AsyncMaxClient:
    """Async client for PostHog AI conversations.

    Unset options come from the environment: ``POSTHOG_PERSONAL_API_KEY`` (or
    ``POSTHOG_API_KEY``), ``POSTHOG_HOST`` (default ``https://us.posthog.com``; ``us`` and
    ``eu`` work too) and ``POSTHOG_PROJECT_ID`` (default ``@current``).

    Args:
        api_key: a personal API key (``phx_...``).
        host: the PostHog app host, a region shorthand, or a self-hosted URL.
        project_id: the numeric project (environment) id, or ``@current``.
        timeout: seconds, or an ``httpx.Timeout``; by default connect 10 s and 60 s between
            bytes while reading.
        max_retries: how often a failed request that is safe to repeat is repeated.
        http_client: an ``httpx.AsyncClient`` to use (not closed by this client).
        sleep: the coroutine that waits between retries (tests pass one that does not sleep).

    Raises:
        ConfigurationError: a setting is missing or wrong.
    """

    def __init__(
        self,
        *,
        api_key: str | APIKey | None = None,
        host: str | None = None,
        project_id: int | str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        if max_retries < 0:
            raise ConfigurationError("max_retries must be 0 or more.")
        self._settings = resolve_settings(api_key=api_key, host=host, project_id=project_id)
        resolved_timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout) or timeout is None
            else httpx.Timeout(timeout)
        )
        self._owns_client = http_client is None
        if http_client is None:
            http_client = httpx.AsyncClient(
                timeout=resolved_timeout or DEFAULT_TIMEOUT,
                limits=DEFAULT_LIMITS,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        self._http_client = http_client
        self._http = HTTPCore(
            self._settings,
            client=http_client,
            timeout=resolved_timeout if not self._owns_client else None,
            max_retries=max_retries,
            sleep=sleep or anyio.sleep,
        )

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client configured from the environment; keyword options override it."""
        return cls(**options)

    @property
    def settings(self) -> Settings:
        """The resolved host, project id and (hidden) key."""
        return self._settings

    def __repr__(self) -> str:
        s = self._settings
        return f"{type(self).__name__}(host={s.host!r}, project_id={s.project_id!r})"

    async def aclose(self) -> None:
        """Close the connection pool (unless the http client came from outside)."""
        if self._owns_client:
            await self._http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # Conversations

    async def list_conversations(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> ConversationPage:
        """One page of your titled conversations, newest first.

        Args:
            limit: how many per page (PostHog's default is 100).
            offset: how many to skip.
        """
        params: dict[str, int] = {}
        if limit is not None:
            params["limit"] = _count(limit, "limit", minimum=1)
        if offset is not None:
            params["offset"] = _count(offset, "offset", minimum=0)
        doing = "list conversations"
        response = await self._http.request(
            "GET", "", params=params or None, doing=doing, repeatable=Repeatable.ALWAYS
        )
        return _parse(ConversationPage, response, doing)

    async def iter_conversations(
        self, *, page_size: int = 100
    ) -> AsyncGenerator[ConversationSummary, None]:
        """Every titled conversation of yours, newest first, page by page."""
        offset = 0
        while True:
            page = await self.list_conversations(limit=page_size, offset=offset)
            for conversation in page.results:
                yield conversation
            offset += len(page.results)
            if not page.results or page.next is None:
                return

    async def get_conversation(self, conversation_id: str | uuid.UUID) -> Conversation:
        """A conversation with its status, title and messages.

        Raises:
            NotFoundError: no such conversation in this project, or it has no title yet.
        """
        cid = _conversation_id(conversation_id)
        doing = f"read conversation {cid}"
        response = await self._http.request(
            "GET", f"{cid}/", doing=doing, repeatable=Repeatable.ALWAYS
        )
        return _parse(Conversation, response, doing)

    async def delete_conversation(self, conversation_id: str | uuid.UUID) -> None:
        """Delete a conversation of yours (PostHog keeps it soft-deleted)."""
        cid = _conversation_id(conversation_id)
        await self._http.request(
            "DELETE",
            f"{cid}/",
            doing=f"delete conversation {cid}",
            repeatable=Repeatable.ALWAYS,
            gone_ok_on_repeat=True,
        )

    # Messages and replies

    @asynccontextmanager
    async def stream(
        self,
        message: str | None,
        *,
        conversation_id: str | uuid.UUID | None = None,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
        resume_payload: Any = None,
    ) -> AsyncIterator[ReplyStream]:
        """Send a message and read the reply as typed events, as it is written.

        ``message=None`` with a conversation id attaches to the reply that is running (if the
        run is already over, its messages are read from the conversation). Without a
        conversation id a new conversation is started; its id is ``stream.conversation_id``.
        Leaving the block early detaches: the run goes on at PostHog.

        Raises:
            ConversationBusyError: the conversation is still answering an earlier message.
            APIStatusError: PostHog refused the message (a subclass per status).
            APIConnectionError: PostHog could not be reached.
        """
        replies = self._reply_stream(
            message,
            conversation_id=conversation_id,
            agent_mode=agent_mode,
            ui_context=ui_context,
            contextual_tools=contextual_tools,
            billing_context=billing_context,
            resume_payload=resume_payload,
        )
        try:
            await replies.open()
            yield replies
        finally:
            with anyio.CancelScope(shield=True):
                await replies.aclose()

    async def ask(
        self,
        message: str,
        *,
        conversation_id: str | uuid.UUID | None = None,
        agent_mode: str | None = None,
        wait_s: float | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Send a message and return the reply once it is complete, or when `wait_s` runs out.

        Args:
            message: the question.
            conversation_id: continue this conversation; a new one is started when None.
            agent_mode: e.g. ``product_analytics``, ``sql``, ``research``.
            wait_s: a time budget in seconds; when it runs out the reply comes back with
                status ``in_progress`` and the run goes on (follow it with `wait`).
            ui_context: PostHog UI context (dashboards, insights, ...).
            contextual_tools: context for front-end tools.
            billing_context: billing context (an invalid one is ignored by PostHog).
            on_event: awaited with each stream event as it arrives (to show progress).

        Raises:
            ConversationBusyError: the conversation is still answering: queue the message
                with `queue_message` or `wait` for the reply first.
        """
        replies = self._reply_stream(
            _message(message),
            conversation_id=conversation_id,
            agent_mode=agent_mode,
            ui_context=ui_context,
            contextual_tools=contextual_tools,
            billing_context=billing_context,
        )
        return await self._follow(replies, wait_s, on_event)

    async def wait(
        self,
        conversation_id: str | uuid.UUID,
        *,
        wait_s: float | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Follow a conversation's running reply until it ends or `wait_s` runs out.

        If no reply is running, the last one is read from the conversation. `on_event` is
        awaited with each stream event as it arrives.
        """
        replies = self._reply_stream(None, conversation_id=_conversation_id(conversation_id))
        return await self._follow(replies, wait_s, on_event)

    async def _follow(
        self, replies: ReplyStream, wait_s: float | None, on_event: OnEvent | None
    ) -> Reply:
        budget = math.inf if wait_s is None else _seconds(wait_s)
        deadline = anyio.current_time() + budget
        try:
            if replies.sending:
                # The budget bounds the waiting, never the send: a cancelled POST may or may not
                # have reached PostHog, so the message either goes out once here or this raises.
                await replies.open()
            with anyio.CancelScope(deadline=deadline) as scope:
                if not replies.sending:
                    await replies.open()
                async for event in replies:
                    if on_event is not None:
                        await on_event(event)
            return replies.reply(running=scope.cancelled_caught)
        finally:
            with anyio.CancelScope(shield=True):
                await replies.aclose()

    def _reply_stream(
        self,
        message: str | None,
        *,
        conversation_id: str | uuid.UUID | None,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
        resume_payload: Any = None,
    ) -> ReplyStream:
        if message is None and conversation_id is None:
            raise InvalidArgumentsError(
                "Pass a message, or a conversation_id to follow its running reply."
            )
        if message is not None:
            message = _message(message)
        cid = str(uuid.uuid4()) if conversation_id is None else _conversation_id(conversation_id)
        body: dict[str, Any] = {
            "content": message,
            "conversation": cid,
            "trace_id": str(uuid.uuid4()),
        }
        optional = {
            "agent_mode": str(agent_mode) if agent_mode is not None else None,
            "ui_context": ui_context,
            "contextual_tools": contextual_tools,
            "billing_context": billing_context,
            "resume_payload": resume_payload,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return ReplyStream(
            self._http,
            self.get_conversation,
            conversation_id=cid,
            body=body,
            sending=message is not None or resume_payload is not None,
        )

    async def append_message(self, conversation_id: str | uuid.UUID, content: str) -> str:
        """Store an assistant message in the conversation without running the agent.

        Returns:
            The new message's id.
        """
        cid = _conversation_id(conversation_id)
        doing = f"append a message to conversation {cid}"
        text = _message(content, limit=MAX_APPEND_CHARS)
        response = await self._http.request(
            "POST",
            f"{cid}/append_message/",
            json={"content": text},
            doing=doing,
            repeatable=Repeatable.IF_NOT_RECEIVED,
            scoped_action=True,
        )
        created = _parse(_Created, response, doing)
        return created.id

    async def cancel(self, conversation_id: str | uuid.UUID) -> None:
        """Stop the running reply and clear the queue (harmless when nothing runs)."""
        cid = _conversation_id(conversation_id)
        await self._http.request(
            "PATCH",
            f"{cid}/cancel/",
            doing=f"cancel conversation {cid}",
            repeatable=Repeatable.ALWAYS,
            scoped_action=True,
        )

    # The follow-up queue

    async def get_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """The follow-ups waiting for the running reply to end."""
        cid = _conversation_id(conversation_id)
        return await self._queue_request("GET", f"{cid}/queue/", f"read the queue of {cid}")

    async def queue_message(
        self,
        conversation_id: str | uuid.UUID,
        message: str,
        *,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
    ) -> Queue:
        """Queue a follow-up; it runs when the current reply ends (PostHog keeps at most 2).

        Raises:
            QueueFullError: two follow-ups are queued already.
            QueueNotRunningError: nothing is running that would pick it up; send it instead.
        """
        cid = _conversation_id(conversation_id)
        body: dict[str, Any] = {"content": _message(message)}
        optional = {
            "agent_mode": str(agent_mode) if agent_mode is not None else None,
            "ui_context": ui_context,
            "contextual_tools": contextual_tools,
            "billing_context": billing_context,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return await self._queue_request(
            "POST",
            f"{cid}/queue/",
            f"queue a message in {cid}",
            json=body,
            repeatable=Repeatable.IF_NOT_RECEIVED,
        )

    async def update_queued_message(
        self, conversation_id: str | uuid.UUID, queue_id: str, message: str
    ) -> Queue:
        """Change the text of a queued follow-up."""
        cid, qid = _conversation_id(conversation_id), _queue_id(queue_id)
        return await self._queue_request(
            "PATCH",
            f"{cid}/queue/{qid}/",
            f"edit queued message {qid} of {cid}",
            json={"content": _message(message)},
        )

    async def delete_queued_message(self, conversation_id: str | uuid.UUID, queue_id: str) -> Queue:
        """Remove one queued follow-up."""
        cid, qid = _conversation_id(conversation_id), _queue_id(queue_id)
        doing = f"remove queued message {qid} of {cid}"
        response = await self._http.request(
            "DELETE",
            f"{cid}/queue/{qid}/",
            doing=doing,
            repeatable=Repeatable.ALWAYS,
            scoped_action=True,
            gone_ok_on_repeat=True,
        )
        if response is None:  # an earlier attempt removed it
            return await self.get_queue(cid)
        return _parse(Queue, response, doing)

    async def clear_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """Remove every queued follow-up."""
        cid = _conversation_id(conversation_id)
        return await self._queue_request("POST", f"{cid}/queue/clear/", f"clear the queue of {cid}")

    async def _queue_request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        json: Any = None,
        repeatable: Repeatable = Repeatable.ALWAYS,
    ) -> Queue:
        response = await self._http.request(
            method, path, json=json, doing=doing, repeatable=repeatable, scoped_action=True
        )
        return _parse(Queue, response, doing)


class _Created(BaseModel):
    id: str


def _parse(model: type[_ModelT], response: httpx.Response | None, doing: str) -> _ModelT:
    if response is None:
        raise APIError(f"Could not {doing}: PostHog sent no answer to read.")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        content_type = response.headers.get("content-type", "no content type")
        raise APIError(
            f"Could not {doing}: PostHog answered {response.status_code} ({content_type}) with "
            f"something that is not a {model.__name__.lstrip('_')}. Check that POSTHOG_HOST "
            "points at PostHog itself."
        ) from exc


def _conversation_id(value: str | uuid.UUID) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    raise InvalidArgumentsError(
        f"conversation_id must be a conversation's UUID, like "
        f"'6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77'; got {_preview(value)}."
    )


def _queue_id(value: str) -> str:
    if isinstance(value, str) and _QUEUE_ID.fullmatch(value.strip()):
        return value.strip()
    raise InvalidArgumentsError(
        f"queue_id must be the id of a queued message (from get_queue); got {_preview(value)}."
    )


def _message(value: str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    if not isinstance(value, str):
        raise TypeError(f"The message must be a string, not {type(value).__name__}.")
    if not value.strip():
        raise InvalidArgumentsError("The message is empty; PostHog does not accept blank messages.")
    if len(value) > limit:
        raise InvalidArgumentsError(
            f"The message has {len(value):,} characters; PostHog accepts at most {limit:,}. "
            "Shorten it or split it."
        )
    return value


def _count(value: int, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentsError(
            f"{name} must be a whole number of at least {minimum}; got {value!r}."
        )
    return value


def _seconds(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InvalidArgumentsError(
            f"wait_s must be a number of seconds, 0 or more; got {value!r}."
        )
    return float(value)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
