"""Runs: the scripted agent working on a conversation, independent of any HTTP response.

A session starts with a POST that sends a message and lasts until the conversation's queue is
empty: queued follow-ups run in the same session and write to the same event log, as PostHog's
workflows write to one Redis stream. Responses read the log (a reconnect reads it from the start),
so a client that goes away never stops a run; only `cancel` does.

Why one module of this size: a run's whole script (ordinary, paused for a person, resumed) is
here in the order PostHog writes its events, so that it reads against the reference's sections
5 and 12 to 14; what a pause or a resume decides lives in `_interrupts`.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from max_tools.emulator._agent import DEFAULT_RULE, Rule, pick_rule
from max_tools.emulator._charts import chart_query, visualization
from max_tools.emulator._faults import Faults
from max_tools.emulator._interrupts import Pause, Resumed, abandon, stop_at
from max_tools.emulator._store import Row, Store
from max_tools.emulator._wire import compact_json, frame, python_json

logger = logging.getLogger("max_tools.emulator")

__all__ = ["Engine", "RunLog", "Turn", "ai_message", "human_message"]

INTRO = "Let me look into that."
OOPS = "Oops! Something went wrong. Please try again."


class RunLog:
    """The framed events of one session, kept for readers that attach later."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.done = False
        self.readers = 0  # responses reading this log right now
        self.start = 0  # where a new reader starts (PostHog may have trimmed what was read)
        self.reconnects = 0  # readers that attached with content null
        self._changed = anyio.Event()

    def append(self, data: bytes) -> None:
        self.frames.append(data)
        self._notify()

    def finish(self) -> None:
        self.done = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_past(self, index: int, timeout_s: float) -> bool:
        """Wait until there is a frame at `index` or the log is done; False on timeout."""
        if index < len(self.frames) or self.done:
            return True
        with anyio.move_on_after(timeout_s):
            await self._changed.wait()
            return True
        return False


@dataclass(slots=True)
class Turn:
    """One run of the agent: a message (None when resuming) and its options."""

    message: str | None
    trace_id: str
    queued: bool = False
    ui_context: Any = None
    agent_mode: str | None = None
    resume: Resumed | None = None
    """What a resume payload does, when this run resumes a paused one."""


@dataclass(slots=True)
class Session:
    row: Row
    log: RunLog = field(default_factory=RunLog)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    canceled: bool = False


def human_message(content: str, trace_id: str, ui_context: Any = None) -> dict[str, Any]:
    """A stored human message (all fields, nulls kept)."""
    return {
        "content": content,
        "id": str(uuid.uuid4()),
        "parent_tool_call_id": None,
        "trace_id": trace_id,
        "type": "human",
        "ui_context": ui_context,
    }


def ai_message(
    content: str, message_id: str | None, tool_calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A stored assistant message (all fields, nulls kept)."""
    return {
        "content": content,
        "id": message_id,
        "meta": None,
        "parent_tool_call_id": None,
        "tool_calls": tool_calls or [],
        "type": "ai",
    }


def partial_chunk(text: str) -> bytes:
    """An id-less `ai` message: the whole text so far, as PostHog's stream processor sends it."""
    payload = {
        "content": text,
        "meta": {"thinking": []},
        "server_tool_calls": [],
        "tool_calls": [],
        "type": "ai",
    }
    return frame("message", compact_json(payload))


def prefixes(text: str, count: int) -> list[str]:
    """`count` growing prefixes of `text`, the last one the whole text."""
    if count <= 0 or not text:
        return []
    return [text[: math.ceil(len(text) * i / count)] for i in range(1, count + 1)]


class Engine:
    """Starts, follows and cancels runs; owns the queue drain."""

    def __init__(
        self,
        store: Store,
        rules: Sequence[Rule],
        faults: Faults,
        *,
        queue_drain: bool = False,
        delay_s: float | None = None,
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.queue_drain = queue_drain
        self.delay_s = delay_s
        self.faults = faults
        self.sessions: dict[str, Session] = {}
        self._task_group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> Any:
        """Run sessions for as long as the block lasts; they are canceled when it ends."""
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            try:
                yield self
            finally:
                self._task_group = None
                task_group.cancel_scope.cancel()

    def start(self, row: Row, turn: Turn, opening: Sequence[bytes] = ()) -> RunLog:
        """Start a session with `turn` (its human message is already stored).

        `opening` are the run's first frames (the `conversation` event, the human echo): PostHog's
        runner writes them into the run's stream, so a reconnect replays them too.
        """
        if self._task_group is None:
            raise RuntimeError("The emulator engine is not running.")
        if turn.message is not None and turn.resume is None:
            abandon(row)  # a new message instead of a decision (reference 12.7)
        session = Session(row)
        for data in opening:
            session.log.append(data)
        self.sessions[row.id] = session
        row.status = "in_progress"
        row.drain_closed = False
        row.touch()
        self._task_group.start_soon(self._session, session, turn)
        return session.log

    def attach(self, row: Row) -> RunLog | None:
        """The log of the conversation's running session, if any."""
        session = self.sessions.get(row.id)
        if session is None:
            return None
        session.log.reconnects += 1
        return session.log

    def cancel(self, row: Row) -> None:
        """Stop the running session quietly, clear the queue and close its drain."""
        row.status = "canceling"
        session = self.sessions.pop(row.id, None)
        if session is not None:
            session.canceled = True
            session.scope.cancel()
            session.log.finish()
        row.queue.clear()
        row.drain_closed = True
        row.status = "idle"
        row.touch()
        self.store.save()

    async def _session(self, session: Session, turn: Turn | None) -> None:
        row = session.row
        try:
            with session.scope:
                while turn is not None:
                    try:
                        await self._turn(session, turn)
                    except Exception:  # a bug in a run must not take the emulator down
                        logger.exception("The scripted run of %s failed", row.id)
                        session.log.append(frame("message", compact_json({"type": "ai/failure"})))
                    row.status = "idle"
                    row.touch()
                    self.store.save()
                    turn = self._next_queued(row)
                    if turn is not None:
                        row.status = "in_progress"
        finally:
            if self.sessions.get(row.id) is session:
                del self.sessions[row.id]
            if not session.canceled:
                row.status = "idle"
                if self.queue_drain:
                    row.drain_closed = True
            session.log.finish()

    def _next_queued(self, row: Row) -> Turn | None:
        if row.approval_pending:  # an approval stops the queue: PostHog clears it (12.3)
            row.queue.clear()
            row.drain_closed = True
            return None
        while row.queue:
            item = row.queue.pop(0)
            content = item.get("content")
            if isinstance(content, str) and content.strip():
                abandon(row)  # a queued follow-up runs next and abandons a form (13.2)
                return Turn(
                    message=content,
                    trace_id=str(uuid.uuid4()),
                    queued=True,
                    ui_context=item.get("ui_context"),
                    agent_mode=item.get("agent_mode"),
                )
        return None

    async def _turn(self, session: Session, turn: Turn) -> None:
        row, log = session.row, session.log
        stall = self.faults.take_stall_s()
        if stall:
            await anyio.sleep(stall)  # the response meanwhile sends only keep-alives
        if turn.resume is not None:
            await self._resumed(session, turn.resume)
            return
        message = turn.message or ""
        rule = pick_rule(self.rules, message)
        if turn.queued:
            echo = human_message(message, turn.trace_id, turn.ui_context)
            row.messages.append(echo)
            log.append(frame("message", compact_json(echo)))
        if turn.agent_mode:
            row.agent_mode = turn.agent_mode
        if self.faults.take("unknown_events"):
            log.append(
                frame("emulator_probe", compact_json({"note": "an event type clients do not know"}))
            )
            probe = {
                "id": str(uuid.uuid4()),
                "note": "a message type clients do not know",
                "type": "ai/emulator_probe",
            }
            row.messages.append(probe)
            log.append(frame("message", compact_json(probe)))

        pace = self.delay_s if self.delay_s is not None else rule.delay_s
        pause = rule.pause(message) if turn.message is not None else None
        if pause is not None:
            await self._stop_for(session, rule, message, pause, pace)
            return
        visual = rule.wants_visualization(message)
        tool_name = "create_insight" if visual else "search"
        for text in prefixes(INTRO, 2):
            log.append(partial_chunk(text))
            await _pause(pace)
        call_id = f"toolu_{uuid.uuid4().hex[:24]}"
        call = {
            "args": {"query_description": message},
            "id": call_id,
            "name": tool_name,
            "type": "tool_call",
        }
        intro = ai_message(INTRO, str(uuid.uuid4()), [call])
        self._store_and_send(row, log, intro)
        if row.title is None:  # PostHog's title generator runs early in a new conversation's run
            row.title = rule.title_for(message)
            row.touch()
            log.append(frame("conversation", python_json(row.minimal())))
        update = "Creating a trends insight" if visual else "Searching your project's events"
        log.append(
            frame(
                "update",
                compact_json({"content": update, "id": intro["id"], "tool_call_id": call_id}),
            )
        )
        await _pause(pace)

        if rule.fail:
            failure = {
                "content": OOPS,
                "id": str(uuid.uuid4()),
                "parent_tool_call_id": None,
                "type": "ai/failure",
            }
            self._store_and_send(row, log, failure)
            return
        chart = chart_query(message) if visual else None
        if chart is not None:
            self._store_and_send(row, log, visualization(message, chart))
        result = "Insight created." if visual else "Found matching events."
        tool = {
            "content": result,
            "id": str(uuid.uuid4()),
            "parent_tool_call_id": None,
            "tool_call_id": call_id,
            "type": "tool",
            "ui_payload": None,
        }
        self._store_and_send(row, log, tool)
        await self.faults.wait_released()
        answer = rule.answer(message, chart)
        if self.faults.take("garble_utf8"):  # a partial chunk whose bytes are not UTF-8
            log.append(partial_chunk("GARBLED").replace(b"GARBLED", b"caf\xe9 \xff\xfe"))
        for text in prefixes(answer, rule.chunks):
            log.append(partial_chunk(text))
            await _pause(pace)
        self._store_and_send(row, log, ai_message(answer, str(uuid.uuid4())))

    async def _stop_for(
        self, session: Session, rule: Rule, message: str, pause: Pause, pace: float
    ) -> None:
        """A run that ends at a tool call waiting for a person (or a browser): 12.2, 13.2, 14."""
        row, log = session.row, session.log
        for text in prefixes(pause.intro, 3):
            log.append(partial_chunk(text))
            await _pause(pace)
        await self.faults.wait_released()
        call_id = f"toolu_{uuid.uuid4().hex[:24]}"
        call = {"args": pause.args, "id": call_id, "name": pause.tool_name, "type": "tool_call"}
        self._store_and_send(row, log, ai_message(pause.intro, str(uuid.uuid4()), [call]))
        reply = rule.answer(message) if rule.reply is not None else None
        stop_at(row, pause, call_id, message, reply)
        if row.title is None:
            row.title = rule.title_for(message)
            row.touch()
            log.append(frame("conversation", python_json(row.minimal())))

    async def _resumed(self, session: Session, resumed: Resumed) -> None:
        """A resumed run: the `tool` message answering the paused call, then the answer."""
        row, log = session.row, session.log
        tool = {
            "content": resumed.content,
            "id": str(uuid.uuid4()),
            "parent_tool_call_id": None,
            "tool_call_id": resumed.tool_call_id,
            "type": "tool",
            "ui_payload": resumed.ui_payload,
        }
        self._store_and_send(row, log, tool)
        await self.faults.wait_released()
        pace = self.delay_s if self.delay_s is not None else DEFAULT_RULE.delay_s
        for text in prefixes(resumed.answer, DEFAULT_RULE.chunks):
            log.append(partial_chunk(text))
            await _pause(pace)
        self._store_and_send(row, log, ai_message(resumed.answer, str(uuid.uuid4())))

    def _store_and_send(self, row: Row, log: RunLog, message: dict[str, Any]) -> None:
        row.messages.append(message)
        log.append(frame("message", compact_json(message)))


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await anyio.sleep(seconds)
    else:
        await anyio.lowlevel.checkpoint()
