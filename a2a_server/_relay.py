"""PostHog AI's stream, as the A2A events of one task (status lines, a growing answer, charts).

Progress lines are the agent layer's (`describe_event`), the same the MCP face sends as progress
notifications; the first one is the status of the task as it is announced. The answer is one
artifact that grows as PostHog AI writes, at most every `ANSWER_EVERY_S` (the words in between are
held back, and go out when that time is up even if PostHog sends nothing more); when PostHog AI
starts a new message the artifact is replaced, so it holds the text PostHog shows. Its last chunk
is the whole answer. A reply written in a moment is thus three events: the task, the answer, the
end (each A2A event costs the client and this server about a millisecond).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
from a2a.helpers import new_data_part, new_raw_part, new_text_message, new_text_part
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import Part, Task, TaskState

from a2a_server._tasks import ANSWER_ARTIFACT, STATE_OF, status_message
from max_tools import AIMessage, AsyncMaxClient, HumanMessage, MessageEvent, Reply, StreamEvent
from max_tools.agent import ACTIONS_BY_NAME, ChartResult, describe_event, parse_arguments

__all__ = ["VEGA_LITE_MEDIA_TYPE", "Relay"]

VEGA_LITE_MEDIA_TYPE = "application/vnd.vegalite.v5+json"

ANSWER_EVERY_S = 0.25
"""The answer artifact grows at most this often while PostHog AI writes it (also from the task's
start: PostHog AI's first words wait as long as later ones)."""

STATUS_EVERY_S = 0.25
"""Progress lines go out at most this often: a newer line replaces one held back, which goes out
at the latest this long after the previous line (PostHog AI often sends a few steps at once, and
each A2A event costs the client and this server about a millisecond)."""


class Relay:
    """Passes one task's stream events on as A2A events, then its outcome.

    Args:
        queue: the SDK's event queue of the task.
        updater: the SDK's helper that writes status and artifact events to it.
        start: the task to announce before its first event (None when the task exists).
        charts: whether the reply's charts become artifacts.
        no_charts: why they do not, when the caller should know (said once the reply is in).
    """

    def __init__(
        self,
        queue: EventQueue,
        updater: TaskUpdater,
        start: Task | None,
        *,
        charts: bool = True,
        no_charts: str | None = None,
    ) -> None:
        self._queue = queue
        self._charts = charts
        self._no_charts = no_charts
        self._updater = updater
        self._start = start
        self._text = ""  # what the client was sent of the answer
        self._held = ""  # the answer's newest text, not sent yet
        self._grown_at = time.monotonic()  # the first words wait like later ones
        self._answer_timing = False
        self._sending = anyio.Lock()  # answer updates leave in the order they were made
        self._questions = 0
        self._line = ""
        self._status_at = -STATUS_EVERY_S
        self._pending = ""  # a progress line held back, not sent yet
        self._over = False  # the task's final status is sent or on its way
        self._timer: anyio.abc.TaskGroup | None = None
        self._timing = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the task runs: held words and progress lines go out even when nothing follows.

        Errors come out as the body raised them (not in an exception group).
        """
        try:
            async with anyio.create_task_group() as timer:
                self._timer = timer
                try:
                    yield
                finally:
                    self._timer = None
                    timer.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    def over(self) -> None:
        """The final status goes out next: nothing held back may follow it."""
        self._over = True
        self._pending = ""

    @property
    def started(self) -> bool:
        """Whether the task was announced (after that, only task events may follow)."""
        return self._start is None

    async def begin(self, line: str = "") -> None:
        """Announce the task, once; `line`, the first progress line, is its status message."""
        if self._start is not None:
            start, self._start = self._start, None
            if line:  # one A2A event less than a status update of its own
                start.status.message.CopyFrom(
                    self._updater.new_agent_message([new_text_part(line)])
                )
                self._line, self._status_at = line, time.monotonic()
            await self._queue.enqueue_event(start)

    def event(self, event: StreamEvent) -> Awaitable[None] | None:
        """One stream event of PostHog AI (None when it only grew the held answer).

        Most events are chunks of the answer that the artifact holds back (see `_hold`): they
        are taken here without a coroutine, since a long answer has hundreds of them.
        """
        message = event.message if type(event) is MessageEvent else None
        if (
            message is not None
            and message.id is None
            and self._start is None
            and self._questions <= 1
            and type(message) is AIMessage
            and message.content
            and self._hold(message.content)
        ):
            return None
        return self._event(event, message)

    async def _event(self, event: StreamEvent, message: object) -> None:
        if isinstance(message, HumanMessage):
            self._questions += 1
        if self._questions > 1:
            return  # a queued follow-up runs on this stream: it is the next task's
        words = message.content if isinstance(message, AIMessage) else ""
        # A chunk, or a whole message that is the answer: its words are the artifact's, and no
        # status line repeats them (one A2A event less, about a millisecond each).
        answer = (
            isinstance(message, AIMessage)
            and bool(words)
            and not (message.id and message.tool_calls)
        )
        line = "" if answer else describe_event(event) or ""
        if self._start is not None and (line or words):  # the task starts with something to say
            await self.begin(line)
        if words and not self._hold(words):
            await self._send_answer(words)
        if line and line != self._line:
            self._line = line
            await self._progress(line)

    async def _progress(self, line: str) -> None:
        wait = self._status_at + STATUS_EVERY_S - time.monotonic()
        if wait <= 0 or self._timer is None:
            await self._status(line)
            return
        self._pending = line
        if not self._timing:
            self._timing = True
            self._timer.start_soon(self._send_held, wait)

    async def _send_held(self, wait: float) -> None:
        await anyio.sleep(wait)
        self._timing = False
        if self._pending and not self._over:
            await self._status(self._pending)

    async def _status(self, line: str) -> None:
        self._pending = ""
        self._status_at = time.monotonic()
        await self._updater.update_status(
            TaskState.TASK_STATE_WORKING,
            message=self._updater.new_agent_message([new_text_part(line)]),
        )

    async def finish(self, client: AsyncMaxClient, reply: Reply) -> None:
        """The whole answer as the artifact's last chunk, the charts, and the final status."""
        await self.begin()
        outcome, text = reply, reply.text
        if len(reply.turns) > 1:  # only the first turn is this task's (see `event`)
            first = reply.turns[0]
            outcome = Reply(conversation_id=reply.conversation_id, status=first.status)
            text = first.text
        text = text or self._held or self._text
        if text:
            await self._send_answer(text, last=True)
        drawn = reply.charts if outcome is reply else []
        if self._charts:
            for chart in drawn:
                await self._chart(client, reply.conversation_id, chart.index)
        elif drawn and self._no_charts:
            await self.note(f"{len(drawn)} chart(s) not sent as artifacts: {self._no_charts}")
        self.over()
        await self._updater.update_status(
            STATE_OF[outcome.status], message=status_message(self._updater.task_id, outcome)
        )

    async def note(self, text: str) -> None:
        """A status line of this face's own (e.g. why a decision was not sent)."""
        await self.begin()
        await self._status(text)

    def _hold(self, text: str) -> bool:
        """Hold `text` back if an update went out less than ANSWER_EVERY_S ago (or it is sent)."""
        if text == self._text:
            self._held = ""
            return True
        wait = self._grown_at + ANSWER_EVERY_S - time.monotonic()
        if wait <= 0 or self._timer is None:
            return False
        self._held = text  # newer text replaces held text, even a message PostHog replaced
        if not self._answer_timing:
            self._answer_timing = True
            self._timer.start_soon(self._send_held_answer, wait)
        return True

    async def _send_held_answer(self, wait: float) -> None:
        await anyio.sleep(wait)
        self._answer_timing = False
        if self._held:
            await self._send_answer(self._held)

    async def _send_answer(self, text: str, *, last: bool = False) -> None:
        """One update of the answer artifact: the new words, or the text that replaces it.

        The last chunk carries the whole answer and replaces the artifact (`append` false), as
        A2A clients that show chunks as they come (ADK's RemoteA2aAgent) read it.
        """
        async with self._sending:
            if self._over:
                return
            self._held = ""
            self._grown_at = time.monotonic()
            if not last and self._text and text.startswith(self._text):
                chunk, append = text[len(self._text) :], True
            else:
                chunk, append = text, False
            self._text = text
            await self._updater.add_artifact(
                [new_text_part(chunk)], ANSWER_ARTIFACT, "answer", append=append, last_chunk=last
            )

    async def _chart(self, client: AsyncMaxClient, conversation_id: str, index: int) -> None:
        action = ACTIONS_BY_NAME["max_get_chart"]
        params = parse_arguments(action, {"conversation_id": conversation_id, "chart": index})
        result = await action.run(client, params, None)
        data = result.data
        spec = data.vega_lite if isinstance(data, ChartResult) else None
        table = data.model_dump(mode="json", exclude_none=True, exclude={"vega_lite"})
        parts: list[Part] = [new_text_part(result.text), new_data_part(table)]
        if spec is not None:
            parts.append(new_data_part(spec, media_type=VEGA_LITE_MEDIA_TYPE))
        if result.png is not None:
            parts.append(
                new_raw_part(result.png, media_type="image/png", filename=f"chart-{index}.png")
            )
        title = data.title if isinstance(data, ChartResult) and data.title else f"chart {index}"
        await self._updater.add_artifact(parts, f"chart-{index}", title, last_chunk=True)


def agent_text(text: str, *, context_id: str) -> object:
    """A plain agent message (for replies that are no task, such as a queued follow-up)."""
    return new_text_message(text, context_id=context_id)
