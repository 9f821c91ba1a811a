"""Conversation messages: one model per `type`, and `UnknownMessage` for types added later.

Every model keeps fields it does not know (PostHog adds fields often) and requires nothing that
PostHog may leave out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError

__all__ = [
    "VISUALIZATIONS",
    "AIMessage",
    "ArtifactMessage",
    "BaseMessage",
    "ContextMessage",
    "FailureMessage",
    "HumanMessage",
    "Message",
    "MultiVisualizationMessage",
    "NotebookMessage",
    "PlanningMessage",
    "ReasoningMessage",
    "TaskExecutionMessage",
    "ToolCall",
    "ToolResultMessage",
    "UnknownMessage",
    "VisualizationMessage",
    "parse_message",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ToolCall(_Model):
    """A tool call the assistant made."""

    id: str | None = None
    name: str = ""
    args: dict[str, Any] = {}
    type: str = "tool_call"


class BaseMessage(_Model):
    """Fields every message has. A message without `id` is still being written."""

    type: str
    id: str | None = None
    parent_tool_call_id: str | None = None

    @property
    def is_final(self) -> bool:
        """Whether the message is finished (it has an id)."""
        return self.id is not None


class HumanMessage(BaseMessage):
    """What a user asked."""

    type: Literal["human"] = "human"
    content: str = ""
    ui_context: dict[str, Any] | None = None
    trace_id: str | None = None


class AIMessage(BaseMessage):
    """Assistant text, possibly with tool calls; without `id` it is the whole text so far."""

    type: Literal["ai"] = "ai"
    content: str = ""
    meta: dict[str, Any] | None = None
    tool_calls: list[ToolCall] | None = None
    server_tool_calls: list[Any] | None = None


class FailureMessage(BaseMessage):
    """The run failed; `content` says why, when PostHog knows."""

    type: Literal["ai/failure"] = "ai/failure"
    content: str | None = None


class VisualizationMessage(BaseMessage):
    """An insight PostHog AI built: `answer` is the query, `query` what it was asked."""

    type: Literal["ai/viz"] = "ai/viz"
    query: str = ""
    plan: str | None = None
    answer: Any = None
    initiator: str | None = None
    short_id: str | None = None


class MultiVisualizationMessage(BaseMessage):
    """Several visualizations with optional commentary."""

    type: Literal["ai/multi_viz"] = "ai/multi_viz"
    visualizations: list[dict[str, Any]] = []
    commentary: str | None = None


class ArtifactMessage(BaseMessage):
    """A saved artifact (visualization or notebook)."""

    type: Literal["ai/artifact"] = "ai/artifact"
    artifact_id: str | None = None
    source: str | None = None
    content: Any = None


class NotebookMessage(BaseMessage):
    """A notebook PostHog AI wrote or updated."""

    type: Literal["ai/notebook"] = "ai/notebook"
    notebook_id: str | None = None
    content: Any = None
    notebook_type: str | None = None


class ReasoningMessage(BaseMessage):
    """Deprecated by PostHog: a reasoning step."""

    type: Literal["ai/reasoning"] = "ai/reasoning"
    content: str = ""
    substeps: list[str] | None = None


class PlanningMessage(BaseMessage):
    """Deprecated by PostHog: a plan of steps."""

    type: Literal["ai/planning"] = "ai/planning"
    steps: list[dict[str, Any]] = []


class TaskExecutionMessage(BaseMessage):
    """Deprecated by PostHog: tasks being executed."""

    type: Literal["ai/task_execution"] = "ai/task_execution"
    tasks: list[dict[str, Any]] = []


class ToolResultMessage(BaseMessage):
    """The result of a tool call; `ui_payload` is what the app would render."""

    type: Literal["tool"] = "tool"
    content: str = ""
    tool_call_id: str | None = None
    ui_payload: dict[str, Any] | None = None


class ContextMessage(BaseMessage):
    """Context given to the agent (PostHog does not normally show these)."""

    type: Literal["context"] = "context"
    content: str = ""
    meta: dict[str, Any] | None = None


class UnknownMessage(BaseMessage):
    """A message type this version of max-tools does not know; all its fields are kept."""

    type: str = "unknown"


VISUALIZATIONS = (VisualizationMessage, MultiVisualizationMessage, ArtifactMessage)
"""The messages that show a visualization (an artifact is a saved one)."""

_KNOWN: dict[str, type[BaseMessage]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        HumanMessage,
        AIMessage,
        FailureMessage,
        VisualizationMessage,
        MultiVisualizationMessage,
        ArtifactMessage,
        NotebookMessage,
        ReasoningMessage,
        PlanningMessage,
        TaskExecutionMessage,
        ToolResultMessage,
        ContextMessage,
    )
}


def _message_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN else "unknown"


Message = Annotated[
    Annotated[HumanMessage, Tag("human")]
    | Annotated[AIMessage, Tag("ai")]
    | Annotated[FailureMessage, Tag("ai/failure")]
    | Annotated[VisualizationMessage, Tag("ai/viz")]
    | Annotated[MultiVisualizationMessage, Tag("ai/multi_viz")]
    | Annotated[ArtifactMessage, Tag("ai/artifact")]
    | Annotated[NotebookMessage, Tag("ai/notebook")]
    | Annotated[ReasoningMessage, Tag("ai/reasoning")]
    | Annotated[PlanningMessage, Tag("ai/planning")]
    | Annotated[TaskExecutionMessage, Tag("ai/task_execution")]
    | Annotated[ToolResultMessage, Tag("tool")]
    | Annotated[ContextMessage, Tag("context")]
    | Annotated[UnknownMessage, Tag("unknown")],
    Discriminator(_message_tag),
]
"""Any conversation message, chosen by its `type`."""

_MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)

# The stream's hot path: pydantic's own discriminator (no Python call per message) over the
# known types, falling back to `Message` when the tag is missing or new.
_KNOWN_ADAPTER: TypeAdapter[BaseMessage] = TypeAdapter(
    Annotated[
        HumanMessage
        | AIMessage
        | FailureMessage
        | VisualizationMessage
        | MultiVisualizationMessage
        | ArtifactMessage
        | NotebookMessage
        | ReasoningMessage
        | PlanningMessage
        | TaskExecutionMessage
        | ToolResultMessage
        | ContextMessage,
        Field(discriminator="type"),
    ]
)
_validate_known_json = _KNOWN_ADAPTER.validator.validate_json


def parse_message(data: str | bytes | dict[str, Any]) -> Message:
    """Validate one message from JSON text or a dict."""
    if isinstance(data, dict):
        return _MESSAGE_ADAPTER.validate_python(data)
    try:
        message: Message = _validate_known_json(data)
    except ValidationError as exc:
        if exc.errors(include_url=False)[0]["type"] not in _UNTAGGED:
            raise
        return _MESSAGE_ADAPTER.validate_json(data)
    return message


_UNTAGGED = frozenset({"union_tag_invalid", "union_tag_not_found"})
