"""The person decides: approvals and forms asked through MCP elicitation, by policy.

``--approvals ask`` (default) asks the user through the host when it declares elicitation, in
the same tool call: on protocols up to 2025-11-25 as a server-to-client request mid-call, on
2026-07-28 as an `InputRequiredResult` that the host answers by calling the tool again (the
state says which conversation and proposal; nothing is sent twice). Without elicitation, the
card goes to the agent. ``agent`` never elicits for approvals, ``deny`` rejects every approval;
forms are asked through elicitation under every policy. A declined or canceled elicitation
leaves the approval (or form) waiting, and the result says so. A read-only server never passes
a decision on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError, create_model

from max_tools.agent import ActionResult

__all__ = ["APPROVAL_POLICIES", "DENIED", "Decision", "Person", "left_waiting"]

APPROVAL_POLICIES = ("ask", "agent", "deny")
DENIED = (
    "This max-mcp deployment does not allow PostHog AI to carry out operations that need "
    "approval; do it in the PostHog app instead."
)
_KEY = "max_person"  # the input request's key in an InputRequiredResult
_MAX_ROUNDS = 4  # interrupts handled in one tool call, at most

Decision = dict[str, Any]
"""What the person decided: arguments for max_approve or max_answer (plus the tool's name)."""
Resume = Callable[[Decision], Awaitable[ActionResult]]


class ApprovalChoice(BaseModel):
    """The approval form shown to the person."""

    decision: Literal["approve", "reject"] = Field(description="Approve or reject the operation.")
    feedback: str = Field(default="", description="Optional: why (for a rejection).")


class Person:
    """Asks the person behind the host, following the server's approval policy."""

    def __init__(self, policy: str, *, resumes: bool = True) -> None:
        self.policy = policy
        self.resumes = resumes  # False on a read-only server: it never passes a decision on

    async def settle(
        self, ctx: Context[Any], result: ActionResult, resume: Resume
    ) -> ActionResult | InputRequiredResult:
        """Carry a result that waits for a person on, as far as the policy and the host allow."""
        for _ in range(_MAX_ROUNDS):
            data = result.data.model_dump()
            status = data.get("status")
            if status not in ("needs_approval", "needs_answer") or not self.resumes:
                return result
            if status == "needs_approval" and self.policy == "deny":
                approval = data["approvals"][0]
                result = await resume(_reject(data, approval, DENIED))
                continue
            # The policy is about approvals; a form is the user's to answer where they can.
            agent_decides = status == "needs_approval" and self.policy == "agent"
            if agent_decides or not _can_elicit(ctx):
                return result
            question, model, state = _question(data)
            if _input_required(ctx):
                request = ElicitRequest(
                    params=ElicitRequestFormParams(
                        message=question, requested_schema=render_elicitation_schema(model)
                    )
                )
                return InputRequiredResult(
                    input_requests={_KEY: request}, request_state=json.dumps(state)
                )
            outcome = await ctx.elicit(question, model)
            decision = _decision(state, outcome.action, getattr(outcome, "data", None))
            if decision is None:
                return left_waiting(result, outcome.action)
            result = await resume(decision)
        return result

    def answered(self, ctx: Context[Any]) -> Decision | None:
        """On a 2026-07-28 retry: the person's decision from the echoed state, if any."""
        state_text, responses = ctx.request_state, ctx.input_responses or {}
        response = responses.get(_KEY)
        if state_text is None or not isinstance(response, ElicitResult):
            return None
        try:
            state = json.loads(state_text)
        except ValueError:
            return None
        if not isinstance(state, dict) or state.get("tool") not in ("max_approve", "max_answer"):
            return None
        content = response.content or {}
        if response.action != "accept":
            return {"declined": response.action, **state}
        model = ApprovalChoice if state["tool"] == "max_approve" else _form_model(state)
        try:
            data = model.model_validate(content)
        except ValidationError:
            return {"declined": "invalid", **state}
        return _decision(state, "accept", data)


def _can_elicit(ctx: Context[Any]) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.elicitation is not None


def _input_required(ctx: Context[Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, "2026-07-28")


def _reject(data: dict[str, Any], approval: dict[str, Any], feedback: str) -> Decision:
    return {
        "tool": "max_approve",
        "conversation_id": data["conversation_id"],
        "proposal_id": approval["proposal_id"],
        "decision": "reject",
        "feedback": feedback,
    }


def _question(data: dict[str, Any]) -> tuple[str, type[BaseModel], dict[str, Any]]:
    cid = data["conversation_id"]
    if data["status"] == "needs_approval":
        approval = data["approvals"][0]
        lines = [f"PostHog AI wants to run {approval['tool']}."]
        if approval.get("preview"):
            lines.append(approval["preview"])
        if approval.get("arguments"):
            lines.append("Arguments: " + json.dumps(approval["arguments"], separators=(",", ":")))
        lines.append("Approve it?")
        state = {
            "tool": "max_approve",
            "conversation_id": cid,
            "proposal_id": approval["proposal_id"],
        }
        return "\n".join(lines), ApprovalChoice, state
    state = {"tool": "max_answer", "conversation_id": cid, "questions": data["questions"]}
    return "PostHog AI asks:", _form_model(state), state


def _form_model(state: dict[str, Any]) -> type[BaseModel]:
    """One elicitation field per question (per input of a multi_field question)."""
    fields: dict[str, Any] = {}
    for question in state["questions"]:
        text = question.get("question") or question["id"]
        options = question.get("options") or []
        if question.get("fields"):
            for item in question["fields"]:
                fields[item["id"]] = _field_for(item, f"{text}: {item.get('label') or item['id']}")
        elif options:
            choice: Any = Literal[tuple(options)]
            kind = list[choice] if question.get("type") == "multi_select" else choice | None
            default: Any = [] if question.get("type") == "multi_select" else None
            fields[question["id"]] = (kind, Field(default=default, description=text))
            if question.get("custom_answer"):
                fields[f"{question['id']}__other"] = (
                    str,
                    Field(default="", description=f"{text} (your own answer)"),
                )
        else:
            fields[question["id"]] = (str, Field(default="", description=text))
    model: type[BaseModel] = create_model("FormAnswers", **fields)
    return model


def _field_for(item: dict[str, Any], text: str) -> tuple[Any, Any]:
    kind = item.get("type")
    if kind in ("number", "slider"):
        return (float | None, Field(default=None, description=text))
    if kind == "toggle":
        return (bool, Field(default=False, description=text))
    return (str, Field(default="", description=text))


def _decision(state: dict[str, Any], action: str, data: BaseModel | None) -> Decision | None:
    if action != "accept" or data is None:
        return None
    values = data.model_dump()
    if state["tool"] == "max_approve":
        decision: Decision = {
            "tool": "max_approve",
            "conversation_id": state["conversation_id"],
            "proposal_id": state["proposal_id"],
            "decision": values["decision"],
        }
        if values.get("feedback"):
            decision["feedback"] = values["feedback"]
        return decision
    return {
        "tool": "max_answer",
        "conversation_id": state["conversation_id"],
        "answers": _answers(state["questions"], values),
    }


def _answers(questions: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in questions:
        qid = question["id"]
        if question.get("fields"):
            for item in question["fields"]:
                value = values.get(item["id"])
                if isinstance(value, bool):
                    answers[item["id"]] = "true" if value else "false"
                elif value not in (None, ""):
                    answers[item["id"]] = str(value).removesuffix(".0")
            continue
        chosen = values.get(qid)
        other = values.get(f"{qid}__other") or ""
        if question.get("type") == "multi_select":
            picked = list(chosen or []) + ([other] if other else [])
            if picked:
                answers[qid] = picked
        elif other or chosen:
            answers[qid] = other or chosen
    return answers


_DID_NOT_DECIDE = {
    "decline": "declined to answer",
    "cancel": "dismissed the question",
    "invalid": "gave an answer that does not fit the question",
}


def left_waiting(result: ActionResult, action: str) -> ActionResult:
    """`result` marked: the person was asked and did not decide (elicitation `action`).

    The result still carries the card or the form and the next call: the approval or form
    waits for a person, whatever the host did with the question.
    """
    how = _DID_NOT_DECIDE.get(action, action)
    data = result.data
    status = getattr(data, "status", None)
    if status not in ("needs_approval", "needs_answer"):
        # Decided elsewhere meanwhile (e.g. in PostHog's web app): say what happened instead.
        note = f"\nThe user was asked and did not decide ({how}); the status above is current."
        return ActionResult(result.text + note, data, result.png)
    undecided = (
        "nothing was approved or rejected"
        if status == "needs_approval"
        else ("nothing was answered")
    )
    note = (
        f"\nThe user was asked and did not decide ({how}); {undecided}, and PostHog AI still "
        "waits. Ask them, then use the next step above."
    )
    step = getattr(data, "next_step", None)
    marked = data.model_copy(
        update={
            "elicitation": action,
            "next_step": f"the user was asked and did not decide ({how}); {step}",
        }
    )
    return ActionResult(result.text + note, marked, result.png)
