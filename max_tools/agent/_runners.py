"""The runners of the agent actions: each calls the client and renders a compact result.

A runner takes the client, its action's validated parameters and an optional progress callback,
and returns an `ActionResult` (text for the model, structured data).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import anyio
from pydantic import BaseModel

from max_tools._client import AsyncMaxClient, OnEvent
from max_tools._errors import (
    ConfigurationError,
    ConversationBusyError,
    NotFoundError,
    QueueNotRunningError,
)
from max_tools._interrupts import Approval
from max_tools._reply import Reply
from max_tools.agent._charts import render_chart
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
    render_conversation,
    render_conversation_list,
    render_queue,
)
from max_tools.charts import to_png, vega_lite

__all__ = [
    "ActionResult",
    "answer",
    "append",
    "approve",
    "cancel",
    "chat",
    "clear_queue",
    "delete_conversation",
    "delete_queued",
    "get_chart",
    "get_conversation",
    "list_conversations",
    "list_queue",
    "queue_message",
    "update_queued",
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
    cid = p.conversation_id or str(uuid.uuid4())

    async def ask(on_event: OnEvent) -> Reply:
        return await client.ask(
            p.message,
            conversation_id=cid,
            agent_mode=p.agent_mode,
            wait_s=p.wait_s,
            on_event=on_event,
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
    text, data = render_chat(reply, conversation_id=cid)
    return ActionResult(text, data)


async def wait(client: AsyncMaxClient, p: WaitParams, progress: Progress | None) -> ActionResult:
    async def wait(on_event: OnEvent) -> Reply:
        return await client.wait(p.conversation_id, wait_s=p.wait_s, on_event=on_event)

    reply = await with_progress(progress, wait)
    text, data = render_chat(reply, conversation_id=p.conversation_id)
    return ActionResult(text, data)


async def approve(
    client: AsyncMaxClient, p: ApproveParams, progress: Progress | None
) -> ActionResult:
    async def decide(on_event: OnEvent) -> Reply:
        if p.decision == "approve":
            return await client.approve(
                p.conversation_id,
                p.proposal_id,
                payload=p.payload,
                wait_s=p.wait_s,
                on_event=on_event,
            )
        return await client.reject(
            p.conversation_id,
            p.proposal_id,
            feedback=p.feedback,
            wait_s=p.wait_s,
            on_event=on_event,
        )

    reply = await with_progress(progress, decide)
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def answer(
    client: AsyncMaxClient, p: AnswerParams, progress: Progress | None
) -> ActionResult:
    async def answer(on_event: OnEvent) -> Reply:
        return await client.answer(p.conversation_id, p.answers, wait_s=p.wait_s, on_event=on_event)

    reply = await with_progress(progress, answer)
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def list_conversations(
    client: AsyncMaxClient, p: ListParams, progress: Progress | None
) -> ActionResult:
    page = await client.list_conversations(limit=p.limit, offset=p.offset)
    text, data = render_conversation_list(page, offset=p.offset)
    return ActionResult(text, data)


async def get_chart(
    client: AsyncMaxClient, p: ChartParams, progress: Progress | None
) -> ActionResult:
    chart, result = await client.chart_data(p.conversation_id, p.chart)
    text, data = render_chart(p.conversation_id, chart, result)
    spec = vega_lite(chart, result)
    data.vega_lite = spec
    try:
        png = await anyio.to_thread.run_sync(to_png, spec)
    except ConfigurationError:  # without the charts extra, the table and the spec still go out
        png = None
    return ActionResult(text, data, png)


async def get_conversation(
    client: AsyncMaxClient, p: GetParams, progress: Progress | None
) -> ActionResult:
    conversation = await client.get_conversation(p.conversation_id)
    text, data = render_conversation(conversation, last_messages=p.last_messages)
    return ActionResult(text, data)


async def append(
    client: AsyncMaxClient, p: AppendParams, progress: Progress | None
) -> ActionResult:
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
    queue = await client.get_queue(p.conversation_id)
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id))


async def queue_message(
    client: AsyncMaxClient, p: QueueMessageParams, progress: Progress | None
) -> ActionResult:
    queue = await client.queue_message(p.conversation_id, p.message)
    what = "Queued; it runs when the current reply ends (follow it with max_wait)."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def update_queued(
    client: AsyncMaxClient, p: UpdateQueuedParams, progress: Progress | None
) -> ActionResult:
    queue = await client.update_queued_message(p.conversation_id, p.queue_id, p.message)
    what = f"Changed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def delete_queued(
    client: AsyncMaxClient, p: QueueItemParams, progress: Progress | None
) -> ActionResult:
    queue = await client.delete_queued_message(p.conversation_id, p.queue_id)
    what = f"Removed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def clear_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    queue = await client.clear_queue(p.conversation_id)
    return ActionResult(
        *render_queue(queue, conversation_id=p.conversation_id, what="Cleared the queue.")
    )


async def delete_conversation(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    await client.delete_conversation(p.conversation_id)
    text = f"conversation_id: {p.conversation_id}\nDeleted the conversation."
    return ActionResult(text, DeleteResult(conversation_id=p.conversation_id))
