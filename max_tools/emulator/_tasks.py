"""The `task` object of a conversation, as PostHog's `ConversationTaskSerializer` writes it.

PostHog (`ee/hogai/api/serializers.py`) serializes a `TaskDetailDTO` of its Tasks product with
the fields of `TaskSerializer.Meta.fields`, in that order (as `mirror_task` writes them);
`latest_run` is narrowed to the latest run's id. The mirror of a
LangGraph chat (reference 16.1) is a PostHog AI task with one import run; a chat continued as a
task (16.3) keeps that task and gains a real run, which becomes `latest_run`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from max_tools.emulator._wire import drf_time

__all__ = ["TEAM_NAME", "mirror_task", "slug"]

TEAM_NAME = "Default project"
"""The name PostHog gives a new project; the emulator's projects all carry it."""


def slug(team_name: str, task_number: int | None) -> str:
    """`Task.slug`: the team's three-letter prefix and the task's number, e.g. ``DEF-0``."""
    if task_number is None:
        return ""
    clean = "".join(c for c in team_name if c.isalnum())
    capitals = [c for c in clean if c.isupper()]
    # PostHog takes three capitals when the name has them, else its first three characters.
    prefix = "".join(capitals[:3]) if len(capitals) >= 3 else (clean[:3].upper() or "TSK")
    return f"{prefix}-{task_number}"


def mirror_task(
    *,
    conversation_id: str,
    task_number: int,
    title: str | None,
    created_at: datetime,
    updated_at: datetime,
    created_by: dict[str, Any],
    continued: bool,
) -> dict[str, Any]:
    """The "Imported chat" task PostHog's mirror makes for a conversation.

    Ids derive from the conversation id so they stay put across requests and restarts.
    `continued`: the chat went on as a task (16.3), so its latest run is a real one, not the
    import run.
    """
    run = "sandbox-run" if continued else "import-run"
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"task:{conversation_id}")),
        "task_number": task_number,
        "slug": slug(TEAM_NAME, task_number),
        # The mirror names the task after the chat and renames it after each turn.
        "title": title or "Imported chat",
        "title_manually_set": False,
        "description": "",
        "origin_product": "posthog_ai",
        "repository": None,
        "github_integration": None,
        "github_user_integration": None,
        "signal_report": None,
        "json_schema": None,
        "internal": False,  # the mirror skips internal chats, so its tasks never are
        "archived": False,
        "archived_at": None,
        "latest_run": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run}:{conversation_id}")),
        "created_at": drf_time(created_at),
        "updated_at": drf_time(updated_at),
        "created_by": created_by,
        "ci_prompt": None,
    }
