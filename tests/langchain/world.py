"""A served emulator shared by the langchain-tests standard suites, and example arguments.

The standard suites build tools from properties (no fixtures), call them from sync code and from
several event loops, and invoke each tool four times with the same example; so the emulator runs
on a background thread and each read of an example prepares what that call needs.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from functools import cache
from typing import Any

from max_tools import MaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator, serve_in_thread

UNIT_CID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"


@cache
def emulator() -> RunningEmulator:
    stack = ExitStack()
    atexit.register(stack.close)
    return stack.enter_context(serve_in_thread(delay_s=0))


@cache
def client() -> MaxClient:
    max_client = MaxClient(api_key=DEFAULT_KEY, host=emulator().url, project_id=1)
    atexit.register(max_client.close)
    return max_client


def tool_params() -> dict[str, Any]:
    return {"api_key": DEFAULT_KEY, "host": emulator().url, "project_id": 1}


@cache
def conversation() -> str:
    return client().ask("How many signups last week?").conversation_id


def queue_item(conversation_id: str) -> str:
    """The id of a queued message in the conversation (queued now if there is none)."""
    queue = client().get_queue(conversation_id)
    if not queue.messages:
        queue = client().queue_message(conversation_id, "And by country?")
    return queue.messages[0].id


def example(action: str) -> dict[str, Any]:
    """Arguments that make `action` succeed, prepared afresh for each call."""
    cid = conversation()
    if action == "max_chat":
        return {"message": "How many pageviews yesterday?", "wait_s": 30}
    if action == "max_wait":
        return {"conversation_id": cid, "wait_s": 30}
    if action == "max_list_conversations":
        return {"limit": 5}
    if action == "max_get_conversation":
        return {"conversation_id": cid, "last_messages": 5}
    if action == "max_append_message":
        return {"conversation_id": cid, "message": "Noted by the support bot."}
    if action == "max_queue_message":
        client().clear_queue(cid)
        return {"conversation_id": cid, "message": "And by country?"}
    if action in ("max_update_queued_message", "max_delete_queued_message"):
        arguments = {"conversation_id": cid, "queue_id": queue_item(cid)}
        if action == "max_update_queued_message":
            arguments["message"] = "And by region?"
        return arguments
    if action == "max_approve":  # the built-in agent asks approval before deleting
        paused = client().ask("Delete the old dashboard")
        proposal = paused.approvals[0].proposal_id
        return {
            "conversation_id": paused.conversation_id,
            "proposal_id": proposal,
            "decision": "approve",
        }
    if action == "max_answer":  # ... and asks a form for a vague chart request
        paused = client().ask("Make me a chart")
        return {"conversation_id": paused.conversation_id, "answers": {"time_range": "Last 7 days"}}
    if action == "max_get_chart":
        return {"conversation_id": client().ask("Plot weekly signups").conversation_id, "chart": 1}
    if action == "max_delete_conversation":
        return {"conversation_id": client().ask("Temporary question").conversation_id}
    return {"conversation_id": cid}  # max_cancel, max_list_queue, max_clear_queue
