"""Runs that stop for a person: approvals of dangerous operations, forms, client tool calls.

PostHog AI pauses a run at a tool call in three cases (reference sections 12 to 14). The run
ends at the `ai` message holding the call, with no `tool` answer; an approval also leaves an
entry in `pending_approvals`. A POST with `content: null` and a `resume_payload` resumes it:
the resumed run starts with the `tool` message that answers the call. What this module decides
(which pause, what a resume payload does) the engine and the create view carry out.
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from max_tools.emulator._store import Row
from max_tools.emulator._texts import default_answer

__all__ = [
    "DISMISSED",
    "Pause",
    "Resumed",
    "abandon",
    "default_pause",
    "form_answer_text",
    "pause_from_rule",
    "resume",
    "stop_at",
]

REJECTED = (
    "The user rejected this operation. Please acknowledge their decision and ask if they would "
    "like to proceed differently."
)
REJECTED_WITH = (
    "The user rejected this operation with the following feedback: {feedback}. Please "
    "acknowledge their feedback and adjust your approach accordingly."
)
DISMISSED = (
    "The user dismissed the form and chose not to answer these questions. Continue without "
    "these answers if possible. If the missing information is required, briefly explain what is "
    "blocked and offer the user a lower-friction alternative."
)
WRONG_CALL = "The client tool result was addressed to a different tool call"
FORM_TOOL = "create_form"
_RETRY = "That did not work. Tell me how you would like to go on."

CHART_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "time_range",
        "title": "Period",
        "question": "Which time range should I use?",
        "options": [{"value": "Last 7 days"}, {"value": "Last 30 days"}, {"value": "Last 90 days"}],
        "allow_custom_answer": True,
    },
    {
        "id": "breakdown",
        "title": "Breakdown",
        "type": "multi_select",
        "question": "Break the chart down by?",
        "options": [
            {"value": "Country", "description": "One series per country"},
            {"value": "Browser"},
            {"value": "Device type"},
        ],
        "allow_custom_answer": False,
    },
]

_DELETE = re.compile(r"\b(delete|remove)\b", re.I)
_CHANGE_FLAG = re.compile(r"\b(change|update|edit|disable|enable|roll ?out)\b.*\bflag\b", re.I)
_VAGUE_CHART = re.compile(r"\b(a|some|any)\s+(chart|graph|plot)s?\b", re.I)
_SUBJECT = re.compile(r"\b(of|for|by|per|about|showing|with)\b", re.I)


@dataclass(frozen=True, slots=True)
class Pause:
    """How a run stops: at one call of `tool_name` with `args`.

    `kind` is ``approval`` (with `preview`), ``form`` (args hold the questions) or ``client``.
    """

    kind: str
    tool_name: str
    args: dict[str, Any]
    preview: str = ""

    @property
    def intro(self) -> str:
        """What the agent writes before the call."""
        if self.kind == "approval":
            return "I can do that, but it changes your project, so I need your approval first."
        if self.kind == "form":
            return "A few quick questions so that I get this right."
        return "Let me check that in your browser."


@dataclass(frozen=True, slots=True)
class Resumed:
    """What a resume does: the `tool` message's content and `ui_payload`, then the answer."""

    tool_name: str
    tool_call_id: str
    content: str
    ui_payload: dict[str, Any]
    answer: str


def pause_from_rule(approval: dict[str, Any] | None, form: dict[str, Any] | None) -> Pause | None:
    """The pause a rule scripts (its `approval` or `form` key), if any."""
    if approval is not None:
        return Pause(
            "approval",
            str(approval["tool_name"]),
            dict(approval.get("payload") or {}),
            str(approval.get("preview") or f"Execute {approval['tool_name']} operation"),
        )
    if form is not None:
        return Pause("form", FORM_TOOL, {"questions": list(form["questions"])})
    return None


def default_pause(message: str) -> Pause | None:
    """The built-in agent asks before deleting or changing things, and asks about vague charts."""
    number = 1 + zlib.crc32(message.encode()) % 900
    if _DELETE.search(message):
        return _approval("delete_dashboard", {"dashboard_id": number})
    if _CHANGE_FLAG.search(message):
        return _approval("update_feature_flag", {"feature_flag_id": number, "active": False})
    if _VAGUE_CHART.search(message) and not _SUBJECT.search(message):
        return Pause("form", FORM_TOOL, {"questions": CHART_QUESTIONS})
    return None


def _approval(tool_name: str, args: dict[str, Any]) -> Pause:
    return Pause("approval", tool_name, args, str(_preview(tool_name, args)))


def _preview(tool_name: str, args: dict[str, Any]) -> str | None:
    """The built-in tools' previews, from their arguments (None for other tools)."""
    if tool_name == "delete_dashboard" and "dashboard_id" in args:
        return f"Delete dashboard 'Weekly metrics' (id {args['dashboard_id']})"
    if tool_name == "update_feature_flag" and "feature_flag_id" in args:
        verb = "Enable" if args.get("active") else "Disable"
        return f"{verb} feature flag 'new-onboarding' (id {args['feature_flag_id']}) for all users"
    return None


def _what_ran(
    tool_name: str, preview: str, proposed: dict[str, Any], used: dict[str, Any]
) -> tuple[str, str]:
    """What the tool did with the arguments it ran with, and the person's edits in words.

    An edited payload changes what runs (12.5), so the description follows the arguments used,
    not the preview written for the proposed ones.
    """
    changed = {key: value for key, value in used.items() if proposed.get(key, ...) != value}
    if not changed:
        return preview, ""
    edits = ", ".join(f"{key} {json.dumps(value)}" for key, value in changed.items())
    derived = _preview(tool_name, used) if _preview(tool_name, proposed) == preview else None
    return derived or f"{preview}, with {edits}", f" I used your changes: {edits}."


def stop_at(row: Row, pause: Pause, tool_call_id: str, message: str, reply: str | None) -> None:
    """Record the pause in the conversation's checkpoint (and its approval decision).

    `message` is the question the run answers; `reply` the rule's answer after the resume.
    """
    interrupt: dict[str, Any] = {
        "kind": pause.kind,
        "tool_name": pause.tool_name,
        "tool_call_id": tool_call_id,
        "args": pause.args,
        "message": message,
        "reply": reply,
    }
    if pause.kind == "approval":
        proposal_id = str(uuid.uuid4())
        interrupt["proposal_id"] = proposal_id
        row.approvals.append(
            {
                "proposal_id": proposal_id,
                "decision_status": "pending",
                "tool_name": pause.tool_name,
                "preview": pause.preview,
                "message_id": str(uuid.uuid4()),  # PostHog's is fresh, not the ai message's id
                "original_tool_call_id": tool_call_id,
            }
        )
    row.interrupt = interrupt


def abandon(row: Row) -> None:
    """A new message instead of a decision: the paused call never runs (12.7)."""
    for decision in row.approvals:
        if decision["decision_status"] == "pending":
            decision["decision_status"] = "auto_rejected"
    row.interrupt = None


def resume(row: Row, payload: Any) -> Resumed | None:
    """Carry out a resume payload on an idle conversation; None means the run fails at once.

    A failed resume stores nothing; an approve/reject naming a proposal that is not the pending
    interrupt auto-rejects that proposal if it was still pending (12.6).
    """
    interrupt = row.interrupt
    action = payload.get("action") if isinstance(payload, dict) else None
    if action in ("approve", "reject"):
        return _decide(row, payload, action)
    if interrupt is None:
        return None
    call, name = interrupt["tool_call_id"], interrupt["tool_name"]
    reply, asked = interrupt.get("reply"), interrupt.get("message", "")
    if action in ("form", "dismiss_form") and interrupt["kind"] == "form":
        row.interrupt = None
        if action == "dismiss_form":
            answer = reply or f"No problem, I will use sensible defaults. {default_answer(asked)}"
            return Resumed(name, call, DISMISSED, {name: {"status": "dismiss_form"}}, answer)
        answers = payload.get("form_answers")
        answers = answers if isinstance(answers, dict) else {}
        text = form_answer_text(interrupt["args"]["questions"], answers)
        answer = reply or f"Thanks for the answers. {default_answer(asked)}"
        return Resumed(name, call, text, {name: {"status": "form", "answers": answers}}, answer)
    if action == "client_tool_result" and interrupt["kind"] == "client":
        if payload.get("tool_call_id") != call:
            return Resumed(name, call, f"Tool failed: {WRONG_CALL}", {name: None}, _RETRY)
        row.interrupt = None
        result = payload.get("result")
        error = result.get("client_execution_error") if isinstance(result, dict) else None
        answer = reply or f"I could not use {name} here, so here is what I can say without it."
        if error:
            text = f"The client could not run {name}: {error}"
            return Resumed(name, call, text, {name: None}, answer)
        return Resumed(name, call, f"{name} ran in the client.", {name: result}, answer)
    if action in ("form", "dismiss_form", "client_tool_result"):
        return None  # nothing of that kind is waiting
    # Anything else reaches the paused tool, which fails its payload validation and says so.
    text = f"Tool failed: unsupported resume action {action!r}"
    return Resumed(name, call, text, {name: None}, _RETRY)


def _decide(row: Row, payload: dict[str, Any], action: str) -> Resumed | None:
    proposal_id = payload.get("proposal_id")
    interrupt = row.interrupt
    decision = next((d for d in row.approvals if d["proposal_id"] == proposal_id), None)
    if (
        interrupt is None
        or interrupt.get("proposal_id") != proposal_id
        or decision is None
        or decision["decision_status"] != "pending"
    ):
        if decision is not None and decision["decision_status"] == "pending":
            decision["decision_status"] = "auto_rejected"
        return None
    name, call, reply = interrupt["tool_name"], interrupt["tool_call_id"], interrupt.get("reply")
    row.interrupt = None
    if action == "reject":
        decision["decision_status"] = "rejected"
        feedback = payload.get("feedback")
        text = REJECTED_WITH.format(feedback=feedback) if feedback else REJECTED
        answer = reply or (
            "Understood, I left everything as it was. Would you like me to do something else?"
        )
        return Resumed(name, call, text, {name: None}, answer)
    decision["decision_status"] = "approved"
    edited = payload.get("payload")
    args = {**interrupt["args"], **(edited if isinstance(edited, dict) else {})}
    ran, edits = _what_ran(name, decision["preview"], interrupt["args"], args)
    text = f"Done: {ran} (arguments: {json.dumps(args, sort_keys=True)})."
    answer = reply or f"Done. {ran}: carried out.{edits}"
    return Resumed(name, call, text, {name: {"status": "done", "args": args}}, answer)


def form_answer_text(questions: list[dict[str, Any]], answers: dict[str, Any]) -> str:
    """The `create_form` tool's result: one line per question (13.4)."""
    lines = []
    for question in questions:
        title = question.get("question") or question.get("title") or question.get("id", "")
        fields = question.get("fields")
        if question.get("type") == "multi_field" and isinstance(fields, list):
            lines.append(f"{title}:")
            for item in fields:
                value = answers.get(str(item.get("id")))
                lines.append(f"  {item.get('label') or item.get('id')}: {_answer(value)}")
        else:
            lines.append(f"{title}: {_answer(answers.get(str(question.get('id'))))}")
    return "\n".join(lines)


def _answer(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(skipped)"
    if isinstance(value, list):
        return ", ".join(f'"{item}"' if "," in str(item) else str(item) for item in value)
    return str(value)
