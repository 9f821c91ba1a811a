"""The emulator's approvals and forms on the wire (reference sections 12 and 13), over plain HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from max_tools.emulator import Rule
from tests.emulator.wire import events, messages, new_id, send_body

KEYS = [
    "proposal_id",
    "decision_status",
    "tool_name",
    "preview",
    "payload",
    "original_tool_call_id",
    "message_id",
]
REJECTED = (
    "The user rejected this operation. Please acknowledge their decision and ask if they would "
    "like to proceed differently."
)
OOPS = "Oops! Something went wrong. Please try again."


async def paused(api: httpx.AsyncClient, text: str = "Delete the onboarding dashboard") -> str:
    cid = new_id()
    response = await api.post("", json=send_body(text, cid))
    sent = messages(response.content)
    last = sent[-1]
    # 12.2: the stream ends at the ai message holding the call: no tool message, no approval event.
    assert last["type"] == "ai" and last["id"] and last["tool_calls"][0]["type"] == "tool_call"
    assert not [m for m in sent if m["type"] == "tool"]
    assert "approval" not in [event for event, _ in events(response.content)]
    return cid


async def conversation(api: httpx.AsyncClient, cid: str) -> dict[str, Any]:
    response = await api.get(f"{cid}/")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def resume(api: httpx.AsyncClient, cid: str, payload: dict[str, Any]) -> httpx.Response:
    return await api.post("", json=send_body(None, cid, resume_payload=payload))


async def test_an_interrupted_run_leaves_a_pending_approval_in_posthogs_shape(
    api: httpx.AsyncClient,
) -> None:
    cid = await paused(api)

    body = await conversation(api, cid)

    assert body["status"] == "idle"
    [item] = body["pending_approvals"]
    assert list(item) == KEYS
    call = body["messages"][-1]["tool_calls"][0]
    assert item["decision_status"] == "pending"
    assert item["payload"] == call["args"] and item["original_tool_call_id"] == call["id"]
    assert item["message_id"] != body["messages"][-1]["id"]  # a fresh id, as PostHog's


async def test_approve_resumes_with_the_tool_message_first_and_empties_the_payload(
    api: httpx.AsyncClient,
) -> None:
    cid = await paused(api)
    [item] = (await conversation(api, cid))["pending_approvals"]

    response = await resume(
        api, cid, {"action": "approve", "proposal_id": item["proposal_id"], "payload": {"x": 1}}
    )

    kinds = [event for event, _ in events(response.content)]
    sent = messages(response.content)
    assert "conversation" not in kinds and sent[0]["type"] == "tool"  # no echo, no conversation
    assert sent[0]["tool_call_id"] == item["original_tool_call_id"]
    assert sent[0]["ui_payload"]["delete_dashboard"]["args"]["x"] == 1  # merged over the proposal
    [after] = (await conversation(api, cid))["pending_approvals"]
    assert (after["decision_status"], after["payload"]) == ("approved", {})


async def test_an_edited_payload_is_what_the_tool_result_and_the_answer_report(
    api: httpx.AsyncClient,
) -> None:
    cid = await paused(api)
    [item] = (await conversation(api, cid))["pending_approvals"]
    proposed = item["payload"]["dashboard_id"]
    edited = proposed + 1

    response = await resume(
        api,
        cid,
        {
            "action": "approve",
            "proposal_id": item["proposal_id"],
            "payload": {"dashboard_id": edited},
        },
    )

    sent = messages(response.content)
    tool, answer = sent[0], [m for m in sent if m["type"] == "ai" and "id" in m][-1]
    assert tool["content"] == (
        f"Done: Delete dashboard 'Weekly metrics' (id {edited}) "
        f'(arguments: {{"dashboard_id": {edited}}}).'
    )
    assert answer["content"] == (
        f"Done. Delete dashboard 'Weekly metrics' (id {edited}): carried out. "
        f"I used your changes: dashboard_id {edited}."
    )
    assert f"id {proposed})" not in tool["content"] + answer["content"]


@pytest.mark.parametrize(
    "emulator_options",
    [
        {
            "rules": [
                Rule(
                    match="archive",
                    approval={
                        "tool_name": "archive_insight",
                        "preview": "Archive insight 'Signups' (id 42)",
                        "payload": {"insight_id": 42},
                    },
                )
            ]
        }
    ],
)
async def test_an_edited_payload_of_a_scripted_tool_is_named_in_the_answer(
    api: httpx.AsyncClient,
) -> None:
    cid = await paused(api, "Archive the signups insight")
    [item] = (await conversation(api, cid))["pending_approvals"]

    response = await resume(
        api,
        cid,
        {"action": "approve", "proposal_id": item["proposal_id"], "payload": {"insight_id": 43}},
    )

    answer = [m for m in messages(response.content) if m["type"] == "ai" and "id" in m][-1]
    assert answer["content"] == (
        "Done. Archive insight 'Signups' (id 42), with insight_id 43: carried out. "
        "I used your changes: insight_id 43."
    )


async def test_reject_uses_posthogs_text_and_a_null_artifact(api: httpx.AsyncClient) -> None:
    cid = await paused(api)
    [item] = (await conversation(api, cid))["pending_approvals"]

    response = await resume(api, cid, {"action": "reject", "proposal_id": item["proposal_id"]})

    tool = messages(response.content)[0]
    assert tool["content"] == REJECTED and tool["ui_payload"] == {"delete_dashboard": None}


async def test_a_stale_resume_fails_alone_and_auto_rejects_its_proposal(
    api: httpx.AsyncClient,
) -> None:
    cid = await paused(api)
    [item] = (await conversation(api, cid))["pending_approvals"]
    before = (await conversation(api, cid))["messages"]
    unknown = await resume(api, cid, {"action": "approve", "proposal_id": new_id()})
    assert [(m["type"], m["content"]) for m in messages(unknown.content)] == [("ai/failure", OOPS)]
    assert (await conversation(api, cid))["pending_approvals"][0]["decision_status"] == "pending"

    await resume(api, cid, {"action": "approve", "proposal_id": item["proposal_id"]})
    again = await resume(api, cid, {"action": "approve", "proposal_id": item["proposal_id"]})

    assert [m["type"] for m in messages(again.content)] == ["ai/failure"]
    body = await conversation(api, cid)
    assert body["status"] == "idle" and len(body["messages"]) == len(before) + 2  # tool, answer


async def test_a_new_message_auto_rejects_and_cancel_does_not(api: httpx.AsyncClient) -> None:
    cid = await paused(api)
    assert (await api.patch(f"{cid}/cancel/")).status_code == 204
    assert (await conversation(api, cid))["pending_approvals"][0]["decision_status"] == "pending"

    await api.post("", json=send_body("How many signups?", cid))

    [item] = (await conversation(api, cid))["pending_approvals"]
    assert (item["decision_status"], item["payload"]) == ("auto_rejected", {})


async def test_a_form_run_leaves_no_approval_and_its_answers_read_as_posthogs(
    api: httpx.AsyncClient,
) -> None:
    cid = new_id()
    response = await api.post("", json=send_body("Make me a chart", cid))
    call = messages(response.content)[-1]["tool_calls"][0]
    assert call["name"] == "create_form" and len(call["args"]["questions"]) == 2
    assert (await conversation(api, cid))["pending_approvals"] == []

    answered = await resume(
        api,
        cid,
        {"action": "form", "form_answers": {"breakdown": ["Country", "Browser, version"]}},
    )

    tool = messages(answered.content)[0]
    assert tool["content"] == (
        "Which time range should I use?: (skipped)\n"
        'Break the chart down by?: Country, "Browser, version"'
    )
    assert tool["ui_payload"] == {
        "create_form": {"status": "form", "answers": {"breakdown": ["Country", "Browser, version"]}}
    }
    no_form = await resume(api, cid, {"action": "dismiss_form"})
    assert [m["type"] for m in messages(no_form.content)] == ["ai/failure"]
