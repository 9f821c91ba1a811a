"""`AsyncMaxClient`: one method per PostHog AI conversation action.

The client is PostHog's API: each method checks its arguments and makes its request. Following
a run to its settled end (the stream, open tool calls, chart numbers) is `_turn`'s; the queue,
the decisions on a paused run and the query API are mixins (`_queue`, `_decisions`, `_query`);
the streaming is `_stream`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

import anyio
import httpx

from max_tools._arguments import (
    MAX_APPEND_CHARS,
    MAX_MESSAGE_CHARS,
    count,
    message_options,
    message_text,
)
from max_tools._arguments import conversation_id as conversation_id_of
from max_tools._config import APIKey, Settings, resolve_settings
from max_tools._decisions import DecisionMethods
from max_tools._errors import (
    APIStatusError,
    ConfigurationError,
    InvalidArgumentsError,
)
from max_tools._http import DEFAULT_TIMEOUT, USER_AGENT, Created, HTTPCore, Sleep, parse_answer
from max_tools._interrupts import Approval
from max_tools._models import Conversation, ConversationPage, ConversationSummary
from max_tools._moved import refused_if_moved
from max_tools._query import QueryMethods
from max_tools._queue import QueueMethods
from max_tools._reply import Reply, ReplyBuilder, ReplyStatus
from max_tools._retry import Repeatable
from max_tools._stream import FindLanded, ReplyStream
from max_tools._turn import FollowOptions, OnEvent, Turns, reply_of

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "MAX_APPEND_CHARS",
    "MAX_MESSAGE_CHARS",
    "AsyncMaxClient",
    "ClientState",
    "FollowOptions",
    "OnEvent",
]

DEFAULT_MAX_RETRIES = 3


class ClientState:
    """What a client remembers about conversations between its calls.

    The approvals it saw waiting (a new message skips them: the reply says so), the
    conversations it canceled (their open tool calls are not answered), and one lock per
    conversation so that one decision is sent at a time. A client makes its own; give several
    clients of the same user one state (a server that makes a client per request does) so that
    they act as one client. It holds no key and no message text.
    """

    __slots__ = ("canceled", "paused", "resuming")

    def __init__(self) -> None:
        self.paused: dict[str, list[Approval]] = {}
        self.canceled: set[str] = set()
        self.resuming: dict[str, anyio.Lock] = {}


DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30
)
"""Keep every connection a burst opened: streams are long, so agents in parallel reuse them."""


class Configured:
    """What both clients share: `from_env`, the resolved settings, and a repr without the key."""

    _settings: Settings

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


class AsyncMaxClient(Configured, QueueMethods, DecisionMethods, QueryMethods):
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
        state: what the client remembers about conversations between calls (see
            `ClientState`); share one among clients of the same user that should act as one.

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
        state: ClientState | None = None,
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
        state = state or ClientState()
        self._paused = state.paused  # approvals seen waiting, by conversation
        self._canceled = state.canceled  # conversations this client canceled
        self._resuming = state.resuming  # one resume at a time, per conversation
        self._turns = Turns(
            get_conversation=self.get_conversation,
            open_stream=self._reply_stream,
            paused=self._paused,
            canceled=self._canceled,
        )
        self._http = HTTPCore(
            self._settings,
            client=http_client,
            timeout=resolved_timeout if not self._owns_client else None,
            max_retries=max_retries,
            sleep=sleep or anyio.sleep,
        )

    async def aclose(self) -> None:
        """Close the connection pool (unless the http client came from outside)."""
        if self._owns_client:
            await self._http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
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
            params["limit"] = count(limit, "limit", minimum=1)
        if offset is not None:
            params["offset"] = count(offset, "offset", minimum=0)
        doing = "list conversations"
        response = await self._http.request(
            "GET", "", params=params or None, doing=doing, repeatable=Repeatable.ALWAYS
        )
        return parse_answer(ConversationPage, response, doing)

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
        cid = conversation_id_of(conversation_id)
        doing = f"read conversation {cid}"
        response = await self._http.request(
            "GET", f"{cid}/", doing=doing, repeatable=Repeatable.ALWAYS
        )
        return parse_answer(Conversation, response, doing)

    async def delete_conversation(self, conversation_id: str | uuid.UUID) -> None:
        """Delete a conversation of yours (PostHog keeps it soft-deleted)."""
        cid = conversation_id_of(conversation_id)
        doing = f"delete conversation {cid}"
        await self._http.request(
            "DELETE", f"{cid}/", doing=doing, repeatable=Repeatable.ALWAYS, gone_ok_on_repeat=True
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
            on_event: called with each stream event as it arrives, to show progress (a
                coroutine function is awaited).

        Raises:
            ConversationBusyError: the conversation is still answering: queue the message
                with `queue_message` or `wait` for the reply first.
        """
        replies = self._reply_stream(
            message_text(message),
            conversation_id=conversation_id,
            agent_mode=agent_mode,
            ui_context=ui_context,
            contextual_tools=contextual_tools,
            billing_context=billing_context,
        )
        skipped = self._paused.pop(replies.conversation_id, [])
        self._canceled.discard(replies.conversation_id)
        reply = await self._turns.follow(replies, wait_s, on_event, new=conversation_id is None)
        return reply.model_copy(update={"skipped_approvals": skipped}) if skipped else reply

    async def wait(
        self,
        conversation_id: str | uuid.UUID,
        *,
        wait_s: float | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Follow a conversation's running reply until it ends or `wait_s` runs out.

        If no reply is running, the last one is read from the conversation. `on_event` is
        called with each stream event as it arrives (see `ask`).
        """
        replies = self._reply_stream(None, conversation_id=conversation_id_of(conversation_id))
        return await self._turns.follow(replies, wait_s, on_event)

    def last_reply(self, conversation: Conversation) -> Reply:
        """The reply a conversation's last run left, read from a conversation you already have.

        For a conversation that is not running it is what `wait(conversation.id, wait_s=0)`
        returns (the status, answer, messages and charts of the last run; an approval or a form
        waiting as ``needs_approval`` or ``needs_answer``), without asking PostHog anything. A
        running conversation's reply is ``in_progress`` with what PostHog stored so far: follow
        it with `wait` for the rest.

        Args:
            conversation: as `get_conversation` returned it.
        """
        reply = reply_of(conversation)
        if reply.status is ReplyStatus.NEEDS_APPROVAL:
            # Seen waiting, as `wait` records it: a new message then reports them skipped.
            self._paused[reply.conversation_id] = reply.approvals
        return reply

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
        find_landed: FindLanded | None = None,
        builder: ReplyBuilder | None = None,
    ) -> ReplyStream:
        if message is None and conversation_id is None:
            raise InvalidArgumentsError(
                "Pass a message, or a conversation_id to follow its running reply."
            )
        if message is not None:
            message = message_text(message)
        cid = str(uuid.uuid4()) if conversation_id is None else conversation_id_of(conversation_id)
        body: dict[str, Any] = {
            "content": message,
            "conversation": cid,
            "trace_id": str(uuid.uuid4()),
        }
        body.update(
            message_options(
                agent_mode=agent_mode,
                ui_context=ui_context,
                contextual_tools=contextual_tools,
                billing_context=billing_context,
                resume_payload=resume_payload,
            )
        )
        return ReplyStream(
            self._http,
            self.get_conversation,
            conversation_id=cid,
            body=body,
            sending=message is not None or resume_payload is not None,
            find_landed=find_landed,
            builder=builder,
        )

    async def append_message(self, conversation_id: str | uuid.UUID, content: str) -> str:
        """Store an assistant message in the conversation without running the agent.

        Returns:
            The new message's id.

        Raises:
            ConversationMovedError: the conversation moved to PostHog AI's newer runtime.
        """
        cid = conversation_id_of(conversation_id)
        doing = f"append a message to conversation {cid}"
        text = message_text(content, limit=MAX_APPEND_CHARS)
        async with refused_if_moved(self.get_conversation, cid, doing):
            response = await self._http.request(
                "POST",
                f"{cid}/append_message/",
                json={"content": text},
                doing=doing,
                repeatable=Repeatable.IF_NOT_RECEIVED,
                scoped_action=True,
            )
        created = parse_answer(Created, response, doing)
        return created.id

    async def cancel(self, conversation_id: str | uuid.UUID) -> None:
        """Stop the running reply and clear the queue (harmless when nothing runs).

        Raises:
            ConversationMovedError: the conversation moved to PostHog AI's newer runtime, whose
                runs this API cannot stop.
        """
        cid = conversation_id_of(conversation_id)
        self._canceled.add(cid)  # before the PATCH: a reply being read may end meanwhile
        doing = f"cancel conversation {cid}"
        try:
            async with refused_if_moved(self.get_conversation, cid, doing):
                await self._http.request(
                    "PATCH",
                    f"{cid}/cancel/",
                    doing=doing,
                    repeatable=Repeatable.ALWAYS,
                    scoped_action=True,
                )
        except APIStatusError as refused:
            if refused.status_code < 500:  # PostHog refused it: nothing was canceled
                self._canceled.discard(cid)
            raise
