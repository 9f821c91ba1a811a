"""The agent executor: one A2A request, run through PostHog AI with the core client.

A new message is sent with `ask` (its events relayed as they come); a message to a task waiting
for input carries the decision or the answers and resumes the run with `approve`, `reject` or
`answer`, which check what waits and send at most once. A message to a busy conversation is
queued, as `max_chat` does, and answered with a plain message (it becomes a task when it runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from a2a.helpers import get_data_parts, get_message_text, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import Message, Task, TaskState, TaskStatus

from a2a_server._clients import Clients
from a2a_server._place import PlaceCheck, PlaceTaken
from a2a_server._relay import Relay
from a2a_server._tasks import TaskKey, parse_task_id
from max_tools import (
    AsyncMaxClient,
    AuthenticationError,
    ConversationBusyError,
    MaxError,
    NotPendingError,
    Reply,
    StreamEvent,
)
from max_tools.agent import explain_error

__all__ = ["NO_QUERY_READ", "MaxExecutor", "sign_in_again", "skill_of"]

NO_QUERY_READ = (
    "your PostHog sign-in does not grant query:read, which reading a chart's data needs. Sign "
    "in again and allow it to get charts."
)

OnEvent = Callable[[StreamEvent], Awaitable[None] | None]
Resume = Callable[[AsyncMaxClient, str, OnEvent], Awaitable[Reply]]


def skill_of(message: Message) -> str | None:
    """The skill a message asks for in its metadata (``{"skill": "sql"}``), if any."""
    # A protobuf Struct: `in` and indexing work, `.get` does not.
    skill = message.metadata["skill"] if "skill" in message.metadata else None  # noqa: SIM401 - Struct has no .get
    return skill if isinstance(skill, str) and skill else None


class MaxExecutor(AgentExecutor):
    """Runs each A2A request through PostHog AI.

    Args:
        clients: which client acts for a call.
        skills: the skills (PostHog AI agent modes) this deployment offers; a message picks one
            with ``metadata.skill``, else PostHog AI chooses.
        charts: whether a reply's charts become artifacts.
    """

    def __init__(self, clients: Clients, *, charts: bool = True) -> None:
        self._clients = clients
        self._charts = charts

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Run one request: a new message, or the input a waiting task asked for."""
        task_id, context_id = str(context.task_id), str(context.context_id)
        key = parse_task_id(task_id)
        message = context.message
        if key is None or message is None:  # the handler's context builder made both
            raise RuntimeError("the A2A request has no task id of this face or no message")
        caller = self._clients.caller(context.call_context)
        client = caller.client
        # Charts come from queries: a sign-in without query:read gets none, and is told so.
        no_charts = NO_QUERY_READ if self._charts and not caller.can_query else None
        updater = TaskUpdater(event_queue, task_id, context_id)
        current = context.current_task
        resuming = (
            current is not None and current.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        )
        start = Task(
            id=task_id,
            context_id=context_id,
            status=TaskStatus(state=TaskState.TASK_STATE_WORKING),
            history=[message],
        )
        relay = Relay(
            event_queue,
            updater,
            None if resuming else start,
            charts=self._charts and caller.can_query,
            no_charts=no_charts,
        )
        try:
            async with relay.running():
                if current is not None and resuming:
                    await self._resume(
                        client, key.conversation_id, current, message, relay, updater
                    )
                else:
                    await self._ask(client, key, message, relay, updater, event_queue)
        except AuthenticationError:
            # PostHog refused the caller's key or sign-in while the task ran (revoked, expired):
            # the task waits for credentials, and the cached check of a sign-in is dropped so
            # that the client's next request gets the 401 that starts a new sign-in.
            caller.forget_token()
            if not relay.started:
                # PostHog refused the message itself: there is no task to wait, and the request
                # is answered 401 as it would have been up front (the handler's `_credentials`).
                raise
            await relay.begin()
            relay.over()
            await updater.requires_auth(
                message=updater.new_agent_message(_text_parts(sign_in_again(caller.signed_in)))
            )

    async def _ask(
        self,
        client: AsyncMaxClient,
        key: TaskKey,
        message: Message,
        relay: Relay,
        updater: TaskUpdater,
        event_queue: EventQueue,
    ) -> None:
        text = get_message_text(message)
        conversation_id = key.conversation_id
        check = PlaceCheck(client, key, relay.event)
        try:
            reply = await client.ask(
                text,
                conversation_id=conversation_id,
                agent_mode=skill_of(message),
                on_event=check.event,
            )
        except ConversationBusyError:
            await self._queue(client, conversation_id, text, event_queue)
            return
        except PlaceTaken as taken:
            # Detached before the task was announced: the run goes on at PostHog as that task.
            await event_queue.enqueue_event(
                new_text_message(
                    "Another message to this context reached PostHog AI first, so this "
                    f"message is task {taken.task_id}: follow it with SubscribeToTask or read "
                    "it with GetTask.",
                    context_id=conversation_id,
                )
            )
            return
        except AuthenticationError:
            if check.heard:  # the message is PostHog's: its task waits for credentials
                await relay.begin()
            raise  # `execute` asks for credentials
        except MaxError as exc:
            if not relay.started:
                raise
            relay.over()
            await updater.failed(
                message=updater.new_agent_message(_text_parts(explain_error(exc) or str(exc)))
            )
            return
        await relay.finish(client, reply)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """The handler already canceled the run at PostHog: record the task as canceled."""
        updater = TaskUpdater(event_queue, str(context.task_id), str(context.context_id))
        await updater.cancel()

    async def _queue(
        self, client: AsyncMaxClient, conversation_id: str, text: str, event_queue: EventQueue
    ) -> None:
        queue = await client.queue_message(conversation_id, text)
        position = len(queue.messages)
        await event_queue.enqueue_event(
            new_text_message(
                f"PostHog AI is still answering an earlier message in this context, so this "
                f"message was queued (position {position} of at most "
                f"{queue.max_queue_messages}); it runs when the current reply ends, as the "
                "context's next task.",
                context_id=conversation_id,
            )
        )

    async def _resume(
        self,
        client: AsyncMaxClient,
        conversation_id: str,
        current: Task,
        message: Message,
        relay: Relay,
        updater: TaskUpdater,
    ) -> None:
        resume = read_decision(current, message)
        if isinstance(resume, str):  # the input does not fit: the task still waits, and says why
            asked = current.status.message
            parts = _text_parts(resume) + [p for p in asked.parts if p.HasField("data")]
            await updater.requires_input(message=updater.new_agent_message(parts))
            return
        try:
            reply = await resume(client, conversation_id, relay.event)
        except NotPendingError as exc:
            # Decided elsewhere (another client, replica or person): nothing was sent again.
            await relay.note(str(exc))
            reply = await client.wait(conversation_id, on_event=relay.event)
        await relay.finish(client, reply)


def sign_in_again(signed_in: bool) -> str:
    """What a caller whose credentials PostHog refused mid-task is told (never the token)."""
    if signed_in:
        return (
            "PostHog no longer accepts your sign-in (it was revoked or has expired). Sign in "
            "with PostHog again, then send your message again."
        )
    return (
        "PostHog refused your personal API key (it was deleted, rolled or has expired). Send "
        "a valid key as 'Authorization: Bearer phx_...', then send your message again."
    )


def _text_parts(text: str) -> list[Any]:
    from a2a.helpers import new_text_part

    return [new_text_part(text)]


def _asked(current: Task) -> dict[str, Any]:
    for data in get_data_parts(current.status.message.parts):
        if isinstance(data, dict):
            return data
    return {}


def read_decision(current: Task, message: Message) -> Resume | str:
    """How to resume a waiting task with this message, or what is wrong with it."""
    asked = _asked(current)
    data = next((d for d in get_data_parts(message.parts) if isinstance(d, dict)), None)
    text = get_message_text(message).strip()
    if asked.get("questions"):
        if data is None or not isinstance(data.get("answers"), Mapping):
            return (
                "PostHog AI waits for answers: send a data part "
                '{"answers": {"<question id>": "<option or text>"}} ({"answers": {}} dismisses).'
            )
        answers = {str(k): v for k, v in data["answers"].items()}
        return lambda client, cid, on_event: client.answer(cid, answers, on_event=on_event)
    approvals = asked.get("approvals") or []
    if data is None and text:
        word, _, rest = text.partition(" ")
        data = {"decision": word.lower().strip(".,:!"), "feedback": rest.strip() or None}
    decision = (data or {}).get("decision")
    if decision not in ("approve", "reject"):
        return (
            'PostHog AI waits for a decision: send a data part {"decision": "approve"} or '
            '{"decision": "reject", "feedback": "..."} (or the text approve / reject).'
        )
    data = data or {}
    proposal_id = data.get("proposal_id") or (
        approvals[0].get("proposal_id") if approvals and isinstance(approvals[0], dict) else None
    )
    if not isinstance(proposal_id, str) or not proposal_id:
        return 'Name the approval: add "proposal_id" to the decision.'
    if decision == "approve":
        payload = data.get("payload")
        if payload is not None and not isinstance(payload, Mapping):
            return '"payload" must be an object of the arguments to change.'
        return lambda client, cid, on_event: client.approve(
            cid, proposal_id, payload=payload, on_event=on_event
        )
    feedback = data.get("feedback")
    feedback = feedback if isinstance(feedback, str) and feedback else None
    return lambda client, cid, on_event: client.reject(
        cid, proposal_id, feedback=feedback, on_event=on_event
    )
