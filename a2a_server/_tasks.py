"""Task ids and tasks read from a conversation (no I/O: the conversation is read already).

A task is one message of a person and PostHog AI's work on it; its context is the conversation.
Its id is the conversation id and the message's place among the conversation's human messages,
``<conversation id>~<n>``, so any replica, or a restarted server, resolves it from PostHog alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from a2a.helpers import new_data_part, new_text_part
from a2a.types import Artifact, Message, Part, Role, Task, TaskState, TaskStatus

from max_tools import (
    AIMessage,
    AsyncMaxClient,
    Conversation,
    HumanMessage,
    Reply,
    ReplyStatus,
    Turn,
)
from max_tools import Message as MaxMessage
from max_tools.agent import render_chat

__all__ = [
    "ANSWER_ARTIFACT",
    "STATE_OF",
    "TaskKey",
    "answer_artifact",
    "conversation_id_of",
    "human_turns",
    "parse_task_id",
    "read_task",
    "status_message",
    "task_from_reply",
    "task_from_turn",
    "task_id_for",
]

ANSWER_ARTIFACT = "answer"
"""The artifact id of PostHog AI's answer: one per task, growing while it is written."""

_SEPARATOR = "~"

STATE_OF = {
    ReplyStatus.COMPLETED: TaskState.TASK_STATE_COMPLETED,
    ReplyStatus.IN_PROGRESS: TaskState.TASK_STATE_WORKING,
    ReplyStatus.CANCELED: TaskState.TASK_STATE_CANCELED,
    ReplyStatus.FAILED: TaskState.TASK_STATE_FAILED,
    ReplyStatus.NEEDS_APPROVAL: TaskState.TASK_STATE_INPUT_REQUIRED,
    ReplyStatus.NEEDS_ANSWER: TaskState.TASK_STATE_INPUT_REQUIRED,
}


class TaskKey(tuple[str, int]):
    """A task id taken apart: (conversation id, place of its human message, from 1)."""

    __slots__ = ()

    @property
    def conversation_id(self) -> str:
        """The conversation (the task's context)."""
        return self[0]

    @property
    def turn(self) -> int:
        """The place of the task's message among the conversation's human messages."""
        return self[1]


def task_id_for(conversation_id: str, turn: int) -> str:
    """The id of the task for the `turn`-th human message of a conversation."""
    return f"{conversation_id}{_SEPARATOR}{turn}"


def conversation_id_of(context_id: str) -> str | None:
    """The conversation id a context id names, or None when it is not one (not a UUID)."""
    try:
        return str(uuid.UUID(context_id))
    except ValueError:
        return None


def parse_task_id(task_id: str) -> TaskKey | None:
    """The parts of a task id, or None when it is not one of ours."""
    head, sep, tail = task_id.rpartition(_SEPARATOR)
    conversation_id = conversation_id_of(head) if sep else None
    if conversation_id is None or not tail.isdigit() or int(tail) < 1:
        return None
    return TaskKey((conversation_id, int(tail)))


def human_turns(messages: list[MaxMessage]) -> list[int]:
    """Where each message of a person stands in `messages` (a resume adds none)."""
    return [i for i, m in enumerate(messages) if isinstance(m, HumanMessage) and m.content]


def answer_artifact(text: str) -> Artifact:
    """PostHog AI's answer as the task's artifact."""
    return Artifact(artifact_id=ANSWER_ARTIFACT, name="answer", parts=[new_text_part(text)])


def _user_message(task_id: str, context_id: str, text: str) -> Message:
    return Message(
        message_id=f"{task_id}-question",
        role=Role.ROLE_USER,
        task_id=task_id,
        context_id=context_id,
        parts=[new_text_part(text)],
    )


def task_from_turn(conversation: Conversation, turn: int) -> Task | None:
    """A finished task of a conversation (not its last), read from its stored messages."""
    starts = human_turns(conversation.messages)
    if not 1 <= turn < len(starts):
        return None
    done = Turn.of(conversation.messages[starts[turn - 1] : starts[turn]])
    task_id = task_id_for(conversation.id, turn)
    state = STATE_OF[done.status]
    text = done.question or ""
    return Task(
        id=task_id,
        context_id=conversation.id,
        status=TaskStatus(state=state),
        history=[_user_message(task_id, conversation.id, text)],
        artifacts=[answer_artifact(done.text)] if done.text else [],
    )


def task_from_reply(task_id: str, reply: Reply, question: str | None) -> Task:
    """The task of a conversation's last message, from the reply PostHog gives for it."""
    cid = reply.conversation_id
    return Task(
        id=task_id,
        context_id=cid,
        status=TaskStatus(state=STATE_OF[reply.status], message=status_message(task_id, reply)),
        history=[_user_message(task_id, cid, question)] if question else [],
        artifacts=[answer_artifact(reply.text)] if reply.text else [],
    )


def status_message(task_id: str, reply: Reply) -> Message | None:
    """What the final status says: the card or questions to answer, a failure, a skip."""
    _, result = render_chat(reply, conversation_id=reply.conversation_id)
    lines: list[str] = []
    data: dict[str, Any] = {}
    if result.approvals:
        lines.append(
            "PostHog AI waits for a person to approve or reject this operation. Reply to this "
            'task with a data part {"decision": "approve"} (optionally with "payload", the '
            'arguments to change) or {"decision": "reject", "feedback": "..."}.'
        )
        data["approvals"] = result.approvals
    if result.questions:
        lines.append(
            "PostHog AI asks a person these questions. Reply to this task with a data part "
            '{"answers": {"<question id>": "<option or text>"}}; {"answers": {}} dismisses them.'
        )
        data["questions"] = result.questions
    if result.failure:
        lines.append(f"failure: {result.failure}")
    if result.skipped_approvals:
        lines.append(
            "This message skipped the approval(s) PostHog AI was waiting for: "
            + ", ".join(result.skipped_approvals)
            + "; they were not carried out."
        )
        data["skipped_approvals"] = result.skipped_approvals
    if reply.status is ReplyStatus.CANCELED:
        lines.append("The run was canceled; the answer may be incomplete.")
    if not lines:
        return None
    parts: list[Part] = [new_text_part("\n".join(lines))]
    if data:
        parts.append(new_data_part(data))
    return Message(
        message_id=f"{task_id}-{reply.status.value}",
        role=Role.ROLE_AGENT,
        task_id=task_id,
        context_id=reply.conversation_id,
        parts=parts,
    )


def read_task(client: AsyncMaxClient, conversation: Conversation, turn: int) -> Task | None:
    """The task for the `turn`-th human message of a conversation, as PostHog has it now.

    Read from `conversation` alone: it asks PostHog nothing more.
    """
    starts = human_turns(conversation.messages)
    if turn < len(starts):
        return task_from_turn(conversation, turn)
    if turn != len(starts):
        return None
    question = conversation.messages[starts[-1]]
    text = question.content if isinstance(question, HumanMessage) else ""
    task_id = task_id_for(conversation.id, turn)
    if conversation.is_running:
        written = [
            m.content
            for m in conversation.messages[starts[-1] + 1 :]
            if isinstance(m, AIMessage) and m.content
        ]
        working = Reply(conversation_id=conversation.id, status=ReplyStatus.IN_PROGRESS)
        task = task_from_reply(task_id, working, text)
        if written:
            task.artifacts.append(answer_artifact(written[-1]))
        return task
    # Not running: what the last run left (an approval, a form, an answer) is in `conversation`.
    reply = client.last_reply(conversation)
    return task_from_reply(task_id, reply, text)
