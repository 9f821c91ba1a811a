"""The SDK's task store, answered from PostHog: the face keeps no task store of its own.

`get` reads the task's conversation (one request) and builds the task from it, so any replica,
or a restarted server, answers for any task; `list` is `_listing`'s. `save` keeps nothing: what
the executor reports is what PostHog stores (the messages, the status, the pending approval or
form). While a task runs, the SDK holds its events in memory on the replica that runs it, to fan
them out to that request's subscribers; that copy lives only as long as the run on that replica,
and every read goes to PostHog.
"""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.errors import UnsupportedOperationError

from a2a_server._clients import Clients
from a2a_server._listing import list_tasks
from a2a_server._tasks import parse_task_id, read_task
from max_tools import NotFoundError

__all__ = ["NEW_TASK", "PostHogTaskStore"]

NEW_TASK = "max_tools.a2a.new_task"
"""Call-state key: the id of a task this request starts in a new conversation.

PostHog has nothing to read for it yet, so `get` answers None without asking (two requests
saved on every new conversation). It lives in the one request's context, not across requests.
"""


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
        """A context's tasks, or the newest conversations' tasks, newest first (`_listing`)."""
        return await list_tasks(self._clients.for_call(context), params)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Tasks are parts of conversations; PostHog deletes whole conversations only."""
        raise UnsupportedOperationError(
            message="A task cannot be deleted alone; delete its conversation in PostHog."
        )
