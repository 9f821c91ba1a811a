"""Compact, agent-facing results of replies and queues (text + structured data).

An agent pays for every token: no nulls, no user objects, and a hard cap on size. Text written
by users or PostHog AI is framed as data. Each result model (also a published output schema)
sits next to the function that fills it; conversations are rendered in `_conversations`, the
approval and form cards in `_cards`, charts in `_charts`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from max_tools._models import Queue
from max_tools._reply import Reply, ReplyStatus
from max_tools.agent._cards import approval_card, form_cards, interrupt_lines, interrupt_step
from max_tools.agent._charts import visualization_summary
from max_tools.agent._results import (
    DATA_MARK,
    DATA_NOTE,
    WAIT_STEP,
    Result,
    cap,
    capped_text,
    compact_schema,
    one_line,
)

__all__ = [
    "MAX_REPLY_CHARS",
    "AppendResult",
    "CancelResult",
    "ChatOutline",
    "ChatResult",
    "DeleteResult",
    "QueueItem",
    "QueueResult",
    "render_chat",
    "render_queue",
]

MAX_REPLY_CHARS = 8_000
"""Cap on the reply text inside a chat result (the whole reply stays in the conversation)."""

ChatStatus = Literal[
    "completed", "in_progress", "queued", "canceled", "failed", "needs_approval", "needs_answer"
]


class ChatOutline(Result):
    """The published outline of a chat result: what agents branch on (the rest is extra)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=compact_schema)

    conversation_id: str
    status: ChatStatus
    reply: str | None = None
    next_step: str | None = None


class ChatResult(Result):
    """The outcome of max_chat / max_wait."""

    conversation_id: str
    status: ChatStatus
    reply: str | None = None
    title: str | None = None
    visualizations: list[str] | None = None
    failure: str | None = None
    queue_id: str | None = None
    queue_position: int | None = None
    reply_truncated: bool | None = None
    next_step: str | None = None
    note: str | None = None
    approvals: list[Any] | None = None
    questions: list[Any] | None = None
    skipped_approvals: list[str] | None = None
    suggestions: list[str] | None = None
    charts: list[int] | None = None
    """The reply's charts, as the numbers max_get_chart takes (counted across the conversation)."""
    elicitation: str | None = None
    """How the person answered when the host asked them and they did not decide (decline,
    cancel): the approval or form still waits for them."""


class QueueItem(Result):
    """A queued follow-up."""

    queue_id: str
    message: str


class QueueResult(Result):
    """A conversation's queue of follow-ups."""

    conversation_id: str
    messages: list[QueueItem]
    max_queue_messages: int


class AppendResult(Result):
    """The stored assistant message."""

    conversation_id: str
    message_id: str


class CancelResult(Result):
    """A cancel that went through."""

    conversation_id: str
    canceled: bool = True
    pending_approvals: list[str] | None = None


class DeleteResult(Result):
    """A deleted conversation."""

    conversation_id: str
    deleted: bool = True


def render_chat(
    reply: Reply | None,
    *,
    conversation_id: str,
    queued: Queue | None = None,
    queue_id: str | None = None,
) -> tuple[str, ChatResult]:
    """Text and structured result for max_chat / max_wait."""
    lines = [f"conversation_id: {conversation_id}"]
    if queued is not None:
        position = next(
            (i for i, item in enumerate(queued.messages, start=1) if item.id == queue_id),
            len(queued.messages),
        )
        lines.append(
            f"status: queued - the conversation was busy answering an earlier message, so this "
            f"message was queued (position {position} of at most {queued.max_queue_messages}); "
            f"it runs when the current reply ends; call max_wait with conversation_id="
            f'"{conversation_id}" to follow it.'
        )
        result = ChatResult(
            conversation_id=conversation_id,
            status="queued",
            queue_id=queue_id,
            queue_position=position,
            next_step=WAIT_STEP,
        )
        return "\n".join(lines), result
    if reply is None:
        raise ValueError("render_chat needs a reply unless the message was queued")
    status: ChatStatus = reply.status.value
    explain = {
        ReplyStatus.COMPLETED: "completed - the reply is complete.",
        ReplyStatus.IN_PROGRESS: (
            "in_progress - PostHog AI is still working; the reply below is partial; call max_wait "
            f'with conversation_id="{conversation_id}" to get the rest.'
        ),
        ReplyStatus.CANCELED: (
            "canceled - the run stopped before it finished (canceled, or it called a tool this "
            "client cannot run); the reply may be incomplete."
        ),
        ReplyStatus.FAILED: "failed - PostHog AI could not answer.",
        ReplyStatus.NEEDS_APPROVAL: (
            "needs_approval - PostHog AI waits for a person to approve or reject an operation."
        ),
        ReplyStatus.NEEDS_ANSWER: "needs_answer - PostHog AI asks a person these questions.",
    }[reply.status]
    lines.append(f"status: {explain}")
    failure = None
    if reply.failures:
        failure = reply.failures[-1].content or "PostHog AI reported a failure without details."
        lines.append(f"failure: {failure}")
    if reply.title:
        lines.append(f"title: {one_line(reply.title, 200)}")
    visuals = [visualization_summary(m) for m in reply.visualizations] or None
    if visuals:
        lines.append("visualizations:")
        lines.extend(f"- {v}" for v in visuals)
    charts = [chart.index for chart in reply.charts]
    if charts:
        numbers = f"chart={charts[0]}" if len(charts) == 1 else f"chart={charts[0]} to {charts[-1]}"
        lines.append(
            f"charts: {len(charts)}; read the numbers behind them with max_get_chart "
            f"(this conversation_id, {numbers})"
        )
    text, truncated = cap(_answers(reply), MAX_REPLY_CHARS)
    if text:
        lines.append(f"reply {DATA_NOTE}:")
        lines.append(text)
        if truncated:
            lines.append(
                f"[reply cut at {MAX_REPLY_CHARS:,} characters; read it whole with "
                "max_get_conversation]"
            )
    lines.extend(interrupt_lines(reply, conversation_id))
    suggestions = [q.value for q in reply.quick_replies if not q.href]
    result = ChatResult(
        conversation_id=conversation_id,
        status=status,
        reply=text or None,
        title=reply.title,
        visualizations=visuals,
        failure=failure,
        reply_truncated=truncated or None,
        next_step=(
            WAIT_STEP
            if reply.status is ReplyStatus.IN_PROGRESS
            else interrupt_step(reply, conversation_id)
        ),
        note=DATA_MARK if text else None,
        approvals=[approval_card(a) for a in reply.approvals] or None,
        questions=form_cards(reply.form) if reply.form is not None else None,
        skipped_approvals=[a.proposal_id for a in reply.skipped_approvals] or None,
        suggestions=suggestions or None,
        charts=charts or None,
    )
    return "\n".join(lines), result


def _answers(reply: Reply) -> str:
    """The reply's text; when one stream answered several messages, each question with its answer.

    A queued follow-up runs on the stream of the message before it, so a caller that waited for
    both must see both answers, not only the last.
    """
    if len(reply.turns) < 2:
        return reply.text
    parts = []
    for turn in reply.turns:
        question = one_line(turn.question, 300) if turn.question else "(the earlier message)"
        answer = turn.text or f"({turn.status.value}, no answer yet)"
        if turn.text and turn.status is not ReplyStatus.COMPLETED:
            answer += f"\n({turn.status.value})"
        parts.append(f"> {question}\n{answer}")
    return "\n\n".join(parts)


def render_queue(queue: Queue, *, conversation_id: str, what: str = "") -> tuple[str, QueueResult]:
    """Text and structured result for the queue tools."""
    items = [QueueItem(queue_id=item.id, message=item.content) for item in queue.messages]
    lines = [f"conversation_id: {conversation_id}"]
    if what:
        lines.append(what)
    if items:
        lines.append(
            f"queued follow-ups ({len(items)} of at most {queue.max_queue_messages}), oldest first:"
        )
        lines.extend(f"- queue_id: {i.queue_id} | {one_line(i.message, 300)}" for i in items)
    else:
        lines.append(f"The queue is empty (it holds at most {queue.max_queue_messages}).")
    result = QueueResult(
        conversation_id=conversation_id, messages=items, max_queue_messages=queue.max_queue_messages
    )
    return capped_text("\n".join(lines), "fewer queued messages"), result
