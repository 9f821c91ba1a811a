"""ListTasks over PostHog: pages of tasks, newest first, read a few conversations at a time.

A page lists the tasks of PostHog's conversations (or of one context), each conversation's newest
task first. Its conversations are read `READ_AT_ONCE` at a time, in order, and reading stops once
the page holds `page_size` tasks; a conversation that cannot give a task the page asks for (an
idle one, for `working` tasks) is not read at all.

A page token says where the next task is: ``<n>`` is the n-th conversation of PostHog's list
(newest first, from 0), from its newest task; ``<n>:<turn>:<conversation id>`` is that
conversation from its task ``turn`` down. A task's turn never changes as its conversation goes
on, so a client paging through sees each task once while the list keeps its order. PostHog
orders it by last activity and pages it by offset: a conversation that moves between two pages
can be listed twice or skipped (as with PostHog's own list), but the turn of a token never cuts
the tasks of another conversation that took its place (the token names its conversation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from a2a.types import ListTasksRequest, ListTasksResponse, Task, TaskState
from a2a.utils.errors import InvalidParamsError

from a2a_server._tasks import conversation_id_of, human_turns, read_task
from max_tools import AsyncMaxClient, Conversation, MaxError, NotFoundError

__all__ = ["LIST_CONVERSATIONS", "READ_AT_ONCE", "list_tasks"]

LIST_CONVERSATIONS = 20
"""Conversations listed for one page of ListTasks without a context (one request)."""

READ_AT_ONCE = 4
"""Conversations read at the same time for one page (each read is one request to PostHog)."""


@dataclass(frozen=True, slots=True)
class _Row:
    """A conversation the page may read: its place in PostHog's list, and whether it runs."""

    place: int
    conversation_id: str
    running: bool | None = None
    """None when unknown (a context named by the caller is not listed)."""


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a page starts: a conversation's place, and the newest turn to give (None: all)."""

    place: int = 0
    turn: int | None = None
    conversation_id: str | None = None
    """The conversation `turn` is of (None in a token from before it was named: any)."""

    def newest(self, row: _Row, turns: int) -> int:
        """The newest turn of `row`'s conversation this page gives, of its `turns`."""
        if row.place != self.place or self.turn is None:
            return turns
        if self.conversation_id not in (None, row.conversation_id):
            return turns  # another conversation took the place since: all of its tasks
        return min(turns, self.turn)


def _parse_token(token: str) -> _Start:
    """The place a page token names; an unknown token starts at the beginning (as before)."""
    place, _, rest = token.partition(":")
    turn, _, conversation_id = rest.partition(":")
    if not place.isdigit() or (turn and not turn.isdigit()):
        return _Start()
    return _Start(int(place), int(turn) if turn else None, conversation_id or None)


def _token(place: int, turn: int | None = None, conversation_id: str = "") -> str:
    return str(place) if turn is None else f"{place}:{turn}:{conversation_id}"


async def list_tasks(client: AsyncMaxClient, params: ListTasksRequest) -> ListTasksResponse:
    """A page of a context's tasks, or of the tasks of the newest conversations, newest first."""
    start = _parse_token(params.page_token)
    rows, listed_end, more = await _rows(client, params, start)
    if params.status == TaskState.TASK_STATE_WORKING:
        # Only a running conversation has a working task (its last one): the rest are not read.
        rows = [row for row in rows if row.running is not False]
    wanted = params.page_size if params.HasField("page_size") else None
    tasks: list[Task] = []
    index = 0
    while index < len(rows):
        at_once = READ_AT_ONCE
        if wanted is not None and not params.status:
            # Unfiltered, a conversation gives at least one task: read no more than can fit.
            at_once = min(at_once, wanted - len(tasks))
        batch = rows[index : index + at_once]
        index += len(batch)
        for row, conversation in zip(batch, await _read(client, batch), strict=True):
            if conversation is None:
                continue
            newest = start.newest(row, len(human_turns(conversation.messages)))
            for turn in range(newest, 0, -1):
                task = read_task(client, conversation, turn)
                if task is None or (params.status and task.status.state != params.status):
                    continue
                tasks.append(task)
                if len(tasks) == wanted:
                    return _page(tasks, _after(row, turn, rows, _token(listed_end) if more else ""))
    return _page(tasks, _token(listed_end) if more else "")


def _after(row: _Row, turn: int, rows: Sequence[_Row], then: str) -> str:
    """The token of the task after `turn` of `row`: its older turn, the next row, or `then`."""
    if turn > 1:
        return _token(row.place, turn - 1, row.conversation_id)
    later = [r.place for r in rows if r.place > row.place]
    return _token(later[0]) if later else then


async def _rows(
    client: AsyncMaxClient, params: ListTasksRequest, start: _Start
) -> tuple[list[_Row], int, bool]:
    """The conversations a page may read, the place after them, and whether PostHog has more."""
    if params.context_id:
        cid = conversation_id_of(params.context_id)
        if cid is None:
            raise InvalidParamsError(message="context_id is not a conversation id (a UUID).")
        return ([_Row(0, cid)] if start.place == 0 else []), 1, False
    page = await client.list_conversations(limit=LIST_CONVERSATIONS, offset=start.place)
    rows = [_Row(start.place + i, c.id, running=c.is_running) for i, c in enumerate(page.results)]
    return rows, start.place + len(rows), page.next is not None


async def _read(client: AsyncMaxClient, rows: Sequence[_Row]) -> list[Conversation | None]:
    """The rows' conversations (None: gone), read at the same time, in the rows' order.

    An error of PostHog's is raised as itself (the first in order), not in an exception group:
    the handler answers a refused credential with a 401.
    """
    found: list[Conversation | MaxError | None] = [None] * len(rows)

    async def read(index: int, conversation_id: str) -> None:
        try:
            found[index] = await client.get_conversation(conversation_id)
        except NotFoundError:
            found[index] = None
        except MaxError as error:
            found[index] = error

    async with anyio.create_task_group() as group:
        for index, row in enumerate(rows):
            group.start_soon(read, index, row.conversation_id)
    conversations: list[Conversation | None] = []
    for item in found:
        if isinstance(item, MaxError):
            raise item
        conversations.append(item)
    return conversations


def _page(tasks: list[Task], next_token: str) -> ListTasksResponse:
    return ListTasksResponse(
        tasks=tasks, next_page_token=next_token, page_size=len(tasks), total_size=len(tasks)
    )
