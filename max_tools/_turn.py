"""Following a run to its settled end: what a call that starts or joins a run returns.

`ask`, `wait` and the decisions on a paused run all read the run's stream until it ends or the
caller's budget runs out. A run that ended at an open tool call is then settled from the
conversation: an approval or a form is what the reply waits for; a front-end tool call this
client cannot run is answered with a `client_execution_error`, and the run goes on. A
follow-up's charts are numbered as in its whole conversation; `reply_of` reads a run that is over
from a conversation already in hand, as `follow` does, without a request. The client only opens the
streams and reads conversations (`AsyncMaxClient`); the turn's logic is here.
"""

from __future__ import annotations

import inspect
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypedDict

import anyio

from max_tools._arguments import seconds
from max_tools._errors import MaxError, NotFoundError
from max_tools._events import StreamEvent
from max_tools._interrupts import (
    Approval,
    Interrupt,
    client_tool_error_resume,
    find_interrupt,
    open_calls,
)
from max_tools._messages import ToolResultMessage
from max_tools._models import Conversation
from max_tools._query import charts_of
from max_tools._reply import Reply, ReplyBuilder, ReplyStatus
from max_tools._stream import FindLanded, ReplyStream, last_run_start

__all__ = ["FollowOptions", "OnEvent", "OpenStream", "Turns", "answered", "reply_of"]

logger = logging.getLogger("max_tools")

_MAX_CLIENT_TOOL_ANSWERS = 3  # front-end tool calls answered in one call, at most
_ONE_LOOK_S = 5.0
"""How long attaching may take when the budget is (nearly) spent: `wait(id, wait_s=0)` looks."""

OnEvent = Callable[[StreamEvent], Awaitable[object] | object]
"""Called with each stream event (progress reporting); a coroutine function is awaited."""


class FollowOptions(TypedDict, total=False):
    """How a call follows the run it starts or joins: `wait_s` and `on_event`, as in `ask`."""

    wait_s: float | None
    on_event: OnEvent | None


class OpenStream(Protocol):
    """Opens a reply stream in a conversation (the client's, which knows how a send is made)."""

    def __call__(
        self,
        message: str | None,
        *,
        conversation_id: str | uuid.UUID | None,
        resume_payload: Any = None,
        find_landed: FindLanded | None = None,
        builder: ReplyBuilder | None = None,
    ) -> ReplyStream: ...


def answered(tool_call_id: str) -> FindLanded:
    """A resume landed once the run is going again or a `tool` message answers the call."""

    def find(conversation: Conversation) -> int | None:
        for index, message in enumerate(conversation.messages):
            if isinstance(message, ToolResultMessage) and message.tool_call_id == tool_call_id:
                return index
        return len(conversation.messages) if conversation.is_running else None

    return find


class Turns:
    """Follows the runs a client's calls start or join, each to its settled end.

    Args:
        get_conversation: reads a conversation (what a run ended at, its charts).
        open_stream: opens the stream that answers a front-end tool call.
        paused: the approvals seen waiting, by conversation (the client's; written here).
        canceled: the conversations the client canceled (their tool calls are not answered).
    """

    __slots__ = ("_canceled", "_get_conversation", "_open_stream", "_paused")

    def __init__(
        self,
        *,
        get_conversation: Callable[[str], Awaitable[Conversation]],
        open_stream: OpenStream,
        paused: dict[str, list[Approval]],
        canceled: set[str],
    ) -> None:
        self._get_conversation = get_conversation
        self._open_stream = open_stream
        self._paused = paused
        self._canceled = canceled

    async def follow(
        self,
        replies: ReplyStream,
        wait_s: float | None,
        on_event: OnEvent | None,
        *,
        new: bool = False,
    ) -> Reply:
        """Read the reply until it ends or the budget runs out, through any client tool calls.

        `new`: the conversation started with this message, so its charts are the first ones.
        """
        budget = math.inf if wait_s is None else seconds(wait_s)
        deadline = anyio.current_time() + budget
        for _ in range(_MAX_CLIENT_TOOL_ANSWERS + 1):
            reply, running = await _read(replies, deadline, on_event)
            if running:
                break
            settled = await self._settle(replies, reply)
            if isinstance(settled, Reply):
                reply = settled
                break
            replies = settled
        return reply if new or not reply.charts else await self._number_charts(reply)

    async def _number_charts(self, reply: Reply) -> Reply:
        """The reply with its charts numbered as in its whole conversation (one read).

        `chart_data(conversation_id, n)` counts a conversation's charts from its first message,
        while a follow-up's stream holds only its own.
        """
        try:
            conversation = await self._get_conversation(reply.conversation_id)
        except MaxError as exc:  # the reply stands; its charts keep the numbers it can see
            logger.warning("Could not number the charts of %s: %s", reply.conversation_id, exc)
            return reply
        return _numbered(reply, conversation)

    async def _settle(self, replies: ReplyStream, reply: Reply) -> Reply | ReplyStream:
        """A reply that ended at an open tool call: what it waits for, read from retrieve.

        Costs nothing for an ordinary reply. A front-end tool call this client cannot run is
        answered with a `client_execution_error` (the continuation is returned to be read),
        unless the run was read from history or canceled here: then it may be incomplete.
        """
        cid = replies.conversation_id
        if reply.status is not ReplyStatus.CANCELED or not open_calls(reply.messages):
            return reply
        try:
            conversation = await self._get_conversation(cid)
        except NotFoundError:  # retrieve hides a conversation until it has a title
            return reply
        interrupt = find_interrupt(conversation.messages, conversation.pending_approvals)
        if interrupt is None:
            return reply
        waiting = _waiting_for(reply, interrupt)
        if waiting is not None:
            if interrupt.kind == "approval":
                self._paused[cid] = interrupt.approvals
            return waiting
        if replies.from_history or cid in self._canceled:
            return reply
        call = interrupt.calls[0]
        logger.info("Answering front-end tool call %s (%s) with an error", call.id, call.name)
        return self._open_stream(
            None,
            conversation_id=cid,
            resume_payload=client_tool_error_resume(call.id or ""),
            find_landed=answered(call.id or ""),
            builder=replies.builder,
        )


async def _read(
    replies: ReplyStream, deadline: float, on_event: OnEvent | None
) -> tuple[Reply, bool]:
    try:
        if replies.sending:
            # The budget bounds the waiting, never the send: a cancelled POST may or may not
            # have reached PostHog, so the message either goes out once here or this raises.
            await replies.open()
        if not replies.sending:
            # Even a spent budget takes one look: a run that is over is read back at once.
            look = max(deadline, anyio.current_time() + _ONE_LOOK_S)
            with anyio.CancelScope(deadline=look) as scope:
                await replies.open()
            if scope.cancelled_caught:
                return replies.reply(running=True), True
        # A run read back from the conversation is over: its messages are all there to take.
        with anyio.CancelScope(deadline=math.inf if replies.from_history else deadline) as scope:
            async for event in replies:
                if on_event is None:
                    continue
                pending = on_event(event)
                if pending is not None and inspect.isawaitable(pending):
                    await pending  # a coroutine function's; a plain function's value is not
        running = scope.cancelled_caught
        return replies.reply(running=running), running
    finally:
        with anyio.CancelScope(shield=True):
            await replies.aclose()


def reply_of(conversation: Conversation) -> Reply:
    """The reply a conversation's last run left, read from the conversation alone (no I/O).

    As `follow` reads a run that is over: the messages from the last human message on, an open
    approval or form settled from the same conversation, charts numbered in it. A running
    conversation's reply is `in_progress` with what is stored so far.
    """
    builder = ReplyBuilder(conversation.id)
    if conversation.title:
        builder.title = conversation.title
    seen: set[str] = set()
    for message in conversation.messages[last_run_start(conversation.messages) :]:
        if message.id is not None and message.id not in seen:  # as a replay would drop it
            seen.add(message.id)
            builder.add_message(message)
    reply = builder.build(running=conversation.is_running)
    if reply.status is ReplyStatus.CANCELED and open_calls(reply.messages):
        interrupt = find_interrupt(conversation.messages, conversation.pending_approvals)
        waiting = None if interrupt is None else _waiting_for(reply, interrupt)
        reply = waiting or reply
    return _numbered(reply, conversation) if reply.charts else reply


def _numbered(reply: Reply, conversation: Conversation) -> Reply:
    """The reply with its charts numbered as in `conversation`, which holds them."""
    first = reply.charts[0].message_id
    number = next((c.index for c in charts_of(conversation.messages) if c.message_id == first), 1)
    return reply.model_copy(update={"first_chart": number}) if number != 1 else reply


def _waiting_for(reply: Reply, interrupt: Interrupt) -> Reply | None:
    """The reply waiting for a person, if the run paused for one (an approval or a form)."""
    if interrupt.kind == "approval":
        return _waiting(reply, ReplyStatus.NEEDS_APPROVAL, approvals=interrupt.approvals)
    if interrupt.kind == "form":
        return _waiting(reply, ReplyStatus.NEEDS_ANSWER, form=interrupt.form)
    return None


def _waiting(reply: Reply, status: ReplyStatus, **what: Any) -> Reply:
    """The reply, and its last turn, waiting for a person (`status`) with what they decide on."""
    turns = list(reply.turns)
    if turns:
        turns[-1] = turns[-1].model_copy(update={"status": status})
    return reply.model_copy(update={"status": status, "turns": turns, **what})
