"""The runners of the agent actions: each calls the client and renders a compact result.

A runner takes the client, its action's validated parameters and an optional progress callback,
and returns an `ActionResult` (text for the model, structured data). Its docstring is what the
model reads about the action: the first line is the tool's title, the rest its description
(the catalogue takes both from here, as MCP servers commonly take a tool's from its function).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

import anyio
from pydantic import BaseModel

from max_tools._client import AsyncMaxClient
from max_tools._errors import (
    ConfigurationError,
    ConversationBusyError,
    NotFoundError,
    QueueNotRunningError,
)
from max_tools._interrupts import Approval
from max_tools.agent._charts import render_chart
from max_tools.agent._conversations import render_conversation, render_conversation_list
from max_tools.agent._params import (
    AnswerParams,
    AppendParams,
    ApproveParams,
    ChartParams,
    ChatParams,
    ConversationParams,
    GetParams,
    ListParams,
    QueueItemParams,
    QueueMessageParams,
    UpdateQueuedParams,
    WaitParams,
)
from max_tools.agent._progress import Progress, with_progress
from max_tools.agent._render import (
    AppendResult,
    CancelResult,
    DeleteResult,
    render_chat,
    render_queue,
)
from max_tools.charts import to_png, vega_lite

__all__ = [
    "ActionResult",
    "answer",
    "append_message",
    "approve",
    "cancel",
    "chat",
    "clear_queue",
    "delete_conversation",
    "delete_queued_message",
    "get_chart",
    "get_conversation",
    "list_conversations",
    "list_queue",
    "queue_message",
    "update_queued_message",
    "wait",
]


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action returns: compact text for the model and structured data."""

    text: str
    data: BaseModel
    png: bytes | None = None
    """A picture for hosts that show images (max_get_chart, with the charts extra)."""


async def chat(client: AsyncMaxClient, p: ChatParams, progress: Progress | None) -> ActionResult:
    """Ask PostHog AI.

    Ask PostHog AI (Max) a product-analytics question, or continue a conversation. Streams the
    reply for up to wait_s seconds; returns it with the conversation_id. in_progress: call
    max_wait with it. A busy conversation queues the message.
    """
    cid = p.conversation_id or str(uuid.uuid4())
    ask = partial(
        client.ask, p.message, conversation_id=cid, agent_mode=p.agent_mode, wait_s=p.wait_s
    )
    try:
        reply = await with_progress(progress, ask)
    except ConversationBusyError:
        try:
            queue = await client.queue_message(cid, p.message, agent_mode=p.agent_mode)
        except QueueNotRunningError:  # the earlier reply ended meanwhile: send it after all
            reply = await with_progress(progress, ask)
        else:
            mine = [item for item in queue.messages if item.content == p.message]
            queue_id = mine[-1].id if mine else None
            text, data = render_chat(None, conversation_id=cid, queued=queue, queue_id=queue_id)
            return ActionResult(text, data)
    return ActionResult(*render_chat(reply, conversation_id=cid))


async def wait(client: AsyncMaxClient, p: WaitParams, progress: Progress | None) -> ActionResult:
    """Wait for a PostHog AI reply.

    Follow a reply still being written (in_progress or queued) until it ends or wait_s runs
    out; returns it so far. Works from any process.
    """
    reply = await with_progress(progress, partial(client.wait, p.conversation_id, wait_s=p.wait_s))
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def approve(
    client: AsyncMaxClient, p: ApproveParams, progress: Progress | None
) -> ActionResult:
    """Decide on a PostHog AI operation.

    Pass on a person's decision on an operation PostHog AI proposed (needs_approval), then
    follow the run like max_chat.
    """
    decide = (
        partial(client.approve, payload=p.payload)
        if p.decision == "approve"
        else partial(client.reject, feedback=p.feedback)
    )
    follow = partial(decide, p.conversation_id, p.proposal_id, wait_s=p.wait_s)
    reply = await with_progress(progress, follow)
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def answer(
    client: AsyncMaxClient, p: AnswerParams, progress: Progress | None
) -> ActionResult:
    """Answer PostHog AI's questions.

    Pass on a person's answers to PostHog AI's questions (needs_answer), then follow the run
    like max_chat.
    """
    follow = partial(client.answer, p.conversation_id, p.by_question(), wait_s=p.wait_s)
    reply = await with_progress(progress, follow)
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def list_conversations(
    client: AsyncMaxClient, p: ListParams, progress: Progress | None
) -> ActionResult:
    """List PostHog AI conversations.

    List your PostHog AI conversations, newest first: id, title, status and last update.
    """
    page = await client.list_conversations(limit=p.limit, offset=p.offset)
    return ActionResult(*render_conversation_list(page, offset=p.offset))


async def get_conversation(
    client: AsyncMaxClient, p: GetParams, progress: Progress | None
) -> ActionResult:
    """Read a PostHog AI conversation.

    Read a conversation: its status, title and its latest messages, compactly.
    """
    conversation = await client.get_conversation(p.conversation_id)
    return ActionResult(*render_conversation(conversation, last_messages=p.last_messages))


async def get_chart(
    client: AsyncMaxClient, p: ChartParams, progress: Progress | None
) -> ActionResult:
    """Read a chart's numbers.

    The numbers behind chart N (from 1) of a conversation, as a table.
    """
    chart, result = await client.chart_data(p.conversation_id, p.chart)
    text, data = render_chart(p.conversation_id, chart, result)
    spec = vega_lite(chart, result)
    data.vega_lite = spec
    try:
        png = await anyio.to_thread.run_sync(to_png, spec)
    except ConfigurationError:  # without the charts extra, the table and the spec still go out
        png = None
    return ActionResult(text, data, png)


async def append_message(
    client: AsyncMaxClient, p: AppendParams, progress: Progress | None
) -> ActionResult:
    """Store an assistant message.

    Store an assistant message in a conversation without running PostHog AI (for notes such
    as a ticket confirmation).
    """
    message_id = await client.append_message(p.conversation_id, p.message)
    text = (
        f"conversation_id: {p.conversation_id}\nStored the assistant message (message_id: "
        f"{message_id}); PostHog AI did not run."
    )
    return ActionResult(
        text, AppendResult(conversation_id=p.conversation_id, message_id=message_id)
    )


async def cancel(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    """Cancel a PostHog AI reply.

    Stop the reply being written in a conversation and clear its queued follow-ups. Harmless
    when nothing is running.
    """
    await client.cancel(p.conversation_id)
    text = (
        f"conversation_id: {p.conversation_id}\nCanceled: any running reply was stopped and the "
        "queue of follow-ups was cleared."
    )
    waiting = await _still_waiting(client, p.conversation_id)
    if waiting:
        text += (
            f"\nThe approval {waiting[0].proposal_id} ({waiting[0].tool_name}) is still pending: "
            "cancel does not decide it. Decide it with max_approve; a new message skips it."
        )
    return ActionResult(
        text,
        CancelResult(
            conversation_id=p.conversation_id,
            pending_approvals=[a.proposal_id for a in waiting] or None,
        ),
    )


async def _still_waiting(client: AsyncMaxClient, conversation_id: str) -> list[Approval]:
    """The approvals a cancel left pending (reference 12.8)."""
    try:
        conversation = await client.get_conversation(conversation_id)
    except NotFoundError:  # untitled yet: nothing was proposed
        return []
    return [a for a in conversation.pending_approvals if a.pending]


async def list_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    """List queued follow-ups.

    List the follow-up messages queued in a conversation (they run after the current reply).
    """
    queue = await client.get_queue(p.conversation_id)
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id))


async def queue_message(
    client: AsyncMaxClient, p: QueueMessageParams, progress: Progress | None
) -> ActionResult:
    """Queue a follow-up.

    Queue a follow-up message to run when the current reply ends (at most 2 can wait).
    """
    queue = await client.queue_message(p.conversation_id, p.message)
    what = "Queued; it runs when the current reply ends (follow it with max_wait)."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def update_queued_message(
    client: AsyncMaxClient, p: UpdateQueuedParams, progress: Progress | None
) -> ActionResult:
    """Edit a queued follow-up.

    Change the text of a queued follow-up before it runs.
    """
    queue = await client.update_queued_message(p.conversation_id, p.queue_id, p.message)
    what = f"Changed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def delete_queued_message(
    client: AsyncMaxClient, p: QueueItemParams, progress: Progress | None
) -> ActionResult:
    """Remove a queued follow-up.

    Remove one queued follow-up so it never runs.
    """
    queue = await client.delete_queued_message(p.conversation_id, p.queue_id)
    what = f"Removed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def clear_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    """Clear queued follow-ups.

    Remove every queued follow-up of a conversation.
    """
    queue = await client.clear_queue(p.conversation_id)
    what = "Cleared the queue."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def delete_conversation(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    """Delete a PostHog AI conversation.

    Delete a conversation of yours. It disappears from lists and cannot be continued.
    """
    await client.delete_conversation(p.conversation_id)
    text = f"conversation_id: {p.conversation_id}\nDeleted the conversation."
    return ActionResult(text, DeleteResult(conversation_id=p.conversation_id))
