"""Conversations that moved to the sandbox runtime, and task mirrors, on the wire (reference 16)."""

from __future__ import annotations

import httpx

from max_tools.emulator import RunningEmulator
from tests.emulator.conftest import project_client
from tests.emulator.wire import messages, new_id, send_body

SANDBOX_400 = (
    b'{"type":"validation_error","code":"invalid_input",'
    b'"detail":"Sandbox conversations must be opened via the open endpoint.","attr":null}'
)


async def asked(api: httpx.AsyncClient, text: str = "Show me a trend of signups") -> str:
    cid = new_id()
    response = await api.post("", json=send_body(text, cid))
    assert response.status_code == 200 and messages(response.content)
    return cid


async def test_create_reconnect_and_resume_on_a_moved_conversation_answer_posthogs_400_exactly(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    cid = await asked(api)
    paused = await asked(api, "Delete the onboarding dashboard")
    proposal = (await api.get(f"{paused}/")).json()["pending_approvals"][0]["proposal_id"]
    emulator.move_to_sandbox(cid)
    emulator.move_to_sandbox(paused)

    create = await api.post("", json=send_body("And by country?", cid))
    reconnect = await api.post("", json=send_body(None, cid))
    resume = await api.post(
        "",
        json=send_body(None, paused, resume_payload={"action": "approve", "proposal_id": proposal}),
    )

    for response in (create, reconnect, resume):
        assert response.status_code == 400
        assert response.content == SANDBOX_400
    assert emulator.conversation(cid).human_messages() == ["Show me a trend of signups"]


async def test_retrieve_of_a_moved_conversation_shows_the_sandbox_runtime_and_its_task(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    cid = await asked(api)
    before = (await api.get(f"{cid}/")).json()
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        moved = await control.post(f"/_emulator/conversations/{cid}/sandbox", json={})

    body = (await api.get(f"{cid}/")).json()

    assert (before["agent_runtime"], before["is_sandbox"], before["task"]) == (
        "langgraph",
        False,
        None,
    )
    assert moved.status_code == 200 and moved.json()["agent_runtime"] == "sandbox"
    assert (body["agent_runtime"], body["is_sandbox"]) == ("sandbox", True)
    assert body["task"]["title"] == "Show me a trend of signups"
    assert body["task"]["origin_product"] == "posthog_ai"  # continued as its mirror task
    assert body["task"]["latest_run"]
    assert list(body)[-1] == "task"  # ConversationSerializer's order, task last


async def test_a_given_task_object_is_shown_as_given(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    cid = await asked(api)
    task = {"id": "7b1c", "title": "Continue signups", "latest_run": "r-9", "extra": [1]}
    emulator.move_to_sandbox(cid, task=task)

    listed = (await api.get("")).json()["results"][0]

    assert listed["task"] == task and "agent_runtime" not in listed  # 3.1: no runtime in lists


async def test_the_mirror_switch_gives_chats_a_task_after_their_first_turn(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    cid = new_id()
    first = await api.post("", json=send_body("Show me a trend of signups", cid))
    conversation_event = first.text.split("event: conversation\ndata: ")[1].split("\n")[0]

    body = (await api.get(f"{cid}/")).json()

    assert '"task": null' in conversation_event  # mirrored after the turn (16.1)
    assert body["agent_runtime"] == "langgraph" and body["task"]["title"] == body["title"]
    follow_up = await api.post("", json=send_body("And by country?", cid))
    assert follow_up.status_code == 200  # a mirrored chat goes on as before
    assert emulator.reset_faults()["mirror_tasks"] is False


async def test_queue_append_and_cancel_of_a_moved_conversation_are_refused(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    cid = await asked(api)
    emulator.move_to_sandbox(cid)

    queued = await api.post(f"{cid}/queue/", json={"content": "later"})
    appended = await api.post(f"{cid}/append_message/", json={"content": "note"})
    canceled = await api.patch(f"{cid}/cancel/")

    assert (queued.status_code, queued.json()["error"]) == (409, "not_running")
    for refused in (appended, canceled):
        assert refused.status_code == 400
        assert refused.json()["detail"] == "This conversation is on the sandbox runtime."


async def test_a_teammates_mirrored_chat_is_not_found(emulator: RunningEmulator) -> None:
    emulator.set_faults(mirror_tasks=True)
    async with project_client(emulator, "conversations/") as owner:
        cid = await asked(owner)
    teammate = httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": "Bearer phx_teammate_key"},
    )
    async with teammate:
        response = await teammate.get(f"{cid}/")

    assert response.status_code == 404


async def test_moving_an_unknown_conversation_is_a_404_of_the_control_api(
    emulator: RunningEmulator,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        response = await control.post(f"/_emulator/conversations/{new_id()}/sandbox")

    assert response.status_code == 404
