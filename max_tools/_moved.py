"""Refusals of a conversation that moved to PostHog AI's sandbox runtime (reference 16.3).

A send, reconnect or resume naming it gets PostHog's own 400, which `make_status_error` reads.
The queue, append and cancel are LangGraph-only actions whose answer on a moved conversation is
not established, so when one of them is refused the conversation is read once to see whether it
moved; ordinary calls cost nothing extra.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from max_tools._errors import APIStatusError, ConversationMovedError, MaxError, moved_error
from max_tools._models import Conversation

__all__ = ["refused_if_moved"]

ReadConversation = Callable[[str], Awaitable[Conversation]]

_NOT_ABOUT_THE_CONVERSATION = frozenset({401, 402, 403, 429})
"""Refusals about the key, the credits or the rate: they say what to do already."""
_UNDERSTOOD = frozenset({"queue_full", "not_yours"})
"""Refusals that cannot come from a move: the queue took messages, or it is not the caller's."""


@asynccontextmanager
async def refused_if_moved(read: ReadConversation, cid: str, doing: str) -> AsyncIterator[None]:
    """Raise `ConversationMovedError` for a refusal of the block if `cid` moved; else re-raise.

    Args:
        read: reads the conversation (`get_conversation`).
        cid: the conversation the block acts on.
        doing: what the block does, for the message ("cancel conversation ...").
    """
    try:
        yield
    except APIStatusError as refused:
        if (
            isinstance(refused, ConversationMovedError)
            or not 400 <= refused.status_code < 500
            or refused.status_code in _NOT_ABOUT_THE_CONVERSATION
            or refused.situation in _UNDERSTOOD
        ):
            raise
        try:
            conversation = await read(cid)
        except MaxError:  # unreadable (a teammate's, deleted): the refusal stands as it is
            raise refused from None
        if not conversation.moved:
            raise
        raise moved_error(
            doing,
            status_code=refused.status_code,
            body=refused.body,
            code=refused.code,
            detail=refused.detail,
        ) from refused
