"""Conversations, pages of them, and the follow-up queue, as PostHog serializes them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from max_tools._interrupts import Approval
from max_tools._messages import Message

__all__ = [
    "AgentMode",
    "Conversation",
    "ConversationPage",
    "ConversationStatus",
    "ConversationSummary",
    "Queue",
    "QueuedMessage",
    "User",
]


class AgentMode(enum.StrEnum):
    """Agent modes PostHog knew when this was written; any other string is passed through."""

    PRODUCT_ANALYTICS = "product_analytics"
    SQL = "sql"
    SESSION_REPLAY = "session_replay"
    ERROR_TRACKING = "error_tracking"
    PLAN = "plan"
    EXECUTION = "execution"
    SURVEY = "survey"
    RESEARCH = "research"
    FLAGS = "flags"
    LLM_ANALYTICS = "llm_analytics"


class ConversationStatus(enum.StrEnum):
    """Statuses of a conversation row; `in_progress` and `canceling` mean a run is active."""

    IDLE = "idle"
    IN_PROGRESS = "in_progress"
    CANCELING = "canceling"


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class User(_Model):
    """The conversation's owner, as PostHog's basic user serializer shows it."""

    id: int | None = None
    uuid: str | None = None
    distinct_id: str | None = Field(None, description="The id product analytics know them by.")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class ConversationSummary(_Model):
    """A conversation without its messages: a list item, or the SSE `conversation` event."""

    id: str
    status: str = ConversationStatus.IDLE
    title: str | None = Field(None, description="Written by PostHog AI during the first run.")
    topic: str | None = Field(None, description="What it is about, e.g. product_analytics.")
    user: User | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    type: str | None = Field(None, description="assistant, tool_call, deep_research or slack.")
    is_internal: bool | None = Field(None, description="Started in a support session.")
    slack_thread_key: str | None = None
    slack_workspace_domain: str | None = None
    task: Any = Field(
        None,
        description=(
            "PostHog's task for the conversation: every chat is mirrored into one, so it says "
            "nothing about the runtime (read agent_runtime on the conversation)."
        ),
    )

    @property
    def is_running(self) -> bool:
        """Whether a reply is being written (or being canceled) right now."""
        return self.status in (ConversationStatus.IN_PROGRESS, ConversationStatus.CANCELING)


class Conversation(ConversationSummary):
    """A conversation with its messages, as `get_conversation` returns it."""

    messages: list[Message] = []
    has_unsupported_content: bool | None = None
    agent_mode: str | None = None
    agent_runtime: str | None = Field(
        None,
        description=(
            "langgraph, or sandbox once the conversation moved to PostHog AI's newer runtime "
            "for good: then this API can read it but not continue it."
        ),
    )
    is_sandbox: bool | None = Field(None, description="agent_runtime == 'sandbox'.")
    pending_approvals: list[Approval] = []
    """Every approval of the conversation, decided or not (PostHog never removes them)."""

    @property
    def moved(self) -> bool:
        """Whether it moved to PostHog AI's sandbox runtime: readable, but not continued here."""
        return self.agent_runtime == "sandbox" or self.is_sandbox is True


class ConversationPage(_Model):
    """One page of `list_conversations`; `next` is the URL of the next page, or None."""

    count: int = 0
    next: str | None = None
    previous: str | None = None
    results: list[ConversationSummary] = []


class QueuedMessage(_Model):
    """A follow-up waiting for the running reply to end."""

    id: str
    content: str = ""
    created_at: datetime | None = None
    contextual_tools: dict[str, Any] | None = None
    ui_context: Any = None
    billing_context: Any = None
    agent_mode: str | None = None
    session_id: str | None = None


class Queue(_Model):
    """A conversation's queued follow-ups, oldest first."""

    messages: list[QueuedMessage] = []
    max_queue_messages: int = 2
