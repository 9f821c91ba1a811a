"""The client reads a conversation's `task` as PostHog serializes it, without loss (reference 16.1).

One test reads the emulator over loopback HTTP; the other serves the JSON of PostHog's
`ConversationTaskSerializer` (`ee/hogai/api/serializers.py`), field by field, at the HTTP edge.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.fake_posthog import (
    CID,
    FakePostHog,
    conversation_row,
    json_response,
    stored_conversation,
)

OWNER = {
    "id": 42,
    "uuid": "01890f5e-7b1c-0000-5f2d-3a1b2c3d4e5f",
    "distinct_id": "u-42",
    "first_name": "Ana",
    "last_name": "",
    "email": "ana@example.com",
    "is_email_verified": True,
    "hedgehog_config": None,
    "role_at_organization": "engineering",
}
# A mirror task exactly as PostHog's serializer writes it: its fields, in its order, its types.
POSTHOG_TASK: dict[str, Any] = {
    "id": "0b9a3c52-5d1e-4f0a-9a6f-2c1d7e8f9a10",
    "task_number": 17,
    "slug": "ACM-17",
    "title": "Weekly signups",
    "title_manually_set": False,
    "description": "",
    "origin_product": "posthog_ai",
    "repository": None,
    "github_integration": None,
    "github_user_integration": None,
    "signal_report": None,
    "json_schema": None,
    "internal": False,
    "archived": False,
    "archived_at": None,
    "latest_run": "5e2f1a7b-8c3d-4e9f-a0b1-c2d3e4f5a6b7",
    "created_at": "2026-10-02T09:14:03.512345Z",
    "updated_at": "2026-10-02T09:14:41.001122Z",
    "created_by": OWNER,
    "ci_prompt": None,
}


async def test_get_and_list_keep_the_emulators_task_exactly_as_served(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    reply = await client.ask("Show me a trend of signups")
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
    ) as raw:
        served = (await raw.get(f"{reply.conversation_id}/")).json()["task"]

    conversation = await client.get_conversation(reply.conversation_id)
    page = await client.list_conversations()

    assert served["slug"] == f"DEF-{served['task_number']}"  # the emulator's mirror task
    assert json.dumps(conversation.task) == json.dumps(served)  # every field, in order
    assert json.dumps(page.results[0].task) == json.dumps(served)


async def test_posthogs_exact_task_json_reads_without_loss(posthog: FakePostHog) -> None:
    row = conversation_row(CID, title="Weekly signups", user=OWNER, task=POSTHOG_TASK)
    page = {"count": 1, "next": None, "previous": None, "results": [row]}
    stored = stored_conversation([]) | {"task": POSTHOG_TASK, "agent_runtime": "langgraph"}
    posthog.on("GET", "", json_response(200, page))
    posthog.on("GET", f"{CID}/", json_response(200, stored))

    async with posthog.client() as client:
        listed = (await client.list_conversations()).results[0]
        conversation = await client.get_conversation(CID)

    for read in (listed, conversation):
        assert json.dumps(read.task) == json.dumps(POSTHOG_TASK)
        assert read.model_dump(mode="json")["task"] == POSTHOG_TASK
    assert not conversation.moved  # a task says nothing about the runtime
