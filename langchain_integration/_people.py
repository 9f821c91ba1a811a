"""`MaxToolkit(approvals="interrupt")`: a person decides through LangGraph's `interrupt()`.

When a tool's result waits for a person (``needs_approval`` or ``needs_answer``), the tool calls
`interrupt()` with the card or the form. The graph pauses; resuming it with
``Command(resume={"decision": "approve"})``, ``{"decision": "reject", "feedback": ...}`` or
``{"answers": {...}}`` goes on in the same tool call.

LangGraph re-runs a node from its start when it resumes, so every step before an `interrupt()`
runs again. A step that sends (the message, a decision) must not: each step's result is kept,
keyed by the graph's thread, the task and the call's arguments, and the re-run takes it instead
of sending again. The keeping is in this process: a graph resumed in another process after a
restart asks PostHog AI again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from langchain_core.tools import ToolException

from max_tools.agent import ACTIONS_BY_NAME, ActionResult, parse_arguments

__all__ = ["APPROVAL_MODES", "Steps", "rounds", "settle", "settle_sync", "steps_for"]

APPROVAL_MODES = ("agent", "interrupt")
_MAX_ROUNDS = 4
_KEPT: dict[tuple[str, int], ActionResult] = {}  # (step key, round) -> result, until finished


def needs_person(result: ActionResult) -> bool:
    status = getattr(result.data, "status", None)
    return status in ("needs_approval", "needs_answer")


def card(result: ActionResult) -> dict[str, Any]:
    """What `interrupt()` shows: the card or the form, and how to resume."""
    data = result.data.model_dump(mode="json", exclude_none=True)
    value: dict[str, Any] = {
        "conversation_id": data["conversation_id"],
        "status": data["status"],
        "text": result.text,
    }
    if data["status"] == "needs_approval":
        value["approvals"] = data.get("approvals", [])
        value["resume"] = '{"decision": "approve"} or {"decision": "reject", "feedback": "..."}'
    else:
        value["questions"] = data.get("questions", [])
        value["resume"] = (
            '{"answers": {"<question id>": "<answer>"}} ({"answers": {}} dismisses the form)'
        )
    return value


def decision_for(result: ActionResult, answer: Any) -> tuple[str, dict[str, Any]]:
    """The action and arguments that carry the person's resume value on."""
    data = result.data.model_dump(mode="json", exclude_none=True)
    cid = data["conversation_id"]
    if not isinstance(answer, dict):
        raise ToolException(
            f"Resume the graph with a JSON object, not {type(answer).__name__}: "
            + card(result)["resume"]
        )
    if data["status"] == "needs_approval":
        decision = answer.get("decision")
        if decision not in ("approve", "reject"):
            raise ToolException('Resume with {"decision": "approve"} or {"decision": "reject"}.')
        arguments: dict[str, Any] = {
            "conversation_id": cid,
            "proposal_id": data["approvals"][0]["proposal_id"],
            "decision": decision,
        }
        for key in ("feedback", "payload"):
            if answer.get(key) is not None:
                arguments[key] = answer[key]
        return "max_approve", arguments
    if answer.get("answers") is None:  # forgotten: only an explicit {} dismisses the form
        raise ToolException(
            "Resume with the person's answers: " + card(result)["resume"] + "; nothing was sent."
        )
    return "max_answer", {"conversation_id": cid, "answers": answer["answers"]}


class Steps:
    """The steps of one tool call, kept across LangGraph's re-runs of the node."""

    def __init__(self, tool: str, arguments: dict[str, Any]) -> None:
        from langgraph.config import get_config

        configurable = get_config().get("configurable", {})
        self.key = json.dumps(
            [
                str(configurable.get("thread_id")),
                str(configurable.get("checkpoint_ns")),
                tool,
                arguments,
            ],
            sort_keys=True,
            default=str,
        )

    def kept(self, round_number: int) -> ActionResult | None:
        return _KEPT.get((self.key, round_number))

    def keep(self, round_number: int, result: ActionResult) -> None:
        _KEPT[(self.key, round_number)] = result

    def finish(self) -> None:
        for round_number in range(_MAX_ROUNDS + 1):
            _KEPT.pop((self.key, round_number), None)


def rounds(
    steps: Steps, first: ActionResult
) -> Generator[tuple[Any, Any], ActionResult, ActionResult]:
    """The tool call's rounds, each interrupting with a card; returns the final result.

    Each round yields the step that carries the person's decision on (its action and params)
    and is sent that step's result. The first time, `interrupt()` raises and the graph pauses;
    on the re-run it returns the person's resume value, and steps done already are taken from
    what was kept.
    """
    from langgraph.types import interrupt

    result = first
    for round_number in range(_MAX_ROUNDS):
        if not needs_person(result):
            break
        steps.keep(round_number, result)
        answer = interrupt(card(result))
        kept = steps.kept(round_number + 1)
        if kept is not None:  # a re-run after a later resume: this step was done already
            result = kept
            continue
        name, arguments = decision_for(result, answer)
        target = ACTIONS_BY_NAME[name]
        result = yield target, parse_arguments(target, arguments)
    steps.finish()
    return result


async def settle(
    steps: Steps, first: ActionResult, run: Callable[[Any, Any], Awaitable[ActionResult]]
) -> ActionResult:
    """Interrupt for each person's decision and carry it on; the final result."""
    steps_left = rounds(steps, first)
    try:
        step = next(steps_left)
        while True:
            step = steps_left.send(await run(*step))
    except StopIteration as done:
        final: ActionResult = done.value
        return final


def settle_sync(
    steps: Steps, first: ActionResult, run: Callable[[Any, Any], ActionResult]
) -> ActionResult:
    """`settle` for the synchronous tool path."""
    steps_left = rounds(steps, first)
    try:
        step = next(steps_left)
        while True:
            step = steps_left.send(run(*step))
    except StopIteration as done:
        final: ActionResult = done.value
        return final


def steps_for(mode: str, tool: str, arguments: dict[str, Any]) -> Steps | None:
    """The steps to keep when this call may interrupt: in interrupt mode, inside LangGraph."""
    if mode != "interrupt" or not ACTIONS_BY_NAME[tool].waits_for_people:
        return None
    try:
        from langgraph.config import get_config

        configurable = get_config().get("configurable", {})
    except (ImportError, RuntimeError):  # not inside a LangGraph run: the agent gets the card
        return None
    if configurable.get("thread_id") is None:  # no checkpointer: a graph that cannot resume
        return None
    return Steps(tool, arguments)
