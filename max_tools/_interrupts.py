"""Runs that stop for a person: approvals, forms, quick replies and client tool calls.

PostHog AI pauses a run at a tool call (reference sections 12 to 14): the stream ends at an `ai`
message whose call got no `tool` answer. Retrieve then tells which pause it is: an approval has a
`pending` item in `pending_approvals` for that call, a form is a `create_form` call, and any other
call is a front-end (client) tool. A resume is a POST with `content: null` and a `resume_payload`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from max_tools._errors import InvalidArgumentsError
from max_tools._messages import AIMessage, Message, ToolCall, ToolResultMessage

__all__ = [
    "FORM_TOOL",
    "Approval",
    "ApprovalStatus",
    "Form",
    "FormField",
    "FormOption",
    "FormQuestion",
    "Interrupt",
    "QuickReply",
    "approval_resume",
    "check_answers",
    "client_tool_error_resume",
    "dismiss_resume",
    "find_interrupt",
    "form_resume",
    "open_calls",
    "quick_replies",
]

FORM_TOOL = "create_form"
CLIENT_TOOL_ERROR = (
    "This client (max-tools) cannot run front-end tools; continue without this tool."
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ApprovalStatus(enum.StrEnum):
    """`decision_status` of an approval."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    AUTO_REJECTED = "auto_rejected"
    """Skipped: a new message was sent instead of a decision, or a stale resume named it."""


class Approval(_Model):
    """A dangerous operation PostHog AI proposed, waiting for (or past) a person's decision."""

    proposal_id: str = ""
    decision_status: str = ApprovalStatus.PENDING
    tool_name: str = ""
    preview: str = ""
    payload: dict[str, Any] = {}
    """The proposed arguments while pending; PostHog shows ``{}`` once decided."""
    original_tool_call_id: str | None = None
    message_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.decision_status == ApprovalStatus.PENDING


class FormOption(_Model):
    value: str
    description: str | None = None


class FormField(_Model):
    """One input of a `multi_field` question; its answer is keyed by the field's id."""

    id: str
    type: str = Field("text", description="text, number, slider, toggle or dropdown.")
    label: str = ""
    placeholder: str | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: list[Any] = []
    optional: bool = False


class FormQuestion(_Model):
    """One question of a form; its answer is keyed by `id` (by field id for multi_field)."""

    id: str
    title: str | None = None
    question: str = ""
    type: str = "select"
    """select (one option), multi_select (a list) or multi_field (one answer per field)."""
    options: list[FormOption] = []
    allow_custom_answer: bool = True
    """Whether an answer other than the options is allowed."""
    fields: list[FormField] = []


class Form(_Model):
    """The questions PostHog AI asked with `create_form`."""

    tool_call_id: str | None = None
    questions: list[FormQuestion] = []


class QuickReply(_Model):
    """A suggested next message (`meta.form.options`); send its `value` to choose it."""

    value: str
    variant: str | None = None
    href: str | None = None
    """A link rather than a message, when set."""


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Why a run stopped at a tool call: ``approval``, ``form`` or ``client``."""

    kind: str
    calls: list[ToolCall]
    approvals: list[Approval] = field(default_factory=list)
    form: Form | None = None


def open_calls(messages: Sequence[Message]) -> list[ToolCall]:
    """The tool calls of the last `ai` message that no `tool` message answered.

    Empty unless the messages end at that `ai` message (and answers of some of its calls).
    """
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolResultMessage):
            if message.tool_call_id:
                answered.add(message.tool_call_id)
            continue
        if isinstance(message, AIMessage):
            calls = message.tool_calls or []
            return [call for call in calls if call.id and call.id not in answered]
        return []
    return []


def find_interrupt(
    messages: Sequence[Message], pending_approvals: Sequence[Approval]
) -> Interrupt | None:
    """What the conversation waits for, read from retrieve; None when it waits for nothing.

    An approval counts only when pending and for a call still open (reference 12.7: a pending
    item for an older call is stale).
    """
    calls = open_calls(messages)
    if not calls:
        return None
    ids = {call.id for call in calls}
    approvals = [a for a in pending_approvals if a.pending and a.original_tool_call_id in ids]
    if approvals:
        return Interrupt("approval", calls, approvals=approvals)
    form_call = next((call for call in calls if call.name == FORM_TOOL), None)
    if form_call is not None:
        questions = form_call.args.get("questions")
        form = Form.model_validate(
            {
                "tool_call_id": form_call.id,
                "questions": questions if isinstance(questions, list) else [],
            }
        )
        return Interrupt("form", calls, form=form)
    return Interrupt("client", calls)


def quick_replies(messages: Sequence[Message]) -> list[QuickReply]:
    """The suggested next messages of the last `ai` message, if it offers some."""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and message.content:
            form = (message.meta or {}).get("form")
            options = form.get("options") if isinstance(form, dict) else None
            if not isinstance(options, list):
                return []
            return [
                QuickReply.model_validate(option)
                for option in options
                if isinstance(option, dict) and isinstance(option.get("value"), str)
            ]
    return []


# Resume payloads (reference 12.5, 13.4, 14)


def approval_resume(
    proposal_id: str,
    *,
    approve: bool,
    feedback: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": "approve" if approve else "reject",
        "proposal_id": proposal_id,
    }
    if feedback:
        body["feedback"] = feedback
    if payload is not None:
        body["payload"] = dict(payload)
    return body


def form_resume(answers: Mapping[str, str | list[str]]) -> dict[str, Any]:
    return {"action": "form", "form_answers": dict(answers)}


def dismiss_resume() -> dict[str, Any]:
    return {"action": "dismiss_form"}


def client_tool_error_resume(tool_call_id: str) -> dict[str, Any]:
    return {
        "action": "client_tool_result",
        "tool_call_id": tool_call_id,
        "result": {"client_execution_error": CLIENT_TOOL_ERROR},
    }


def check_answers(form: Form, answers: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The answers as PostHog takes them, checked against the questions.

    A multi_select answer is a list; every other answer is a string. Options are matched
    case-insensitively and sent with the form's spelling. Unanswered questions are skipped.

    Raises:
        InvalidArgumentsError: an answer names no question, or is not one of the options of a
            question that allows no custom answer.
    """
    by_key: dict[str, tuple[FormQuestion, FormField | None]] = {}
    for question in form.questions:
        if question.type == "multi_field" and question.fields:
            for item in question.fields:
                by_key[item.id] = (question, item)
        else:
            by_key[question.id] = (question, None)
    problems: list[str] = []
    checked: dict[str, str | list[str]] = {}
    for key, raw in answers.items():
        if key not in by_key:
            problems.append(
                f"{key!r} is not a question of this form (they are {', '.join(by_key)})"
            )
            continue
        question, form_field = by_key[key]
        values = [raw] if isinstance(raw, str | int | float | bool) else list(raw or [])
        texts = [_text(value) for value in values]
        if form_field is None:
            texts, problem = _match_options(question, texts)
            if problem:
                problems.append(f"{key}: {problem}")
                continue
        if question.type == "multi_select" and form_field is None:
            checked[key] = texts
        elif len(texts) > 1:
            problems.append(f"{key} takes one answer, not {len(texts)}")
        elif texts:
            checked[key] = texts[0]
    if problems:
        raise InvalidArgumentsError(
            "Invalid form answers: " + "; ".join(problems) + ". Answer with the question ids "
            "and their options."
        )
    return checked


def _match_options(question: FormQuestion, texts: list[str]) -> tuple[list[str], str | None]:
    spelled = {option.value.casefold(): option.value for option in question.options}
    matched = []
    for text in texts:
        value = spelled.get(text.casefold())
        if value is None and spelled and not question.allow_custom_answer:
            choices = ", ".join(repr(option.value) for option in question.options)
            return [], f"{text!r} is not one of the options ({choices})"
        matched.append(value if value is not None else text)
    return matched, None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
