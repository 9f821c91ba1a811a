"""The SDK's task store, answered from PostHog: the face keeps no task store of its own.

`get` reads the task's conversation and builds the task from it, so any replica, or a restarted
server, answers for any task. `save` keeps nothing: what the executor reports is what PostHog
stores (the messages, the status, the pending approval or form). While a task runs, the SDK holds
its events in memory on the replica that runs it, to fan them out to that request's subscribers;
that copy lives only as long as the run on that replica, and every read goes to PostHog.
"""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError

from a2a_server._clients import Clients
from a2a_server._tasks import (
    answer_artifact,
    conversation_id_of,
    human_turns,
    parse_task_id,
    task_from_reply,
    task_from_turn,
    task_id_for,
)
from max_tools import (
    AIMessage,
    AsyncMaxClient,
    Conversation,
    HumanMessage,
    NotFoundError,
    Reply,
    ReplyStatus,
)

__all__ = ["NEW_TASK", "PostHogTaskStore", "read_task"]

NEW_TASK = "max_tools.a2a.new_task"
"""Call-state key: the id of a task this request starts in a new conversation.

PostHog has nothing to read for it yet, so `get` answers None without asking (two requests
saved on every new conversation). It lives in the one request's context, not across requests.
"""

_LIST_CONVERSATIONS = 20
"""Conversations read for one page of ListTasks without a context (each is one request)."""


def read_task(client: AsyncMaxClient, conversation: Conversation, turn: int) -> Task | None:
    """The task for the `turn`-th human message of a conversation, as PostHog has it now.

    Read from `conversation` alone: it asks PostHog nothing more.
    """
    starts = human_turns(conversation.messages)
    if turn < len(starts):
        return task_from_turn(conversation, turn)
    if turn != len(starts):
        return None
    question = conversation.messages[starts[-1]]
    text = question.content if isinstance(question, HumanMessage) else ""
    task_id = task_id_for(conversation.id, turn)
    if conversation.is_running:
        written = [
            m.content
            for m in conversation.messages[starts[-1] + 1 :]
            if isinstance(m, AIMessage) and m.content
        ]
        working = Reply(conversation_id=conversation.id, status=ReplyStatus.IN_PROGRESS)
        task = task_from_reply(task_id, working, text)
        if written:
            task.artifacts.append(answer_artifact(written[-1]))
        return task
    # Not running: what the last run left (an approval, a form, an answer) is in `conversation`.
    reply = client.last_reply(conversation)
    return task_from_reply(task_id, reply, text)


class PostHogTaskStore(TaskStore):
    """Tasks read from PostHog conversations; nothing is written anywhere."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Keep nothing: PostHog already stores what the task's events say (see the module)."""

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task as PostHog has it, or None when there is no such task."""
        key = parse_task_id(task_id)
        if key is None or context.state.get(NEW_TASK) == task_id:
            return None
        client = self._clients.for_call(context)
        try:
            conversation = await client.get_conversation(key.conversation_id)
        except NotFoundError:
            return None
        return read_task(client, conversation, key.turn)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """A context's tasks, or the tasks of the newest conversations, newest first."""
        client = self._clients.for_call(context)
        offset = int(params.page_token) if params.page_token.isdigit() else 0
        if params.context_id:
            cid = conversation_id_of(params.context_id)
            if cid is None:
                raise InvalidParamsError(message="context_id is not a conversation id (a UUID).")
            ids, more = [cid], False
        else:
            page = await client.list_conversations(limit=_LIST_CONVERSATIONS, offset=offset)
            ids, more = [c.id for c in page.results], page.next is not None
        tasks: list[Task] = []
        for cid in ids:
            try:
                conversation = await client.get_conversation(cid)
            except NotFoundError:
                continue
            turns = len(human_turns(conversation.messages))
            for turn in range(turns, 0, -1):
                task = read_task(client, conversation, turn)
                if task is not None and (not params.status or task.status.state == params.status):
                    tasks.append(task)
        if params.HasField("page_size"):
            tasks = tasks[: params.page_size]
        return ListTasksResponse(
            tasks=tasks,
            next_page_token=str(offset + len(ids)) if more else "",
            page_size=len(tasks),
            total_size=len(tasks),
        )

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Tasks are parts of conversations; PostHog deletes whole conversations only."""
        raise UnsupportedOperationError(
            message="A task cannot be deleted alone; delete its conversation in PostHog."
        )
