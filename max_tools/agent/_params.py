"""The tools' arguments: one pydantic model per action, and bad arguments in our words.

The field descriptions are the text models read; `describe_invalid_arguments` turns a failed
validation into one sentence that names each argument, what it needs, and what to do.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from max_tools._arguments import MAX_APPEND_CHARS, MAX_MESSAGE_CHARS, QUEUE_ID

__all__ = [
    "DEFAULT_WAIT_S",
    "MAX_WAIT_S",
    "Answer",
    "AnswerParams",
    "AppendParams",
    "ApproveParams",
    "ChartParams",
    "ChatParams",
    "ConversationParams",
    "GetParams",
    "ListParams",
    "QueueItemParams",
    "QueueMessageParams",
    "UpdateQueuedParams",
    "WaitParams",
    "describe_invalid_arguments",
]

MAX_WAIT_S = 55.0
"""Upper bound of `wait_s`: MCP hosts cut a tool call at about 60 s."""
DEFAULT_WAIT_S = 45.0

# Parameters (their field descriptions are the text models read)


def _untitled(schema: dict[str, Any]) -> None:
    """Drop what costs tokens and says nothing (titles derived from names); optional is nullable.

    Every argument that may be left out also takes null, which means the same: its default.
    So the schema converts to OpenAI's strict mode (every property required, none free-form)
    without changing what a call means.
    """
    schema.pop("title", None)
    schema.pop("description", None)  # the model's docstring is for developers
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)
        if name not in required:
            _nullable(prop)
        if "default" in prop and prop["default"] is None:
            prop.pop("default")


def _nullable(prop: dict[str, Any]) -> None:
    """`prop` also takes null: `{"type": [T, "null"]}` where it can, else a null branch."""
    branches = prop.pop("anyOf", None)
    if isinstance(branches, list):
        rest = [branch for branch in branches if branch != {"type": "null"}]
        if len(rest) == 1:
            prop.update(rest[0])
        else:
            prop["anyOf"] = [*rest, {"type": "null"}]
            return
    kind = prop.get("type")
    if isinstance(kind, str):
        prop["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        prop["type"] = [*kind, "null"]
    if isinstance(prop.get("enum"), list) and None not in prop["enum"]:
        prop["enum"] = [*prop["enum"], None]


def _conversation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError(
            "must be a conversation id (a UUID like 6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77); "
            "list conversations with max_list_conversations"
        ) from None


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty; write the message to send")
    return value


def _queue_id(value: str) -> str:
    if not QUEUE_ID.fullmatch(value.strip()):
        raise ValueError("must be a queue_id from max_list_queue")
    return value.strip()


# The argument types the tools share, each written once.
ConversationId = Annotated[str, AfterValidator(_conversation_id)]
MessageText = Annotated[
    str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_not_blank)
]
AppendText = Annotated[
    str, Field(min_length=1, max_length=MAX_APPEND_CHARS), AfterValidator(_not_blank)
]
WaitBudget = Annotated[float, Field(ge=0, le=MAX_WAIT_S, description="Seconds to wait (0-55).")]
QueueId = Annotated[
    str, AfterValidator(_queue_id), Field(description="queue_id from max_list_queue.")
]


class _Params(BaseModel):
    model_config = ConfigDict(json_schema_extra=_untitled)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """Hosts send null for an argument they leave out: treat it as left out."""
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if value is not None}
        return data


class ConversationParams(_Params):
    """Arguments of the actions that need only a conversation."""

    conversation_id: ConversationId


class ChatParams(_Params):
    """Arguments of max_chat."""

    message: MessageText = Field(description="The question or instruction, in plain language.")
    conversation_id: ConversationId | None = Field(
        default=None,
        description=(
            "Continue this conversation (a UUID from an earlier result); omit to start a new one."
        ),
    )
    agent_mode: str | None = Field(
        default=None,
        description=(
            "PostHog AI mode, e.g. product_analytics, sql, session_replay, error_tracking, "
            "research; omit for the default."
        ),
    )
    wait_s: WaitBudget = DEFAULT_WAIT_S


def _json_object(value: Any) -> Any:
    """A payload as a JSON object in a string (strict-mode hosts) or as an object (others)."""
    if isinstance(value, str) and not value.strip():
        return None  # strict-mode hosts fill every argument: blank means nothing to change
    decoded = value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
    # (The MCP SDK may have decoded the text already: a JSON list arrives here as a list.)
    if not isinstance(decoded, dict):
        raise ValueError(
            "must be a JSON object of the arguments to change, written as text (e.g. "
            '\'{"name": "Q3 report"}\'); leave it out to keep the proposed arguments'
        )
    return decoded


Payload = Annotated[
    dict[str, Any] | None,
    BeforeValidator(_json_object),
    # Published as text: a free-form object cannot be written in OpenAI's strict mode.
    WithJsonSchema({"type": "string"}),
    Field(
        default=None,
        description="""Arguments to change, as JSON text: '{"name": "Q3"}'.""",
    ),
]


class ApproveParams(ConversationParams):
    """Arguments of max_approve."""

    proposal_id: str = Field(min_length=1)
    decision: Literal["approve", "reject"] = Field(description="The person's decision.")
    feedback: str | None = Field(default=None, description="Why, for a rejection.")
    payload: Payload
    wait_s: WaitBudget = DEFAULT_WAIT_S


class Answer(BaseModel):
    """The answer to one question of a form."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1)
    answer: str | list[str]


def _answer_items(value: Any) -> Any:
    """Answers as a list of items; an object keyed by question id is taken too (the old shape)."""
    if isinstance(value, dict):
        return [{"question_id": key, "answer": answer} for key, answer in value.items()]
    return value


def _one_answer_each(answers: list[Answer]) -> list[Answer]:
    seen: set[str] = set()
    for item in answers:
        if item.question_id in seen:
            raise ValueError(f"answer question {item.question_id!r} once, not twice")
        seen.add(item.question_id)
    return answers


_ANSWER_ITEM = {
    "type": "object",
    "properties": {
        "question_id": {"type": "string"},
        "answer": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
    "required": ["question_id", "answer"],
}
Answers = Annotated[
    list[Answer],
    BeforeValidator(_answer_items),
    AfterValidator(_one_answer_each),
    # The item schema written out: no $defs, the same in MCP and LangChain and strict as it is.
    WithJsonSchema({"type": "array", "items": _ANSWER_ITEM}),
    Field(description="One per question (a list for multi_select); [] dismisses the form."),
]


class AnswerParams(ConversationParams):
    """Arguments of max_answer."""

    # Required: a model that forgets it must not dismiss a person's form; [] does that.
    answers: Answers
    wait_s: WaitBudget = DEFAULT_WAIT_S

    def by_question(self) -> dict[str, str | list[str]]:
        """The answers keyed by question id, as `AsyncMaxClient.answer` takes them."""
        return {item.question_id: item.answer for item in self.answers}


class WaitParams(ConversationParams):
    """Arguments of max_wait."""

    wait_s: WaitBudget = DEFAULT_WAIT_S


class ListParams(_Params):
    """Arguments of max_list_conversations."""

    limit: int = Field(default=20, ge=1, le=100, description="How many conversations (1-100).")
    offset: int = Field(default=0, ge=0, description="How many of the newest to skip (paging).")


class GetParams(ConversationParams):
    """Arguments of max_get_conversation."""

    last_messages: int = Field(
        default=20, ge=1, le=200, description="How many latest messages (1-200)."
    )


class ChartParams(ConversationParams):
    """Arguments of max_get_chart."""

    # The tool's description says "chart N (from 1)": tools/list is paid for in every turn.
    chart: int = Field(default=1, ge=1)


class AppendParams(ConversationParams):
    """Arguments of max_append_message."""

    message: AppendText = Field(
        description="The assistant message to store (no reply is generated)."
    )


class QueueMessageParams(ConversationParams):
    """Arguments of max_queue_message."""

    message: MessageText = Field(description="The follow-up to send when the current reply ends.")


class QueueItemParams(ConversationParams):
    """Arguments of max_delete_queued_message."""

    queue_id: QueueId


class UpdateQueuedParams(QueueItemParams):
    """Arguments of max_update_queued_message."""

    message: MessageText = Field(description="The new text of the queued follow-up.")


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
