"""`Reply`: what one stream (or a finished conversation) amounts to, built event by event."""

from __future__ import annotations

import enum

from pydantic import BaseModel

from max_tools._events import ConversationEvent, MessageEvent, StreamEvent
from max_tools._interrupts import Approval, Form, QuickReply, quick_replies
from max_tools._messages import (
    VISUALIZATIONS,
    AIMessage,
    ArtifactMessage,
    FailureMessage,
    HumanMessage,
    Message,
    NotebookMessage,
)
from max_tools._query import Chart, charts_of

__all__ = ["Reply", "ReplyBuilder", "ReplyStatus", "Turn"]

_ANSWERS = (*VISUALIZATIONS, NotebookMessage)


class ReplyStatus(enum.StrEnum):
    """How a reply stands when it is handed back."""

    COMPLETED = "completed"
    """The run finished with an answer."""
    IN_PROGRESS = "in_progress"
    """The time budget ran out; the run goes on at PostHog (follow it with `wait`)."""
    CANCELED = "canceled"
    """The run stopped before it answered (someone canceled it)."""
    FAILED = "failed"
    """The run ended with a failure message; see `failures`."""
    NEEDS_APPROVAL = "needs_approval"
    """The run waits for a person to approve or reject an operation; see `approvals`."""
    NEEDS_ANSWER = "needs_answer"
    """The run waits for answers to a form; see `form`."""


class Turn(BaseModel):
    """One message PostHog AI answered on a stream, with its answer.

    `question` is the human message; it is None for the turn a stream joined part-way (`wait`
    attaches to a run whose question was sent earlier).
    """

    question: str | None = None
    text: str = ""
    status: ReplyStatus

    @classmethod
    def of(cls, messages: list[Message]) -> Turn:
        """The turn these stored messages make (from its human message on), read as a run over.

        PostHog keeps no cancel mark: a turn that ended before any answer is `canceled`.
        """
        return _turn(messages) if messages else cls(status=_final_status([]))


class Reply(BaseModel):
    """The outcome of a message: status, the answer's text, and every finished message.

    `text` is the newest assistant text of the last turn: the last finished assistant message,
    or, while the run goes on (`in_progress`), the text written so far. When queued follow-ups
    ran on the same stream, it is the answer to the last of them; `turns` pairs each question
    with its answer, and `messages` holds every finished message.
    """

    conversation_id: str
    status: ReplyStatus
    text: str = ""
    title: str | None = None
    messages: list[Message] = []
    visualizations: list[Message] = []
    failures: list[FailureMessage] = []
    turns: list[Turn] = []
    approvals: list[Approval] = []
    """With `needs_approval`: the operations waiting for a decision (approve or reject)."""
    form: Form | None = None
    """With `needs_answer`: the questions to answer (or dismiss)."""
    quick_replies: list[QuickReply] = []
    """Suggested next messages PostHog AI offered with its answer."""
    skipped_approvals: list[Approval] = []
    """Approvals this message abandoned: sending it instead of a decision skipped them."""
    first_chart: int = 1
    """The number of the reply's first chart among all the charts of its conversation."""

    @property
    def charts(self) -> list[Chart]:
        """The reply's charts, numbered as in the whole conversation (as `chart_data` counts).

        `client.chart_data(conversation_id, chart.index)` or `client.query(chart.query)` gets a
        chart's numbers.
        """
        return charts_of(self.messages, first=self.first_chart)


class ReplyBuilder:
    """Folds stream events (already de-duplicated) into a `Reply`."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self.title: str | None = None
        self.messages: list[Message] = []
        self.partial_text = ""

    def add(self, event: StreamEvent) -> None:
        """Take one event into account."""
        if isinstance(event, MessageEvent):
            message = event.message
            if message.id is None:
                if isinstance(message, AIMessage):
                    self.partial_text = message.content
                elif isinstance(message, FailureMessage):  # PostHog may send one without an id
                    self.add_message(message)
                return
            self.add_message(message)
        elif isinstance(event, ConversationEvent) and event.conversation.title:
            self.title = event.conversation.title

    def add_message(self, message: Message) -> None:
        """Take one finished message into account."""
        self.messages.append(message)
        self.partial_text = ""

    def build(self, *, running: bool = False) -> Reply:
        """The reply so far; `running` says the run was left going (the budget ran out)."""
        turns = [_turn(segment) for segment in _segments(self.messages)]
        if not turns:
            turns = [Turn(status=_final_status([]))]
        if running:
            last = turns[-1]
            turns[-1] = last.model_copy(
                update={"status": ReplyStatus.IN_PROGRESS, "text": self.partial_text or last.text}
            )
        status, text = turns[-1].status, turns[-1].text
        return Reply(
            conversation_id=self.conversation_id,
            status=status,
            text=text,
            title=self.title,
            messages=list(self.messages),
            visualizations=[m for m in self.messages if _is_visual(m)],
            failures=[m for m in self.messages if isinstance(m, FailureMessage)],
            turns=turns,
            quick_replies=quick_replies(self.messages) if status is ReplyStatus.COMPLETED else [],
        )


def _segments(messages: list[Message]) -> list[list[Message]]:
    """The messages split at each human message (a turn starts with its question)."""
    segments: list[list[Message]] = []
    for message in messages:
        if isinstance(message, HumanMessage) or not segments:
            segments.append([])
        segments[-1].append(message)
    return segments


def _turn(segment: list[Message]) -> Turn:
    first = segment[0]
    question = first.content if isinstance(first, HumanMessage) else None
    text = next(
        (m.content for m in reversed(segment) if isinstance(m, AIMessage) and m.content), ""
    )
    return Turn(question=question, text=text, status=_final_status(segment))


def _final_status(turn: list[Message]) -> ReplyStatus:
    for message in reversed(turn):
        if isinstance(message, FailureMessage):
            return ReplyStatus.FAILED
        if isinstance(message, AIMessage) and message.content and not message.tool_calls:
            return ReplyStatus.COMPLETED
        if isinstance(message, _ANSWERS):
            return ReplyStatus.COMPLETED
        if isinstance(message, HumanMessage | AIMessage):
            break
    return ReplyStatus.CANCELED


def _is_visual(message: Message) -> bool:
    if isinstance(message, ArtifactMessage):
        content = message.content
        return not isinstance(content, dict) or content.get("content_type") != "notebook"
    return isinstance(message, VISUALIZATIONS)
