"""Conversation rows, their messages and queues, as PostHog's database and cache hold them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from max_tools.emulator._tasks import mirror_task
from max_tools.emulator._wire import drf_time, utcnow

__all__ = ["MAX_QUEUE_MESSAGES", "Row", "Store", "User"]

logger = logging.getLogger("max_tools.emulator")

MAX_QUEUE_MESSAGES = 2  # ee/hogai/queue.py


@dataclass(slots=True)
class User:
    """The PostHog user behind a personal API key."""

    id: int
    uuid: str
    distinct_id: str
    first_name: str
    email: str

    def basic(self) -> dict[str, Any]:
        """`UserBasicSerializer`, in its field order."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "distinct_id": self.distinct_id,
            "first_name": self.first_name,
            "last_name": "",
            "email": self.email,
            "is_email_verified": True,
            "hedgehog_config": None,
            "role_at_organization": "engineering",
        }


@dataclass(slots=True)
class Row:
    """One `ee_conversation` row plus its checkpointed messages and its queue."""

    id: str
    user: User
    team_id: int
    type: str = "assistant"
    status: str = "idle"
    title: str | None = None
    topic: str | None = None
    agent_mode: str | None = None
    is_internal: bool = False
    deleted: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    messages: list[dict[str, Any]] = field(default_factory=list)
    queue: list[dict[str, Any]] = field(default_factory=list)
    drain_closed: bool = False
    approvals: list[dict[str, Any]] = field(default_factory=list)
    """`approval_decisions`, in insertion order: entries are never removed."""
    interrupt: dict[str, Any] | None = None
    """The checkpoint's pending interrupt: kind, tool_name, tool_call_id, args (, proposal_id)."""
    agent_runtime: str = "langgraph"
    """``sandbox`` once moved to PostHog AI's newer runtime, for good (reference 16.3)."""
    task: dict[str, Any] | None = None
    """A task object given when it was moved; else the mirror's, once mirrored (16.1)."""
    mirrored: bool = False
    """Whether PostHog's task mirror copied the chat (then `task` shows the mirror's task)."""
    task_number: int | None = None
    """The mirror task's number in its project, given when the chat was first mirrored."""

    def touch(self) -> None:
        self.updated_at = utcnow()

    def minimal(self) -> dict[str, Any]:
        """`ConversationMinimalSerializer`, in its field order."""
        return {
            "id": self.id,
            "status": self.status,
            "title": self.title,
            "topic": self.topic,
            "user": self.user.basic(),
            "created_at": drf_time(self.created_at),
            "updated_at": drf_time(self.updated_at),
            "type": self.type,
            "is_internal": self.is_internal,
            "slack_thread_key": None,
            "slack_workspace_domain": None,
            "task": self.task_object(),
        }

    def task_object(self) -> dict[str, Any] | None:
        """`task` as PostHog serializes it: the given object, or the mirror's "Imported chat"."""
        if self.task is not None:
            return self.task
        if not self.mirrored or self.task_number is None:
            return None
        return mirror_task(
            conversation_id=self.id,
            task_number=self.task_number,
            title=self.title,
            created_at=self.created_at,
            updated_at=self.updated_at,
            created_by=self.user.basic(),
            continued=self.agent_runtime == "sandbox",
        )

    def full(self) -> dict[str, Any]:
        """`ConversationSerializer`: the minimal fields, the messages and the extras."""
        data = self.minimal()
        task = data.pop("task")
        data["messages"] = [m for m in self.messages if _shown(m)]
        data["has_unsupported_content"] = False
        data["agent_mode"] = self.agent_mode
        data["agent_runtime"] = self.agent_runtime
        data["is_sandbox"] = self.agent_runtime == "sandbox"
        data["pending_approvals"] = self.pending_approvals()
        data["task"] = task
        return data

    def pending_approvals(self) -> list[dict[str, Any]]:
        """Retrieve's `pending_approvals`: every decision, in PostHog's key order (12.4).

        `payload` is the proposed arguments while the decision is pending, `{}` after.
        """
        interrupt = self.interrupt or {}
        items = []
        for decision in self.approvals:
            live = (
                decision["decision_status"] == "pending"
                and interrupt.get("proposal_id") == decision["proposal_id"]
            )
            items.append(
                {
                    "proposal_id": decision["proposal_id"],
                    "decision_status": decision["decision_status"],
                    "tool_name": decision["tool_name"],
                    "preview": decision["preview"],
                    "payload": interrupt["args"] if live else {},
                    "original_tool_call_id": decision["original_tool_call_id"],
                    "message_id": decision["message_id"],
                }
            )
        return items

    @property
    def approval_pending(self) -> bool:
        """Whether an approval decision is still pending (the queue does not run then)."""
        return any(decision["decision_status"] == "pending" for decision in self.approvals)

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user.id,
            "team_id": self.team_id,
            "type": self.type,
            "title": self.title,
            "topic": self.topic,
            "agent_mode": self.agent_mode,
            "deleted": self.deleted,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "messages": self.messages,
            "approvals": self.approvals,
            "interrupt": self.interrupt,
            "agent_runtime": self.agent_runtime,
            "task": self.task,
            "mirrored": self.mirrored,
            "task_number": self.task_number,
        }


def _shown(message: dict[str, Any]) -> bool:
    """PostHog's `should_output_assistant_message`: no context, no empty assistant messages."""
    if message.get("type") == "context":
        return False
    if message.get("type") == "ai":
        return bool(message.get("content") or message.get("tool_calls") or message.get("meta"))
    return True


class Store:
    """Every row and user, in memory, optionally saved to a JSON file after each change."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.rows: dict[str, Row] = {}
        self.users: dict[str, User] = {}  # by the SHA-256 of the key: keys are never stored
        self._path = Path(path) if path is not None else None
        if self._path is not None and self._path.exists():
            self._load(self._path)

    def user_for(self, key: str) -> User:
        """The user a key belongs to; every distinct key is a distinct user."""
        return self._user(hashlib.sha256(key.encode()).hexdigest())

    def _user(self, key: str) -> User:
        user = self.users.get(key)
        if user is None:
            number = len(self.users) + 1
            user = User(
                id=number,
                uuid=str(uuid.UUID(int=number, version=4)),
                distinct_id=f"emulator-user-{number}",
                first_name=f"Emulator user {number}",
                email=f"user{number}@emulator.invalid",
            )
            self.users[key] = user
        return user

    def mirror(self, row: Row) -> None:
        """Give the row PostHog's mirror task, numbered after the project's other tasks."""
        if row.task_number is None:
            # `Task._assign_task_number`: the team's highest number plus one, from 0.
            numbers = [
                other.task_number
                for other in self.rows.values()
                if other.team_id == row.team_id and other.task_number is not None
            ]
            row.task_number = max(numbers, default=-1) + 1
        row.mirrored = True

    def save(self) -> None:
        """Write the rows to the state file, if there is one (atomically)."""
        if self._path is None:
            return
        users = {user.id: key_hash for key_hash, user in self.users.items()}
        state = {
            "users": users,
            "rows": [row.to_state() for row in self.rows.values()],
        }
        temporary = self._path.with_suffix(self._path.suffix + ".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        os.replace(temporary, self._path)

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            by_id = {int(uid): self._user(key_hash) for uid, key_hash in state["users"].items()}
            for item in state["rows"]:
                row = Row(
                    id=item["id"],
                    user=by_id[item["user_id"]],
                    team_id=item["team_id"],
                    type=item["type"],
                    title=item["title"],
                    topic=item.get("topic"),
                    agent_mode=item.get("agent_mode"),
                    deleted=item["deleted"],
                    created_at=datetime.fromisoformat(item["created_at"]),
                    updated_at=datetime.fromisoformat(item["updated_at"]),
                    messages=item["messages"],
                    approvals=item.get("approvals", []),
                    interrupt=item.get("interrupt"),
                    agent_runtime=item.get("agent_runtime", "langgraph"),
                    task=item.get("task"),
                    mirrored=item.get("mirrored", False),
                    task_number=item.get("task_number"),
                )
                self.rows[row.id] = row
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"The emulator state file {path} cannot be read: {exc!r}") from exc
        logger.info("Loaded %d conversations from %s", len(self.rows), path)
