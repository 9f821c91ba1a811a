"""The catalogue of agent actions: one list that the MCP server and the LangChain tools render.

Each action has a name, a human title, a model-facing description, a pydantic parameters model
(whose field descriptions are what the model reads), safety flags, a result model, and a runner
that returns compact text plus structured data. Adapters stay thin: they translate arguments in
and results, progress and errors out.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from max_tools._client import AsyncMaxClient, OnEvent
from max_tools._errors import (
    ConfigurationError,
    ConversationBusyError,
    InvalidArgumentsError,
    NotFoundError,
    QueueNotRunningError,
)
from max_tools._interrupts import Approval
from max_tools._reply import Reply
from max_tools.agent._params import (
    AnswerParams,
    AppendParams,
    ApproveParams,
    ChatParams,
    ConversationParams,
    GetParams,
    ListParams,
    QueueItemParams,
    QueueMessageParams,
    UpdateQueuedParams,
    WaitParams,
    _Params,
    describe_invalid_arguments,
)
from max_tools.agent._progress import Progress, with_progress
from max_tools.agent._render import (
    AppendResult,
    CancelResult,
    ChatResult,
    ConversationListResult,
    ConversationView,
    DeleteResult,
    QueueResult,
    render_chat,
    render_conversation,
    render_conversation_list,
    render_queue,
)

__all__ = [
    "ACTIONS",
    "Action",
    "ActionResult",
    "input_schema",
    "parse_arguments",
    "select_actions",
]

logger = logging.getLogger("max_tools")

# Results and the catalogue


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action returns: compact text for the model and structured data."""

    text: str
    data: BaseModel


Runner = Callable[[AsyncMaxClient, Any, Progress | None], Awaitable[ActionResult]]


@dataclass(frozen=True, slots=True)
class Action:
    """One agent action, as both adapters expose it."""

    name: str
    title: str
    description: str
    params: type[_Params]
    result: type[BaseModel]
    read_only: bool
    destructive: bool
    idempotent: bool
    run: Runner


# Runners


async def _chat(client: AsyncMaxClient, p: ChatParams, progress: Progress | None) -> ActionResult:
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


async def _wait(client: AsyncMaxClient, p: WaitParams, progress: Progress | None) -> ActionResult:
    async def wait(on_event: OnEvent) -> Reply:
        return await client.wait(p.conversation_id, wait_s=p.wait_s, on_event=on_event)

    reply = await with_progress(progress, wait)
    text, data = render_chat(reply, conversation_id=p.conversation_id)
    return ActionResult(text, data)


async def _approve(
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


async def _answer(
    client: AsyncMaxClient, p: AnswerParams, progress: Progress | None
) -> ActionResult:
    async def answer(on_event: OnEvent) -> Reply:
        return await client.answer(p.conversation_id, p.answers, wait_s=p.wait_s, on_event=on_event)

    reply = await with_progress(progress, answer)
    return ActionResult(*render_chat(reply, conversation_id=p.conversation_id))


async def _list(client: AsyncMaxClient, p: ListParams, progress: Progress | None) -> ActionResult:
    page = await client.list_conversations(limit=p.limit, offset=p.offset)
    text, data = render_conversation_list(page, offset=p.offset)
    return ActionResult(text, data)


async def _get(client: AsyncMaxClient, p: GetParams, progress: Progress | None) -> ActionResult:
    conversation = await client.get_conversation(p.conversation_id)
    text, data = render_conversation(conversation, last_messages=p.last_messages)
    return ActionResult(text, data)


async def _append(
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


async def _cancel(
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


async def _list_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    queue = await client.get_queue(p.conversation_id)
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id))


async def _queue_message(
    client: AsyncMaxClient, p: QueueMessageParams, progress: Progress | None
) -> ActionResult:
    queue = await client.queue_message(p.conversation_id, p.message)
    what = "Queued; it runs when the current reply ends (follow it with max_wait)."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _update_queued(
    client: AsyncMaxClient, p: UpdateQueuedParams, progress: Progress | None
) -> ActionResult:
    queue = await client.update_queued_message(p.conversation_id, p.queue_id, p.message)
    what = f"Changed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _delete_queued(
    client: AsyncMaxClient, p: QueueItemParams, progress: Progress | None
) -> ActionResult:
    queue = await client.delete_queued_message(p.conversation_id, p.queue_id)
    what = f"Removed queued message {p.queue_id}."
    return ActionResult(*render_queue(queue, conversation_id=p.conversation_id, what=what))


async def _clear_queue(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    queue = await client.clear_queue(p.conversation_id)
    return ActionResult(
        *render_queue(queue, conversation_id=p.conversation_id, what="Cleared the queue.")
    )


async def _delete(
    client: AsyncMaxClient, p: ConversationParams, progress: Progress | None
) -> ActionResult:
    await client.delete_conversation(p.conversation_id)
    text = f"conversation_id: {p.conversation_id}\nDeleted the conversation."
    return ActionResult(text, DeleteResult(conversation_id=p.conversation_id))


ACTIONS: tuple[Action, ...] = (
    Action(
        name="max_chat",
        title="Ask PostHog AI",
        description=(
            "Ask PostHog AI (Max) a product-analytics question, or continue a conversation. "
            "Streams the reply for up to wait_s seconds; returns it with the conversation_id. "
            "in_progress: call max_wait with it. A busy conversation queues the message."
        ),
        params=ChatParams,
        result=ChatResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_chat,
    ),
    Action(
        name="max_wait",
        title="Wait for a PostHog AI reply",
        description=(
            "Follow a reply still being written (in_progress or queued) until it ends or wait_s "
            "runs out; returns it so far. Works from any process."
        ),
        params=WaitParams,
        result=ChatResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_wait,
    ),
    Action(
        name="max_approve",
        title="Decide on a PostHog AI operation",
        description=(
            "Pass on a person's decision on an operation PostHog AI proposed (needs_approval), "
            "then follow the run like max_chat."
        ),
        params=ApproveParams,
        result=ChatResult,
        read_only=False,
        destructive=True,
        idempotent=False,
        run=_approve,
    ),
    Action(
        name="max_answer",
        title="Answer PostHog AI's questions",
        description=(
            "Pass on a person's answers to PostHog AI's questions (needs_answer), then follow "
            "the run like max_chat."
        ),
        params=AnswerParams,
        result=ChatResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_answer,
    ),
    Action(
        name="max_list_conversations",
        title="List PostHog AI conversations",
        description=(
            "List your PostHog AI conversations, newest first: id, title, status and last update."
        ),
        params=ListParams,
        result=ConversationListResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_list,
    ),
    Action(
        name="max_get_conversation",
        title="Read a PostHog AI conversation",
        description=("Read a conversation: its status, title and its latest messages, compactly."),
        params=GetParams,
        result=ConversationView,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_get,
    ),
    Action(
        name="max_append_message",
        title="Store an assistant message",
        description=(
            "Store an assistant message in a conversation without running PostHog AI (for notes "
            "such as a ticket confirmation)."
        ),
        params=AppendParams,
        result=AppendResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_append,
    ),
    Action(
        name="max_cancel",
        title="Cancel a PostHog AI reply",
        description=(
            "Stop the reply being written in a conversation and clear its queued follow-ups. "
            "Harmless when nothing is running."
        ),
        params=ConversationParams,
        result=CancelResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=_cancel,
    ),
    Action(
        name="max_list_queue",
        title="List queued follow-ups",
        description=(
            "List the follow-up messages queued in a conversation (they run after the current "
            "reply)."
        ),
        params=ConversationParams,
        result=QueueResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=_list_queue,
    ),
    Action(
        name="max_queue_message",
        title="Queue a follow-up",
        description=(
            "Queue a follow-up message to run when the current reply ends (at most 2 can wait)."
        ),
        params=QueueMessageParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=_queue_message,
    ),
    Action(
        name="max_update_queued_message",
        title="Edit a queued follow-up",
        description=("Change the text of a queued follow-up before it runs."),
        params=UpdateQueuedParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=_update_queued,
    ),
    Action(
        name="max_delete_queued_message",
        title="Remove a queued follow-up",
        description=("Remove one queued follow-up so it never runs."),
        params=QueueItemParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_delete_queued,
    ),
    Action(
        name="max_clear_queue",
        title="Clear queued follow-ups",
        description=("Remove every queued follow-up of a conversation."),
        params=ConversationParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_clear_queue,
    ),
    Action(
        name="max_delete_conversation",
        title="Delete a PostHog AI conversation",
        description=(
            "Delete a conversation of yours. It disappears from lists and cannot be continued."
        ),
        params=ConversationParams,
        result=DeleteResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=_delete,
    ),
)


def input_schema(action: Action) -> dict[str, Any]:
    """The JSON schema of an action's arguments, as both adapters publish it."""
    return action.params.model_json_schema()


def select_actions(*, read_only: bool = False, names: Sequence[str] | None = None) -> list[Action]:
    """The actions to expose: all, only read-only ones, and/or those named.

    Raises:
        ConfigurationError: a name is not an action.
    """
    known = {action.name: action for action in ACTIONS}
    if names is not None:
        wanted = [name.strip() for name in names if name.strip()]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ConfigurationError(
                f"Unknown tool name(s) {', '.join(unknown)}; the tools are {', '.join(known)}."
            )
        chosen = [action for action in ACTIONS if action.name in wanted]
    else:
        chosen = list(ACTIONS)
    return [action for action in chosen if action.read_only or not read_only]


def parse_arguments(action: Action, arguments: dict[str, Any]) -> _Params:
    """Validate tool arguments against the action's parameters.

    Raises:
        InvalidArgumentsError: one sentence naming each bad argument and what it needs.
    """
    try:
        return action.params.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidArgumentsError(describe_invalid_arguments(action.name, exc)) from None
