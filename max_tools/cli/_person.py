"""When PostHog AI asks a person, on the command line: the card, the prompts, the commands.

On a terminal (and without ``--no-input``) `max-tools` asks: ``Approve? [y/N]`` with feedback
after a no, and each question of a form with numbered options. Otherwise it prints the card and
the exact commands to run, and exits with `NEEDS_PERSON`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from max_tools import AsyncMaxClient, FormQuestion, Reply, ReplyStatus
from max_tools.cli._terminal import Terminal

__all__ = ["NEEDS_PERSON", "card_lines", "decide"]

NEEDS_PERSON = 3
"""Exit status of a command whose reply waits for a person (an approval or a form)."""

Continue = Callable[..., Awaitable[Reply]]


def card_lines(reply: Reply) -> list[str]:
    """The approval card or the form, with the exact commands that answer it."""
    cid = reply.conversation_id
    lines: list[str] = []
    for approval in reply.approvals:
        lines.append(f"approval needed: PostHog AI wants to run {approval.tool_name}")
        if approval.preview:
            lines.append(f"  {approval.preview}")
        if approval.payload:
            lines.append(f"  arguments: {json.dumps(approval.payload, separators=(',', ':'))}")
        lines.append(f"  approve: max-tools approve {cid} {approval.proposal_id}")
        lines.append(f'  reject:  max-tools reject {cid} {approval.proposal_id} --feedback "..."')
    if reply.form is not None:
        lines.append("PostHog AI asks:")
        for question in reply.form.questions:
            lines.extend(_question_lines(question))
        keys = " ".join(f"{_keys(q)[0]}=..." for q in reply.form.questions)
        lines.append(f"  answer:  max-tools answer {cid} {keys}")
        lines.append(f"  dismiss: max-tools answer {cid} --dismiss")
    return lines


async def decide(
    client: AsyncMaxClient, reply: Reply, terminal: Terminal, follow: Continue
) -> Reply | None:
    """Ask the person at the terminal; the continued reply, or None when they did not answer."""
    cid = reply.conversation_id
    for line in card_lines(reply):
        if not line.lstrip().startswith(("approve:", "reject:", "answer:", "dismiss:")):
            terminal.error(line)
    if reply.status is ReplyStatus.NEEDS_APPROVAL:
        approval = reply.approvals[0]
        choice = terminal.ask("Approve? [y/N] ")
        if choice is None:
            return None
        if choice.strip().lower() in ("y", "yes"):
            return await follow(client.approve, cid, approval.proposal_id)
        feedback = terminal.ask("Feedback for PostHog AI (optional): ") or None
        return await follow(client.reject, cid, approval.proposal_id, feedback=feedback)
    if reply.form is None:
        return None
    answers: dict[str, str | list[str]] = {}
    for question in reply.form.questions:
        given = _ask_question(question, terminal)
        if given is None:
            return None
        answers.update(given)
    if not answers:
        return await follow(client.dismiss_form, cid)
    return await follow(client.answer, cid, answers)


def _question_lines(question: FormQuestion) -> list[str]:
    kind = {"multi_select": " (any of)", "multi_field": ""}.get(question.type, "")
    lines = [f"  {question.id}: {question.question or question.title or ''}{kind}"]
    for number, option in enumerate(question.options, start=1):
        about = f" - {option.description}" if option.description else ""
        lines.append(f"    {number}. {option.value}{about}")
    if question.options and question.allow_custom_answer:
        lines.append("    (or your own answer)")
    lines.extend(
        f"    {field.id}: {field.label or field.id} ({field.type})" for field in question.fields
    )
    return lines


def _keys(question: FormQuestion) -> list[str]:
    return [field.id for field in question.fields] or [question.id]


def _ask_question(question: FormQuestion, terminal: Terminal) -> dict[str, Any] | None:
    """One question's answers (empty when skipped); None when input ended."""
    if question.fields:
        answers: dict[str, Any] = {}
        for field in question.fields:
            given = terminal.ask(f"{field.label or field.id}: ")
            if given is None:
                return None
            if given.strip():
                answers[field.id] = given.strip()
        return answers
    multi = question.type == "multi_select"
    hint = "numbers, comma-separated" if multi else "a number"
    if question.allow_custom_answer or not question.options:
        hint += " or your own answer"
    while True:  # until the picks fit, or input ends
        given = terminal.ask(f"{question.question or question.id} ({hint}; empty skips): ")
        if given is None:
            return None
        picks = [part.strip() for part in given.split(",")] if multi else [given.strip()]
        wrong = next((pick for pick in picks if _no_such_option(question, pick)), None)
        if wrong is None:
            break
        count = len(question.options)
        terminal.error(f"{wrong} is not one of the options: they are numbered 1 to {count}.")
    values = [_option(question, pick) for pick in picks if pick]
    if not values:
        return {}
    return {question.id: values if multi else values[0]}


def _option(question: FormQuestion, pick: str) -> str:
    if pick.isdigit() and 1 <= int(pick) <= len(question.options):
        return question.options[int(pick) - 1].value
    return pick


def _no_such_option(question: FormQuestion, pick: str) -> bool:
    """A number past the numbered options: a slip, not an answer of one's own."""
    return (
        bool(question.options)
        and pick.isdigit()
        and not 1 <= int(pick) <= len(question.options)
        and all(option.value != pick for option in question.options)
    )
