"""What a reply that waits for a person shows: the approval card, the form, what to do next.

Compact on purpose: one line per approval field and per question, arguments as compact JSON,
and the exact next call, in the text and in the structured result alike.
"""

from __future__ import annotations

import json
from typing import Any

from max_tools._interrupts import Approval, Form, FormQuestion
from max_tools._reply import Reply, ReplyStatus

__all__ = ["approval_card", "form_cards", "interrupt_lines", "interrupt_step"]

_MAX_ARGUMENTS_CHARS = 600


def approval_card(approval: Approval) -> dict[str, Any]:
    """One approval, compact, for structured results."""
    card: dict[str, Any] = {"proposal_id": approval.proposal_id, "tool": approval.tool_name}
    if approval.preview:
        card["preview"] = approval.preview
    if approval.payload:
        card["arguments"] = approval.payload
    return card


def form_cards(form: Form) -> list[dict[str, Any]]:
    """The form's questions, compact, for structured results."""
    cards = []
    for question in form.questions:
        card: dict[str, Any] = {"id": question.id, "question": question.question or question.title}
        if question.type != "select":
            card["type"] = question.type
        if question.options:
            card["options"] = [option.value for option in question.options]
        if question.allow_custom_answer and question.type != "multi_field":
            card["custom_answer"] = True
        if question.fields:
            card["fields"] = [
                {"id": f.id, "type": f.type, "label": f.label or f.id} for f in question.fields
            ]
        cards.append(card)
    return cards


def interrupt_step(reply: Reply, conversation_id: str) -> str | None:
    """The next call, for the structured result."""
    if reply.status is ReplyStatus.NEEDS_APPROVAL:
        return (
            "ask your user, then call max_approve with this conversation_id, the proposal_id and "
            "decision approve or reject"
        )
    if reply.status is ReplyStatus.NEEDS_ANSWER:
        return (
            "ask your user, then call max_answer with this conversation_id and answers, one "
            "{question_id, answer} per question ([] dismisses)"
        )
    return None


def interrupt_lines(reply: Reply, conversation_id: str) -> list[str]:
    """The text lines of the card or form, with the exact next call."""
    lines: list[str] = []
    for approval in reply.approvals:
        lines.extend(_approval_lines(approval))
    if reply.approvals:
        first = reply.approvals[0].proposal_id
        lines.append(
            "next: ask your user whether to go ahead, then call max_approve with "
            f'conversation_id="{conversation_id}", proposal_id="{first}" and decision "approve" '
            'or "reject" (feedback optional; payload, JSON text, changes arguments). Do not '
            "decide for them. A new max_chat message instead skips the approval."
        )
    if reply.form is not None:
        lines.append("questions:")
        lines.extend(_question_line(question) for question in reply.form.questions)
        items = ", ".join(
            f'{{"question_id": "{q.id}", "answer": ...}}' for q in reply.form.questions
        )
        lines.append(
            f'next: ask your user, then call max_answer with conversation_id="{conversation_id}" '
            f"and answers=[{items}] (answer: a list for multi_select; leave a question out to "
            "skip it; answers=[] dismisses the form)."
        )
    lines.extend(
        f"note: this message skipped the approval {skipped.proposal_id} "
        f"({skipped.tool_name}); that operation will not run."
        for skipped in reply.skipped_approvals
    )
    if reply.quick_replies:
        choices = " | ".join(q.value for q in reply.quick_replies if not q.href)
        if choices:
            lines.append(f"suggested replies (send one with max_chat): {choices}")
    return lines


def _approval_lines(approval: Approval) -> list[str]:
    lines = [f"approval (proposal_id: {approval.proposal_id}):", f"  tool: {approval.tool_name}"]
    if approval.preview:
        lines.append(f"  preview: {approval.preview}")
    if approval.payload:
        lines.append(f"  arguments: {_compact(approval.payload)}")
    return lines


def _question_line(question: FormQuestion) -> str:
    kind = question.type
    if question.fields:
        parts = [f"{f.id} ({f.type}{', optional' if f.optional else ''})" for f in question.fields]
        how = "fields: " + ", ".join(parts)
    elif question.options:
        values = " | ".join(option.value for option in question.options)
        how = f"{'any of' if kind == 'multi_select' else 'one of'}: {values}"
        if question.allow_custom_answer:
            how += "; or a custom answer"
    else:
        how = "free text"
    return f"- {question.id} ({how}): {question.question or question.title or ''}"


def _compact(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text) > _MAX_ARGUMENTS_CHARS:
        return text[:_MAX_ARGUMENTS_CHARS] + "... (cut; the whole payload is in structured content)"
    return text
