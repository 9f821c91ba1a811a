"""A conversation's `task` pinned to PostHog's `ConversationTaskSerializer` (reference 16.1, 16.3).

The field list is copied from PostHog's `ee/hogai/api/serializers.py` (`TaskSerializer.Meta.fields`,
which `ConversationTaskSerializer` inherits, narrowing `latest_run` to the run's id), not from the
emulator, so the emulator cannot drift from it unnoticed.
"""

from __future__ import annotations

import re
import uuid

import httpx

from max_tools.emulator import RunningEmulator
from tests.emulator.wire import messages, new_id, send_body

POSTHOG_TASK_FIELDS = [
    "id",
    "task_number",
    "slug",
    "title",
    "title_manually_set",
    "description",
    "origin_product",
    "repository",
    "github_integration",
    "github_user_integration",
    "signal_report",
    "json_schema",
    "internal",
    "archived",
    "archived_at",
    "latest_run",
    "created_at",
    "updated_at",
    "created_by",
    "ci_prompt",
]
DRF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def asked(api: httpx.AsyncClient, text: str, **extra: object) -> str:
    cid = new_id()
    response = await api.post("", json=send_body(text, cid, **extra))
    assert response.status_code == 200 and messages(response.content)
    return cid


async def test_a_mirrored_chats_task_has_exactly_posthogs_fields_in_order_in_list_and_retrieve(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    cid = await asked(api, "Show me a trend of signups")

    retrieved = (await api.get(f"{cid}/")).json()
    listed = (await api.get("")).json()["results"][0]

    task = retrieved["task"]
    assert list(task) == POSTHOG_TASK_FIELDS
    assert listed["task"] == task
    assert uuid.UUID(task["id"]) and uuid.UUID(task["latest_run"])
    assert (task["task_number"], task["slug"]) == (0, "DEF-0")
    assert task["title"] == retrieved["title"] and task["title_manually_set"] is False
    assert (task["origin_product"], task["description"]) == ("posthog_ai", "")
    assert [task[k] for k in ("internal", "archived")] == [False, False]
    nulls = ("repository", "github_integration", "github_user_integration", "signal_report")
    assert [task[k] for k in (*nulls, "json_schema", "archived_at", "ci_prompt")] == [None] * 7
    assert task["created_at"] == retrieved["created_at"] and DRF_TIME.match(task["updated_at"])
    assert task["created_by"] == retrieved["user"]  # the owner, as UserBasicSerializer shows them


async def test_task_numbers_count_per_project_and_slugs_follow_them(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    first = await asked(api, "Show me a trend of signups")
    second = await asked(api, "How many pageviews?")
    again = await api.post("", json=send_body("And by country?", first))
    assert again.status_code == 200

    tasks = [(await api.get(f"{cid}/")).json()["task"] for cid in (first, second)]

    assert [(t["task_number"], t["slug"]) for t in tasks] == [(0, "DEF-0"), (1, "DEF-1")]
    assert tasks[0]["id"] != tasks[1]["id"]


async def test_a_chat_continued_as_a_task_keeps_its_task_with_a_new_latest_run(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    cid = await asked(api, "Show me a trend of signups")
    mirrored = (await api.get(f"{cid}/")).json()["task"]

    emulator.move_to_sandbox(cid)
    moved = (await api.get(f"{cid}/")).json()

    assert list(moved["task"]) == POSTHOG_TASK_FIELDS
    kept = ("id", "task_number", "slug", "origin_product", "created_at")
    assert [moved["task"][k] for k in kept] == [mirrored[k] for k in kept]
    assert moved["task"]["latest_run"] != mirrored["latest_run"]  # the sandbox run, not the import


async def test_chats_the_mirror_skips_have_no_task(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    before = await asked(api, "Show me a trend of signups")  # made before mirroring began
    emulator.set_faults(mirror_tasks=True)
    research = await asked(api, "Research our churn", agent_mode="research")

    tasks = [(await api.get(f"{cid}/")).json()["task"] for cid in (before, research)]

    assert tasks == [None, None]  # `amirror_conversation` copies assistant chats only
