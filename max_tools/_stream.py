"""Reply streams: send a message or attach to a running reply, read typed events, resume.

PostHog's stream rules (reference sections 5 and 6) live here:

* an `ai` message without an id is the whole text so far of the message being written;
* a message with an id is finished; a reconnect replays the run, so ids are de-duplicated;
* the end of the body is the end of the run, including queued follow-ups run on the same response;
* a dropped connection does not stop the run: reconnect with `content: null` and a new trace id;
  once the run is over PostHog refuses that (400), and the result is read from the conversation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from max_tools._advice import advice
from max_tools._errors import (
    APIConnectionError,
    APIStatusError,
    BadRequestError,
    ConversationBusyError,
    NotFoundError,
    StreamError,
)
from max_tools._events import MessageEvent, StreamEvent, parse_event
from max_tools._http import HTTPCore
from max_tools._messages import HumanMessage, Message
from max_tools._models import Conversation
from max_tools._replay import Replay
from max_tools._reply import Reply, ReplyBuilder
from max_tools._sse import SSEEvent

__all__ = ["ReplyStream", "last_run_start"]

GetConversation = Callable[[str], Awaitable[Conversation]]
FindLanded = Callable[[Conversation], "int | None"]
"""Where in a conversation the messages of this stream's send start, if it got there."""


class ReplyStream:
    """The typed events of one reply; iterate it once with ``async for``.

    It resumes by itself when the connection drops, without sending the message again and
    without repeating text. `reply()` sums up what was received so far.
    """

    def __init__(
        self,
        http: HTTPCore,
        get_conversation: GetConversation,
        *,
        conversation_id: str,
        body: dict[str, Any],
        sending: bool,
        find_landed: FindLanded | None = None,
        builder: ReplyBuilder | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.trace_id: str = body["trace_id"]
        self._http = http
        self._get_conversation = get_conversation
        self._body = body
        self._sending = sending
        self._resuming = body.get("resume_payload") is not None
        self._find_landed = find_landed or self._own_message
        self._builder = builder or ReplyBuilder(conversation_id)
        self._replay = Replay()
        self._connection: AsyncExitStack | None = None
        self._events: AsyncGenerator[list[SSEEvent], None] | None = None
        self._catch_up: list[Message] | None = None
        self._iterator: AsyncGenerator[StreamEvent, None] | None = None

    def __aiter__(self) -> AsyncGenerator[StreamEvent, None]:
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def reply(self, *, running: bool = False) -> Reply:
        """What the events received so far amount to.

        Args:
            running: the caller stopped reading before the end (its time budget ran out), so
                the run goes on: the status is `in_progress`.
        """
        return self._builder.build(running=running)

    async def aclose(self) -> None:
        """Stop reading and close the connection; the run goes on at PostHog."""
        if self._iterator is not None:
            await self._iterator.aclose()
        await self._disconnect()

    @property
    def builder(self) -> ReplyBuilder:
        """What was received so far (a continuation stream can add to it)."""
        return self._builder

    @property
    def from_history(self) -> bool:
        """Whether the reply was read from the stored conversation (the run was over)."""
        return self._catch_up is not None

    @property
    def sending(self) -> bool:
        """Whether opening sends a message (or a resume payload) rather than only attaching."""
        return self._sending

    async def open(self) -> None:
        """Send the request that starts (or attaches to) the reply; once, however often called."""
        if self._events is None and self._catch_up is None:
            await self._connect(sending=self._sending)

    async def _disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection, self._events = self._connection, None, None
            await connection.aclose()

    def _doing(self, sending: bool) -> str:
        if sending:
            return f"send a message to conversation {self.conversation_id}"
        return f"follow the reply of conversation {self.conversation_id}"

    async def _connect(self, *, sending: bool) -> None:
        """Open the stream: afterwards `_events` or, if the run is over, `_catch_up` is set."""
        attempts = self._http.attempts()
        while True:
            if sending and attempts.maybe_landed:
                # An earlier attempt may have reached PostHog: never send the message twice.
                landed = await self._find_sent_message()
                if landed is not None:
                    conversation, index = landed
                    if not conversation.is_running:
                        self._finish_from(conversation, conversation.messages[index:])
                        return
                    sending = False
            body = self._body if sending else self._attach_body()
            doing = self._doing(sending)
            connection = AsyncExitStack()
            try:
                self._events = await connection.enter_async_context(
                    self._http.event_stream(body, doing=doing, sending_message=sending)
                )
            except APIConnectionError as error:
                delay = attempts.after_no_answer(request_sent=error.request_sent)
                if delay is None:
                    raise
                await self._http.pause(delay, why=str(error))
                continue
            except APIStatusError as refused:
                status_error = refused
                if sending and self._resuming and refused.status_code >= 500:
                    # A resume sent twice fails the run; whatever the 5xx, look before resending.
                    attempts.maybe_landed = True
            else:
                self._connection = connection
                return
            if (
                sending
                and attempts.maybe_landed
                and isinstance(status_error, ConversationBusyError)
            ):
                sending = False  # the earlier attempt landed and is running: attach to it
                continue
            if not sending and _is_idle_refusal(status_error):
                await self._finish_from_history()
                return
            if not sending and "non-existent" in (status_error.detail or ""):
                head = (
                    f"Could not follow conversation {self.conversation_id}: PostHog has no such "
                    "conversation (400: Cannot stream from non-existent conversation)."
                )
                raise NotFoundError(
                    f"{head} {advice('not_found')}",
                    status_code=status_error.status_code,
                    body=status_error.body,
                    code=status_error.code,
                    detail=status_error.detail,
                    situation="not_found",
                    head=head,
                )
            delay = attempts.after_status(status_error.status_code, status_error.retry_after)
            if delay is None:
                raise status_error
            await self._http.pause(delay, why=f"{status_error.status_code} answer")

    def _attach_body(self) -> dict[str, Any]:
        return {
            "content": None,
            "conversation": self.conversation_id,
            "trace_id": str(uuid.uuid4()),
        }

    async def _find_sent_message(self) -> tuple[Conversation, int] | None:
        """The conversation and where what we sent starts in it, if it got there."""
        try:
            conversation = await self._get_conversation(self.conversation_id)
        except NotFoundError:
            return None
        index = self._find_landed(conversation)
        return None if index is None else (conversation, index)

    def _own_message(self, conversation: Conversation) -> int | None:
        """Our human message (found by its trace id)."""
        for index in range(len(conversation.messages) - 1, -1, -1):
            message = conversation.messages[index]
            if isinstance(message, HumanMessage) and message.trace_id == self.trace_id:
                return index
        return None

    async def _finish_from_history(self) -> None:
        """The run is over: take what was not delivered from the stored conversation."""
        conversation = await self._get_conversation(self.conversation_id)
        messages = conversation.messages
        seen = [i for i, m in enumerate(messages) if m.id in self._replay.seen_ids]
        start = seen[-1] + 1 if seen else last_run_start(messages)
        self._finish_from(conversation, messages[start:])

    def _finish_from(self, conversation: Conversation, messages: list[Message]) -> None:
        if conversation.title:
            self._builder.title = conversation.title
        self._catch_up = messages

    async def _iterate(self) -> AsyncGenerator[StreamEvent, None]:
        drops = self._http.attempts()
        while True:
            if self._catch_up is not None:
                for message in self._catch_up:
                    stored = MessageEvent(message)
                    if message.id is not None and self._replay.accept(stored):
                        self._builder.add(stored)
                        yield stored
                return
            events = self._events
            if events is None:
                raise StreamError("The reply stream was used before it was opened.")
            delivered = False
            try:
                accept, add = self._replay.accept, self._builder.add
                async for batch in events:
                    for name, data in batch:
                        event = parse_event(name, data)
                        if accept(event):
                            delivered = True
                            add(event)
                            yield event
                await self._disconnect()
                return
            except APIConnectionError as error:
                if delivered:
                    drops.progressed()
                delay = drops.after_no_answer(request_sent=error.request_sent)
                if delay is None:
                    raise StreamError(
                        f"The reply stream of conversation {self.conversation_id} broke and "
                        f"could not be resumed ({error}). The run may still be going at PostHog: "
                        "follow it with wait(conversation_id)."
                    ) from error
                await self._disconnect()
                await self._http.pause(delay, why="the reply stream broke")
                await self._connect(sending=False)
                self._replay.restart()


def last_run_start(messages: list[Message]) -> int:
    """Where a conversation's last run starts: at its last human message (a resume's too)."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    return humans[-1] if humans else 0


def _is_idle_refusal(error: APIStatusError) -> bool:
    """PostHog's 400 for attaching to a conversation whose run is already over."""
    return isinstance(error, BadRequestError) and "idle" in (error.detail or "")
