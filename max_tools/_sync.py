"""`MaxClient`: the async client, run on its own event-loop thread, for synchronous code.

Each method is the `AsyncMaxClient` method of the same name, made blocking by one typed helper
(`_blocking`), so signatures and docs are written once, on the async client, and mypy and IDEs
see them on both.
"""

from __future__ import annotations

import inspect
import queue
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from functools import partial, wraps
from typing import Concatenate, ParamSpec, Self, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from max_tools._client import AsyncMaxClient, Configured
from max_tools._events import StreamEvent
from max_tools._models import Conversation, ConversationSummary
from max_tools._reply import Reply
from max_tools._stream import ReplyStream

__all__ = ["MaxClient", "SyncReplyStream"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_Init = Callable[Concatenate["MaxClient", _P], None]
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


def _takes_options_of(
    make: Callable[_P, AsyncMaxClient],
) -> Callable[[Callable[[MaxClient, Callable[[], AsyncMaxClient]], None]], _Init[_P]]:
    """Give `MaxClient.__init__` the keyword options of `AsyncMaxClient` (its signature).

    The decorated `__init__` receives a factory that builds the async client with those options;
    it calls it on the loop thread.
    """

    def decorate(init: Callable[[MaxClient, Callable[[], AsyncMaxClient]], None]) -> _Init[_P]:
        @wraps(AsyncMaxClient.__init__)
        def __init__(self: MaxClient, /, *args: _P.args, **options: _P.kwargs) -> None:
            init(self, partial(make, *args, **options))

        __init__.__qualname__ = "MaxClient.__init__"
        return __init__

    return decorate


def _blocking(
    method: Callable[Concatenate[AsyncMaxClient, _P], Awaitable[_T]],
) -> Callable[Concatenate[MaxClient, _P], _T]:
    """An `AsyncMaxClient` method as a `MaxClient` method: same signature and docs, blocking."""

    @wraps(method)
    def call(self: MaxClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return self._portal.call(partial(method, self._async, *args, **kwargs))

    call.__qualname__ = f"MaxClient.{method.__name__}"
    call.__module__ = "max_tools"  # where MaxClient is found, as help() and docs should say
    return call


def _blocking_stream(
    method: Callable[Concatenate[AsyncMaxClient, _P], AbstractAsyncContextManager[ReplyStream]],
) -> Callable[Concatenate[MaxClient, _P], AbstractContextManager[SyncReplyStream]]:
    """`AsyncMaxClient.stream` for synchronous code: a context manager of a `SyncReplyStream`."""

    @wraps(method)
    @contextmanager
    def stream(
        self: MaxClient, /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Iterator[SyncReplyStream]:
        manager = method(self._async, *args, **kwargs)
        with self._portal.wrap_async_context_manager(manager) as replies:
            yield SyncReplyStream(self._portal, replies)

    stream.__qualname__ = "MaxClient.stream"
    stream.__module__ = "max_tools"
    # help() and inspect show the async signature otherwise (it returns an async context manager)
    # functions have no declared __signature__ (inspect reads it when set)
    stream.__signature__ = inspect.signature(method).replace(  # type: ignore[attr-defined]
        return_annotation="AbstractContextManager[SyncReplyStream]"
    )
    return stream


class MaxClient(Configured):
    """Synchronous client for PostHog AI conversations: the same methods as `AsyncMaxClient`.

    It runs an `AsyncMaxClient` on an event loop of its own, in a background thread, so it works
    from plain scripts and from code that already runs an event loop (Jupyter). Close it with
    `close()` or use it as a context manager. An `on_event` callback runs on that thread.
    """

    @_takes_options_of(AsyncMaxClient)
    def __init__(self, make_client: Callable[[], AsyncMaxClient]) -> None:
        self._portal, self._thread = _start_portal()
        try:
            self._async = self._portal.call(make_client)
        except BaseException:
            _shutdown(self._portal, self._thread, None)
            raise
        self._settings = self._async.settings
        # Closes the pool and stops the thread when close() was forgotten (at the latest, at exit).
        self._finalizer = weakref.finalize(self, _shutdown, self._portal, self._thread, self._async)

    def close(self) -> None:
        """Close the connection pool and stop the background event loop."""
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run_async(self, func: Callable[[AsyncMaxClient], Awaitable[_T]]) -> _T:
        """Run `func(async_client)` on this client's event loop and return its result.

        For code written against `AsyncMaxClient` that must be called from synchronous code.
        """
        client = self._async

        async def call() -> _T:
            return await func(client)

        return self._portal.call(call)

    def iter_conversations(self, *, page_size: int = 100) -> Iterator[ConversationSummary]:
        """Every titled conversation of yours, newest first, page by page."""
        iterator = self._async.iter_conversations(page_size=page_size)
        try:
            while not isinstance(item := self._portal.call(_next, iterator), _Done):
                yield item
        finally:
            self._portal.call(iterator.aclose)

    def last_reply(self, conversation: Conversation) -> Reply:
        """The reply a conversation's last run left, read from it (see `AsyncMaxClient`)."""
        return self._async.last_reply(conversation)

    # Every other method is the async client's, with its signature and docs, run on the loop.
    list_conversations = _blocking(AsyncMaxClient.list_conversations)
    get_conversation = _blocking(AsyncMaxClient.get_conversation)
    delete_conversation = _blocking(AsyncMaxClient.delete_conversation)
    stream = _blocking_stream(AsyncMaxClient.stream)
    ask = _blocking(AsyncMaxClient.ask)
    wait = _blocking(AsyncMaxClient.wait)
    approve = _blocking(AsyncMaxClient.approve)
    reject = _blocking(AsyncMaxClient.reject)
    answer = _blocking(AsyncMaxClient.answer)
    dismiss_form = _blocking(AsyncMaxClient.dismiss_form)
    query = _blocking(AsyncMaxClient.query)
    chart_data = _blocking(AsyncMaxClient.chart_data)
    append_message = _blocking(AsyncMaxClient.append_message)
    cancel = _blocking(AsyncMaxClient.cancel)
    get_queue = _blocking(AsyncMaxClient.get_queue)
    queue_message = _blocking(AsyncMaxClient.queue_message)
    update_queued_message = _blocking(AsyncMaxClient.update_queued_message)
    delete_queued_message = _blocking(AsyncMaxClient.delete_queued_message)
    clear_queue = _blocking(AsyncMaxClient.clear_queue)


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
