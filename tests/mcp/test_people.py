"""When PostHog AI asks a person, through max-mcp: cards, max_approve/max_answer, elicitation."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from mcp import Client
from mcp_types import (
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
)

from max_tools import AsyncMaxClient, ToolResultMessage
from max_tools.emulator import load_rules
from mcp_server import build_server
from tests.mcp.results import data, text

MODES = ["legacy", "auto"]  # 2025-11-25 (initialize, mid-call requests) and 2026-07-28


class Person:
    """An elicitation callback that answers like a person would, and remembers what it saw."""

    def __init__(
        self,
        action: Literal["accept", "decline", "cancel"] = "accept",
        content: dict[str, Any] | None = None,
    ) -> None:
        self.action = action
        self.content = content or {"decision": "approve"}
        self.asked: list[ElicitRequestParams] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params)
        if self.action != "accept":
            return ElicitResult(action=self.action)
        return ElicitResult(action="accept", content=self.content)


async def test_without_elicitation_the_card_goes_to_the_agent(mcp: Client) -> None:
    paused = await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"})

    card = data(paused)
    assert card["status"] == "needs_approval"
    [approval] = card["approvals"]
    assert approval["tool"] == "delete_dashboard"
    assert "max_approve" in card["next_step"]
    assert f'proposal_id="{approval["proposal_id"]}"' in text(paused)
    assert "Do not decide for them" in text(paused)

    done = await mcp.call_tool(
        "max_approve",
        {
            "conversation_id": card["conversation_id"],
            "proposal_id": approval["proposal_id"],
            "decision": "reject",
            "feedback": "not now",
        },
    )
    assert data(done)["status"] == "completed"


async def test_a_form_goes_to_the_agent_and_max_answer_resumes(mcp: Client) -> None:
    paused = data(await mcp.call_tool("max_chat", {"message": "Make me a chart"}))
    assert paused["status"] == "needs_answer"
    assert [q["id"] for q in paused["questions"]] == ["time_range", "breakdown"]

    done = await mcp.call_tool(
        "max_answer",
        {"conversation_id": paused["conversation_id"], "answers": {"breakdown": ["Country"]}},
    )
    assert data(done)["status"] == "completed"
    assert data(done)["reply"].startswith("Thanks for the answers.")


@pytest.mark.parametrize("mode", MODES)
async def test_the_person_approves_through_elicitation_in_the_same_call(
    max_client: AsyncMaxClient, mode: str
) -> None:
    person = Person(content={"decision": "approve"})
    async with Client(build_server(max_client), mode=mode, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"})

    assert data(result)["status"] == "completed"
    assert "carried out" in data(result)["reply"]
    [asked] = person.asked
    assert "delete_dashboard" in asked.message and "Delete dashboard" in asked.message
    cid = data(result)["conversation_id"]
    conversation = await max_client.get_conversation(cid)
    assert [a.decision_status for a in conversation.pending_approvals] == ["approved"]
    assert sum(m.type == "human" for m in conversation.messages) == 1  # the message went once


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["decline", "cancel"])
async def test_a_declined_elicitation_leaves_the_approval_pending_with_its_card(
    max_client: AsyncMaxClient, mode: str, answer: Literal["decline", "cancel"]
) -> None:
    person = Person(action=answer)
    async with Client(build_server(max_client), mode=mode, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"})

    card = data(result)
    assert card["status"] == "needs_approval"
    assert card["elicitation"] == answer
    assert card["next_step"].startswith("the user was asked and did not decide")
    [approval] = card["approvals"]
    assert approval["tool"] == "delete_dashboard"
    [summary] = (await max_client.list_conversations()).results
    stored = await max_client.get_conversation(summary.id)
    assert [(a.proposal_id, a.decision_status) for a in stored.pending_approvals] == [
        (approval["proposal_id"], "pending")
    ]
    shown = text(result)
    assert "status: needs_approval" in shown and "in_progress" not in shown
    assert f'proposal_id="{approval["proposal_id"]}"' in shown and "call max_approve" in shown
    assert "The user was asked and did not decide" in shown
    assert "nothing was approved or rejected" in shown


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["decline", "cancel"])
async def test_a_declined_elicitation_leaves_the_form_waiting_with_its_questions(
    max_client: AsyncMaxClient, mode: str, answer: Literal["decline", "cancel"]
) -> None:
    person = Person(action=answer)
    async with Client(build_server(max_client), mode=mode, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Make me a chart"})

    form = data(result)
    assert form["status"] == "needs_answer"
    assert form["elicitation"] == answer
    assert form["next_step"].startswith("the user was asked and did not decide")
    assert "ask your user, then call max_answer" in form["next_step"]  # as for an approval
    assert [q["id"] for q in form["questions"]] == ["time_range", "breakdown"]
    shown = text(result)
    assert "status: needs_answer" in shown and "in_progress" not in shown
    assert "call max_answer" in shown
    assert "The user was asked and did not decide" in shown
    assert "nothing was answered" in shown
    [summary] = (await max_client.list_conversations()).results
    stored = await max_client.get_conversation(summary.id)
    assert not any(isinstance(m, ToolResultMessage) for m in stored.messages)  # form not answered


@pytest.mark.parametrize("mode", MODES)
async def test_the_person_answers_a_form_through_elicitation(
    max_client: AsyncMaxClient, mode: str
) -> None:
    person = Person(content={"time_range": "Last 30 days", "breakdown": ["Browser"]})
    async with Client(build_server(max_client), mode=mode, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Make me a chart"})

    assert data(result)["status"] == "completed"
    [asked] = person.asked
    assert isinstance(asked, ElicitRequestFormParams)
    assert set(asked.requested_schema["properties"]) >= {"time_range", "breakdown"}
    [summary] = (await max_client.list_conversations()).results
    stored = await max_client.get_conversation(summary.id)
    tool = next(m for m in stored.messages if isinstance(m, ToolResultMessage))
    assert tool.content == (
        "Which time range should I use?: Last 30 days\nBreak the chart down by?: Browser"
    )


@pytest.mark.parametrize("server_options", [{"approvals": "deny"}])
async def test_deny_rejects_every_approval_and_hides_max_approve(mcp: Client) -> None:
    names = [tool.name for tool in (await mcp.list_tools()).tools]
    result = await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"})

    assert "max_approve" not in names and "max_answer" in names
    assert data(result)["status"] == "completed"
    assert "left everything as it was" in data(result)["reply"]


async def test_agent_policy_never_elicits(max_client: AsyncMaxClient) -> None:
    person = Person()
    server = build_server(max_client, approvals="agent")
    async with Client(server, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"})

    assert data(result)["status"] == "needs_approval"
    assert person.asked == []


async def test_a_decided_proposal_is_a_clear_error(mcp: Client) -> None:
    card = data(await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"}))
    arguments = {
        "conversation_id": card["conversation_id"],
        "proposal_id": card["approvals"][0]["proposal_id"],
        "decision": "approve",
    }
    assert data(await mcp.call_tool("max_approve", arguments))["status"] == "completed"

    again = await mcp.call_tool("max_approve", arguments)

    assert again.is_error
    assert "already approved; nothing was sent" in text(again)


async def test_cancel_says_the_approval_is_still_pending(mcp: Client) -> None:
    card = data(await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"}))

    canceled = await mcp.call_tool("max_cancel", {"conversation_id": card["conversation_id"]})

    assert data(canceled)["pending_approvals"] == [card["approvals"][0]["proposal_id"]]
    assert "is still pending: cancel does not decide it" in text(canceled)


async def test_a_new_message_says_it_skipped_the_approval(mcp: Client) -> None:
    card = data(await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"}))
    proposal = card["approvals"][0]["proposal_id"]

    other = await mcp.call_tool(
        "max_chat", {"message": "How many signups?", "conversation_id": card["conversation_id"]}
    )

    assert data(other)["skipped_approvals"] == [proposal]
    assert f"skipped the approval {proposal}" in text(other)


ALERT_FORM = {
    "match": "set up an alert",
    "form": {
        "questions": [
            {
                "id": "metric",
                "question": "Which metric?",
                "options": [{"value": "Signups"}, {"value": "Pageviews"}],
                "allow_custom_answer": True,
            },
            {
                "id": "config",
                "question": "Configure the alert",
                "type": "multi_field",
                "fields": [
                    {"id": "threshold", "type": "number", "label": "Threshold"},
                    {"id": "notify", "type": "toggle", "label": "Notify me"},
                    {"id": "note", "type": "text", "label": "Note", "optional": True},
                ],
            },
        ]
    },
    "reply": "Alert ready.",
}


@pytest.mark.parametrize("emulator_options", [{"rules": load_rules([ALERT_FORM])}])
@pytest.mark.parametrize("mode", MODES)
async def test_custom_answers_and_fields_through_elicitation_under_the_agent_policy(
    max_client: AsyncMaxClient, mode: str
) -> None:
    person = Person(content={"metric__other": "Weekly actives", "threshold": 50, "notify": True})
    server = build_server(max_client, approvals="agent")  # forms are the user's all the same
    async with Client(server, mode=mode, elicitation_callback=person) as mcp:
        result = await mcp.call_tool("max_chat", {"message": "Please set up an alert"})

    assert data(result)["reply"] == "Alert ready."
    [asked] = person.asked
    assert isinstance(asked, ElicitRequestFormParams)
    fields = asked.requested_schema["properties"]
    assert set(fields) == {"metric", "metric__other", "threshold", "notify", "note"}
    [summary] = (await max_client.list_conversations()).results
    stored = await max_client.get_conversation(summary.id)
    tool = next(m for m in stored.messages if isinstance(m, ToolResultMessage))
    assert tool.content == (
        "Which metric?: Weekly actives\nConfigure the alert:\n  Threshold: 50\n"
        "  Notify me: true\n  Note: (skipped)"
    )


@pytest.mark.parametrize("server_options", [{"read_only": True}])
async def test_a_read_only_server_never_passes_a_decision_on(
    max_client: AsyncMaxClient, server_options: dict[str, Any]
) -> None:
    started = await max_client.ask("Delete the onboarding dashboard")
    person = Person()
    async with Client(
        build_server(max_client, **server_options), elicitation_callback=person
    ) as mcp:
        result = await mcp.call_tool("max_wait", {"conversation_id": started.conversation_id})

    assert data(result)["status"] == "needs_approval"
    assert person.asked == []


async def test_max_approve_streams_the_continuation_with_progress(mcp: Client) -> None:
    card = data(await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"}))
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    done = await mcp.call_tool(
        "max_approve",
        {
            "conversation_id": card["conversation_id"],
            "proposal_id": card["approvals"][0]["proposal_id"],
            "decision": "approve",
        },
        progress_callback=on_progress,
    )

    assert data(done)["status"] == "completed"
    assert len(seen) >= 3 and seen == sorted(seen)


CLIENT_TOOL = {"match": "parse my traces", "client_tool": "create_ai_trace_parser"}


@pytest.mark.parametrize("emulator_options", [{"rules": load_rules([CLIENT_TOOL])}])
async def test_a_front_end_tool_call_does_not_hang_the_reply(mcp: Client) -> None:
    result = data(await mcp.call_tool("max_chat", {"message": "Please parse my traces"}))

    assert result["status"] == "completed"
    assert result["reply"].startswith("I could not use create_ai_trace_parser here")


async def test_max_answer_without_answers_is_refused_and_the_form_keeps_waiting(
    mcp: Client, max_client: AsyncMaxClient
) -> None:
    paused = data(await mcp.call_tool("max_chat", {"message": "Make me a chart"}))

    forgot = await mcp.call_tool("max_answer", {"conversation_id": paused["conversation_id"]})
    nulled = await mcp.call_tool(
        "max_answer", {"conversation_id": paused["conversation_id"], "answers": None}
    )

    for refused in (forgot, nulled):
        assert refused.is_error
        assert "Invalid arguments for max_answer: answers is required" in text(refused)
    stored = await max_client.get_conversation(paused["conversation_id"])
    assert not any(isinstance(m, ToolResultMessage) for m in stored.messages)
    waiting = data(await mcp.call_tool("max_wait", {"conversation_id": paused["conversation_id"]}))
    assert waiting["status"] == "needs_answer"


@pytest.mark.parametrize("empty", [[], {}])
async def test_an_explicitly_empty_answers_dismisses_the_form(
    mcp: Client, max_client: AsyncMaxClient, empty: Any
) -> None:
    paused = data(await mcp.call_tool("max_chat", {"message": "Make me a chart"}))

    done = await mcp.call_tool(
        "max_answer", {"conversation_id": paused["conversation_id"], "answers": empty}
    )

    assert data(done)["status"] == "completed"
    stored = await max_client.get_conversation(paused["conversation_id"])
    tool = next(m for m in stored.messages if isinstance(m, ToolResultMessage))
    assert tool.content.startswith("The user dismissed the form")


async def test_answers_as_items_and_as_an_object_say_the_same(
    mcp: Client, max_client: AsyncMaxClient
) -> None:
    contents = []
    for answers in (
        [{"question_id": "breakdown", "answer": ["Country", "Browser"]}],
        {"breakdown": ["Country", "Browser"]},
    ):
        paused = data(await mcp.call_tool("max_chat", {"message": "Make me a chart"}))
        cid = paused["conversation_id"]
        done = await mcp.call_tool("max_answer", {"conversation_id": cid, "answers": answers})
        assert data(done)["status"] == "completed"
        stored = await max_client.get_conversation(cid)
        contents.append(
            next(m for m in stored.messages if isinstance(m, ToolResultMessage)).content
        )

    assert contents[0] == contents[1]
    assert "Country" in contents[0] and "Browser" in contents[0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"tool": "max_approve", "payload": "dashboard 590"},
            "payload must be a JSON object of the arguments to change, written as text",
        ),
        (
            {"tool": "max_approve", "payload": "[590]"},
            "payload must be a JSON object of the arguments to change, written as text",
        ),
        (
            {
                "tool": "max_answer",
                "answers": [
                    {"question_id": "breakdown", "answer": "Country"},
                    {"question_id": "breakdown", "answer": "Browser"},
                ],
            },
            "answers answer question 'breakdown' once, not twice",
        ),
        (
            {"tool": "max_answer", "answers": [{"question_id": "breakdown"}]},
            "answers.0.answer is required",
        ),
    ],
)
async def test_bad_payloads_and_answers_are_refused_in_our_words(
    mcp: Client, arguments: dict[str, Any], message: str
) -> None:
    tool = arguments.pop("tool")
    card = data(await mcp.call_tool("max_chat", {"message": "Delete the onboarding dashboard"}))
    base: dict[str, Any] = {"conversation_id": card["conversation_id"]}
    if tool == "max_approve":
        base |= {"proposal_id": card["approvals"][0]["proposal_id"], "decision": "approve"}

    refused = await mcp.call_tool(tool, {**base, **arguments})

    assert refused.is_error
    assert message in text(refused)
