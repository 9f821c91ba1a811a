"""`MaxClient`: the async client, run on its own event-loop thread, for synchronous code.

Why one module of this size: it mirrors each `AsyncMaxClient` method one to one (signature and
docs), which is easiest to check when they are side by side in one file.
"""

from __future__ import annotations

import queue
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
from anyio.from_thread import BlockingPortal

from max_tools._client import DEFAULT_MAX_RETRIES, AsyncMaxClient, OnEvent
from max_tools._config import APIKey, Settings
from max_tools._events import StreamEvent
from max_tools._http import Sleep
from max_tools._models import Conversation, ConversationPage, ConversationSummary, Queue
from max_tools._query import QUERY_WAIT_S, Chart, QueryResult
from max_tools._reply import Reply
from max_tools._stream import ReplyStream

__all__ = ["MaxClient", "SyncReplyStream"]

_T = TypeVar("_T")
_PORTAL_START_S = 30.0


class _Done:
    """Marks the end of an async iterator crossing the thread boundary."""


_DONE = _Done()


async def _next(iterator: AsyncIterator[_T]) -> _T | _Done:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _DONE


def _start_portal() -> tuple[BlockingPortal, threading.Thread]:
    """An event loop on a daemon thread, so a forgotten close() never blocks interpreter exit."""
    handoff: queue.Queue[BlockingPortal | BaseException] = queue.Queue(maxsize=1)

    async def serve() -> None:
        async with BlockingPortal() as portal:
            handoff.put(portal)
            await portal.sleep_until_stopped()

    def run() -> None:
        try:
            anyio.run(serve)
        except BaseException as exc:  # handed to the starting thread, which raises it
            handoff.put(exc)

    thread = threading.Thread(target=run, name="max-tools-loop", daemon=True)
    thread.start()
    started = handoff.get(timeout=_PORTAL_START_S)
    if isinstance(started, BaseException):
        raise started
    return started, thread


class SyncReplyStream:
    """The typed events of one reply, for synchronous code; iterate it once."""

    def __init__(self, portal: BlockingPortal, replies: ReplyStream) -> None:
        self._portal = portal
        self._replies = replies

    @property
    def conversation_id(self) -> str:
        """The conversation the reply belongs to."""
        return self._replies.conversation_id

    def __iter__(self) -> Iterator[StreamEvent]:
        iterator = self._replies.__aiter__()
        while not isinstance(event := self._portal.call(_next, iterator), _Done):
            yield event

    def reply(self, *, running: bool = False) -> Reply:
        """What the events received so far amount to (see `ReplyStream.reply`)."""
        return self._replies.reply(running=running)


class MaxClient:
    """Synchronous client for PostHog AI conversations: the same methods as `AsyncMaxClient`.

    It runs an `AsyncMaxClient` on an event loop of its own, in a background thread, so it works
    from plain scripts and from code that already runs an event loop (Jupyter). Close it with
    `close()` or use it as a context manager.
    """

    def __init__(
        self,
        *,
        api_key: str | APIKey | None = None,
        host: str | None = None,
        project_id: int | str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._portal, self._thread = _start_portal()
        try:
            self._async = self._portal.call(
                partial(
                    _make_client,
                    api_key=api_key,
                    host=host,
                    project_id=project_id,
                    timeout=timeout,
                    max_retries=max_retries,
                    http_client=http_client,
                    sleep=sleep,
                )
            )
        except BaseException:
            _shutdown(self._portal, self._thread, None)
            raise
        # Closes the pool and stops the thread when close() was forgotten (at the latest, at exit).
        self._finalizer = weakref.finalize(self, _shutdown, self._portal, self._thread, self._async)

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client configured from the environment; keyword options override it."""
        return cls(**options)

    @property
    def settings(self) -> Settings:
        """The resolved host, project id and (hidden) key."""
        return self._async.settings

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(host={s.host!r}, project_id={s.project_id!r})"

    def close(self) -> None:
        """Close the connection pool and stop the background event loop."""
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run_async(self, func: Callable[[AsyncMaxClient], Awaitable[_T]]) -> _T:
        """Run `func(async_client)` on this client's event loop and return its result.

        For code written against `AsyncMaxClient` that must be called from synchronous code.
        """
        client = self._async

        async def call() -> _T:
            return await func(client)

        return self._call(call)

    def _call(self, func: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        result: _T = self._portal.call(func)
        return result

    def list_conversations(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> ConversationPage:
        """One page of your titled conversations, newest first."""
        return self._call(partial(self._async.list_conversations, limit=limit, offset=offset))

    def iter_conversations(self, *, page_size: int = 100) -> Iterator[ConversationSummary]:
        """Every titled conversation of yours, newest first, page by page."""
        iterator = self._async.iter_conversations(page_size=page_size)
        try:
            while not isinstance(item := self._portal.call(_next, iterator), _Done):
                yield item
        finally:
            self._portal.call(iterator.aclose)

    def get_conversation(self, conversation_id: str | uuid.UUID) -> Conversation:
        """A conversation with its status, title and messages."""
        return self._call(partial(self._async.get_conversation, conversation_id))

    def delete_conversation(self, conversation_id: str | uuid.UUID) -> None:
        """Delete a conversation of yours."""
        self._call(partial(self._async.delete_conversation, conversation_id))

    @contextmanager
    def stream(
        self,
        message: str | None,
        *,
        conversation_id: str | uuid.UUID | None = None,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
        resume_payload: Any = None,
    ) -> Iterator[SyncReplyStream]:
        """Send a message and read the reply as typed events (see `AsyncMaxClient.stream`)."""
        manager = self._async.stream(
            message,
            conversation_id=conversation_id,
            agent_mode=agent_mode,
            ui_context=ui_context,
            contextual_tools=contextual_tools,
            billing_context=billing_context,
            resume_payload=resume_payload,
        )
        with self._portal.wrap_async_context_manager(manager) as replies:
            yield SyncReplyStream(self._portal, replies)

    def ask(
        self,
        message: str,
        *,
        conversation_id: str | uuid.UUID | None = None,
        agent_mode: str | None = None,
        wait_s: float | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Send a message and return the reply (see `AsyncMaxClient.ask`).

        `on_event` is called with each stream event, on the client's own thread.
        """
        return self._call(
            partial(
                self._async.ask,
                message,
                conversation_id=conversation_id,
                agent_mode=agent_mode,
                wait_s=wait_s,
                ui_context=ui_context,
                contextual_tools=contextual_tools,
                billing_context=billing_context,
                on_event=_awaitable(on_event),
            )
        )

    def wait(
        self,
        conversation_id: str | uuid.UUID,
        *,
        wait_s: float | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Follow a conversation's running reply until it ends or `wait_s` runs out."""
        return self._call(
            partial(self._async.wait, conversation_id, wait_s=wait_s, on_event=_awaitable(on_event))
        )

    def approve(
        self,
        conversation_id: str | uuid.UUID,
        proposal_id: str,
        *,
        payload: Mapping[str, Any] | None = None,
        wait_s: float | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Approve a pending operation and follow the run (see `AsyncMaxClient.approve`)."""
        approve = self._async.approve
        events = _awaitable(on_event)
        return self._call(
            partial(
                approve,
                conversation_id,
                proposal_id,
                payload=payload,
                wait_s=wait_s,
                on_event=events,
            )
        )

    def reject(
        self,
        conversation_id: str | uuid.UUID,
        proposal_id: str,
        *,
        feedback: str | None = None,
        wait_s: float | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Reject a pending operation; PostHog AI then answers (see `AsyncMaxClient.reject`)."""
        reject = self._async.reject
        events = _awaitable(on_event)
        return self._call(
            partial(
                reject,
                conversation_id,
                proposal_id,
                feedback=feedback,
                wait_s=wait_s,
                on_event=events,
            )
        )

    def answer(
        self,
        conversation_id: str | uuid.UUID,
        answers: Mapping[str, str | list[str]],
        *,
        wait_s: float | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Answer the form PostHog AI asked (see `AsyncMaxClient.answer`)."""
        events = _awaitable(on_event)
        return self._call(
            partial(self._async.answer, conversation_id, answers, wait_s=wait_s, on_event=events)
        )

    def dismiss_form(
        self,
        conversation_id: str | uuid.UUID,
        *,
        wait_s: float | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
    ) -> Reply:
        """Decline to answer the form; PostHog AI goes on without the answers."""
        events = _awaitable(on_event)
        return self._call(
            partial(self._async.dismiss_form, conversation_id, wait_s=wait_s, on_event=events)
        )

    def query(
        self, query: Mapping[str, Any], *, refresh: str | None = None, wait_s: float = QUERY_WAIT_S
    ) -> QueryResult:
        """Run a query through PostHog's query API (see `AsyncMaxClient.query`)."""
        return self._call(partial(self._async.query, query, refresh=refresh, wait_s=wait_s))

    def chart_data(
        self, conversation_id: str | uuid.UUID, chart: int = 1
    ) -> tuple[Chart, QueryResult]:
        """The data behind a conversation's chart (see `AsyncMaxClient.chart_data`)."""
        return self._call(partial(self._async.chart_data, conversation_id, chart))

    def append_message(self, conversation_id: str | uuid.UUID, content: str) -> str:
        """Store an assistant message without running the agent; returns its id."""
        return self._call(partial(self._async.append_message, conversation_id, content))

    def cancel(self, conversation_id: str | uuid.UUID) -> None:
        """Stop the running reply and clear the queue."""
        self._call(partial(self._async.cancel, conversation_id))

    def get_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """The follow-ups waiting for the running reply to end."""
        return self._call(partial(self._async.get_queue, conversation_id))

    def queue_message(
        self,
        conversation_id: str | uuid.UUID,
        message: str,
        *,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
    ) -> Queue:
        """Queue a follow-up for when the current reply ends (at most 2)."""
        return self._call(
            partial(
                self._async.queue_message,
                conversation_id,
                message,
                agent_mode=agent_mode,
                ui_context=ui_context,
                contextual_tools=contextual_tools,
                billing_context=billing_context,
            )
        )

    def update_queued_message(
        self, conversation_id: str | uuid.UUID, queue_id: str, message: str
    ) -> Queue:
        """Change the text of a queued follow-up."""
        return self._call(
            partial(self._async.update_queued_message, conversation_id, queue_id, message)
        )

    def delete_queued_message(self, conversation_id: str | uuid.UUID, queue_id: str) -> Queue:
        """Remove one queued follow-up."""
        return self._call(partial(self._async.delete_queued_message, conversation_id, queue_id))

    def clear_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """Remove every queued follow-up."""
        return self._call(partial(self._async.clear_queue, conversation_id))


def _shutdown(
    portal: BlockingPortal, thread: threading.Thread, client: AsyncMaxClient | None
) -> None:
    """Close the client and stop the loop thread (once; never from that thread itself)."""
    if not thread.is_alive() or threading.current_thread() is thread:
        return
    try:
        if client is not None:
            portal.call(client.aclose)
    finally:
        portal.call(portal.stop)
        thread.join(timeout=_PORTAL_START_S)


def _awaitable(callback: Callable[[StreamEvent], None] | None) -> OnEvent | None:
    if callback is None:
        return None

    async def call(event: StreamEvent) -> None:
        callback(event)

    return call


async def _make_client(**options: Any) -> AsyncMaxClient:
    return AsyncMaxClient(**options)
