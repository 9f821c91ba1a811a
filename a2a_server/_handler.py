"""The SDK's request handler, with what only PostHog can answer: ids, cancel, re-attaching.

- A new task's id is the conversation id and the message's place in it (`_tasks`); a message
  without a context starts a conversation, one with a context continues it.
- `CancelTask` cancels the run at PostHog first: if PostHog refuses (scoped keys, OAuth tokens),
  the error says so and the task is left as it was.
- `SubscribeToTask` follows the run at PostHog (`AsyncMaxClient.wait`), so a second client, on
  any replica, re-attaches to a task that another replica runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
from a2a.helpers import get_data_parts, get_text_parts, new_text_part
from a2a.server.agent_execution import RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.events import Event, EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import TaskUpdater
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import (
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from a2a_server._clients import Clients
from a2a_server._executor import NO_QUERY_READ, MaxExecutor, sign_in_again, skill_of
from a2a_server._relay import Relay
from a2a_server._store import NEW_TASK, PostHogTaskStore
from a2a_server._tasks import (
    TaskKey,
    conversation_id_of,
    human_turns,
    parse_task_id,
    task_id_for,
)
from max_tools import AuthenticationError, NotFoundError, PermissionDeniedError
from max_tools.agent import explain_error

__all__ = ["MaxRequestHandler"]

_DONE = frozenset(
    {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED}
)
READ_ONLY_SIGN_IN = (
    "Your PostHog sign-in grants read access only (no conversation:write): it reads tasks but "
    "cannot {what}. Sign in with PostHog again and allow conversation:write."
)
_IDLE_RELEASE_S = 60.0
"""How long a task waiting for input keeps its in-memory run on this replica (then PostHog)."""


class _TurnIds(SimpleRequestContextBuilder):
    """Gives a new task the id PostHog can resolve: conversation id ~ place of its message."""

    def __init__(self, clients: Clients) -> None:
        super().__init__()
        self._clients = clients

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        if params is not None and not task_id:
            if context_id:
                cid = conversation_id_of(context_id) or ""
                try:
                    conversation = await self._clients.for_call(context).get_conversation(cid)
                    turn = len(human_turns(conversation.messages)) + 1
                except NotFoundError:  # a context the caller minted: a new conversation
                    turn = 1
            else:
                cid, turn = str(uuid.uuid4()), 1
            task_id, context_id = task_id_for(cid, turn), cid
            if turn == 1:
                context.state[NEW_TASK] = task_id
            params.message.task_id = task_id
            params.message.context_id = context_id
        elif params is not None and task_id and not context_id:
            # A message to a task may leave out its context: the task id names it, on any
            # replica (the SDK would otherwise mint a new one where the task is not running).
            key = parse_task_id(task_id)
            if key is not None:
                context_id = params.message.context_id = key.conversation_id
        return await super().build(context, params, task_id, context_id, task)


class MaxRequestHandler(DefaultRequestHandler):
    """The SDK's handler over PostHog AI (see the module for what it adds).

    Args:
        clients: which client acts for a call.
        card: the agent card.
        skills: the skills (agent modes) this deployment offers.
        read_only: refuse whatever sends or cancels (reads only).
        charts: whether charts become artifacts.
    """

    def __init__(
        self,
        *,
        clients: Clients,
        card: AgentCard,
        skills: frozenset[str],
        read_only: bool = False,
        charts: bool = True,
    ) -> None:
        self._clients = clients
        self._store = PostHogTaskStore(clients)
        self._skills = skills
        self._read_only = read_only
        self._charts = charts
        super().__init__(
            agent_executor=MaxExecutor(clients, charts=charts),
            task_store=self._store,
            agent_card=card,
            request_context_builder=_TurnIds(clients),
            interrupted_task_timeout=_IDLE_RELEASE_S,
        )

    @asynccontextmanager
    async def _credentials(self, context: ServerCallContext) -> AsyncIterator[None]:
        """PostHog refusing the caller's credentials makes the request a 401 (`Clients`)."""
        try:
            yield
        except AuthenticationError:
            self._clients.refused(context)
            raise

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        async with self._credentials(context):
            task: Task | None = await super().on_get_task(params, context)
            return task

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        async with self._credentials(context):
            listed: ListTasksResponse = await super().on_list_tasks(params, context)
            return listed

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        async with self._credentials(context):
            await self._check_message(params, context)
            result: Task | Message = await super().on_message_send(params, context)
            return result

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        async with self._credentials(context):
            await self._check_message(params, context)
            async for event in super().on_message_send_stream(params, context):
                yield event

    async def _check_message(self, params: SendMessageRequest, context: ServerCallContext) -> None:
        """Refuse, before anything is sent, what PostHog AI could not take."""
        if self._read_only:
            raise UnsupportedOperationError(
                message="This A2A server is read-only: it reads tasks but sends no messages."
            )
        if self._clients.caller(context).read_only:
            raise UnsupportedOperationError(message=READ_ONLY_SIGN_IN.format(what="send messages"))
        message = params.message
        for part in message.parts:
            if part.HasField("raw") or part.HasField("url"):
                raise InvalidParamsError(
                    message="PostHog AI takes text and data parts only; send the file's content "
                    "as text."
                )
        if not get_text_parts(message.parts) and not get_data_parts(message.parts):
            raise InvalidParamsError(message="The message has no text or data part.")
        if message.context_id and conversation_id_of(message.context_id) is None:
            raise InvalidParamsError(
                message=f"context_id {message.context_id!r} is not a conversation id (a UUID)."
            )
        skill = skill_of(message)
        if skill is not None and skill not in self._skills:
            raise InvalidParamsError(
                message=f"Skill {skill!r} is not offered here; skills: "
                f"{', '.join(sorted(self._skills))}."
            )
        if message.task_id:
            stored = await self._store.get(message.task_id, context)
            if stored is None:
                raise TaskNotFoundError(message=f"Task {message.task_id} was not found.")
            if stored.status.state != TaskState.TASK_STATE_INPUT_REQUIRED:
                raise UnsupportedOperationError(
                    message=f"Task {message.task_id} is {TaskState.Name(stored.status.state)}: "
                    "only a task waiting for input takes a message. Send a new message in its "
                    "context (without task_id) to continue the conversation."
                )

    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        async with self._credentials(context):
            return await self._cancel_task(params, context)

    async def _known(self, task_id: str, context: ServerCallContext) -> tuple[TaskKey, Task]:
        """A task this face can name and PostHog has, with its key; else TaskNotFoundError."""
        key = parse_task_id(task_id)
        task = await self._store.get(task_id, context) if key else None
        if key is None or task is None:
            raise TaskNotFoundError(message=f"Task {task_id} was not found.")
        return key, task

    async def _cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        if self._read_only:
            raise UnsupportedOperationError(message="This A2A server is read-only: no cancel.")
        if self._clients.caller(context).read_only:
            raise UnsupportedOperationError(message=READ_ONLY_SIGN_IN.format(what="cancel tasks"))
        key, task = await self._known(params.id, context)
        if task.status.state in _DONE:
            raise TaskNotCancelableError(
                message=f"Task {params.id} is {TaskState.Name(task.status.state)} already."
            )
        if task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            # Nothing runs, and PostHog keeps the approval or form it waits for whatever a
            # cancel does: a "canceled" answer would read input-required again on the next get,
            # and could still be approved.
            raise TaskNotCancelableError(
                message=f"Task {params.id} waits for input, which PostHog keeps: it cannot be "
                'canceled. Reply to it with {"decision": "reject"} (or {"answers": {}} for '
                "questions), or send a new message in its context, which skips it."
            )
        client = self._clients.for_call(context)
        try:
            await client.cancel(key.conversation_id)
        except PermissionDeniedError as exc:
            raise TaskNotCancelableError(message=explain_error(exc)) from exc
        if await self._active_task_registry.get(params.id) is not None:
            try:
                done: Task | None = await super().on_cancel_task(params, context)
                return done
            except TaskNotCancelableError:  # the run ended on its own as PostHog stopped it
                pass
        canceled = Task()
        canceled.CopyFrom(task)
        canceled.status.state = TaskState.TASK_STATE_CANCELED
        canceled.status.ClearField("message")
        return canceled

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        async with self._credentials(context):
            async for event in self._subscribe(params, context):
                yield event

    async def _subscribe(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        key, task = await self._known(params.id, context)
        if task.status.state in _DONE:
            raise UnsupportedOperationError(
                message=f"Task {params.id} is {TaskState.Name(task.status.state)}: nothing more "
                "will stream; read it with GetTask."
            )
        yield task
        if task.status.state != TaskState.TASK_STATE_WORKING:
            return  # waiting for input: the snapshot says what it waits for
        caller = self._clients.caller(context)
        client = caller.client
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=64)
        queue = _StreamQueue(send)
        updater = TaskUpdater(queue, task.id, task.context_id)
        relay = Relay(
            queue,
            updater,
            None,
            charts=self._charts and caller.can_query,
            no_charts=NO_QUERY_READ if self._charts and not caller.can_query else None,
        )

        async def follow() -> None:
            async with send:
                try:
                    async with relay.running():
                        reply = await client.wait(key.conversation_id, on_event=relay.event)
                        await relay.finish(client, reply)
                except AuthenticationError:
                    # As the executor: the stream has started, so the task waits for credentials
                    # (an error here would reach the client as a task group's internal error).
                    caller.forget_token()
                    relay.over()
                    said = sign_in_again(caller.signed_in)
                    await updater.requires_auth(
                        message=updater.new_agent_message([new_text_part(said)])
                    )

        async with anyio.create_task_group() as task_group, receive:
            task_group.start_soon(follow)
            async for event in receive:
                yield event


class _StreamQueue(EventQueue):
    """An event queue that hands a re-attached task's events to its subscriber's stream."""

    def __init__(self, send: anyio.abc.ObjectSendStream[Event]) -> None:
        self._send = send

    async def enqueue_event(self, event: Event) -> None:
        """Pass one event on (waits while the subscriber is behind)."""
        await self._send.send(event)
