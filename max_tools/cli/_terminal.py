"""Terminal output for the command line: streamed replies that replace partial text cleanly."""

from __future__ import annotations

import sys
from typing import TextIO

from max_tools._events import ConversationEvent, MessageEvent, StatusEvent, StreamEvent, UpdateEvent
from max_tools._messages import (
    AIMessage,
    ArtifactMessage,
    FailureMessage,
    HumanMessage,
    MultiVisualizationMessage,
    VisualizationMessage,
)
from max_tools._render import visualization_summary
from max_tools._reply import Reply, ReplyStatus

__all__ = ["ReplyPrinter", "Terminal"]


class Terminal:
    """Where output goes; knows whether it is an interactive terminal."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.interactive = self.out.isatty()

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def error(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()


class ReplyPrinter:
    """Prints a reply as it streams: text as it grows, status lines for tools and charts.

    PostHog sends the whole text so far with each chunk; only what is new is printed, so the
    text never repeats, on a terminal or in a pipe.
    """

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._shown = ""  # text of the message being written, as far as printed
        self._mid_line = False
        self._echoes = 0
        self._thinking = False  # a "thinking" line was shown for the message being written

    def show(self, event: StreamEvent) -> None:
        if isinstance(event, MessageEvent):
            self._message(event)
        elif isinstance(event, UpdateEvent):
            self._status(event.content if isinstance(event.content, str) else "working")
        elif isinstance(event, ConversationEvent) and event.conversation.title:
            self._status(f"titled: {event.conversation.title}")
        elif isinstance(event, StatusEvent):
            self._status("retrying a step")

    def finish(self, reply: Reply) -> None:
        self._end_line()
        if reply.status is ReplyStatus.IN_PROGRESS:
            self._status("still running at PostHog")
        elif reply.status is ReplyStatus.CANCELED:
            self._status("canceled before it answered")

    def _message(self, event: MessageEvent) -> None:
        message = event.message
        if isinstance(message, AIMessage):
            thinking = (message.meta or {}).get("thinking")
            if thinking and not self._thinking:  # PostHog AI is reasoning before it writes
                self._thinking = True
                self._status("thinking")
            self._text(message.content)
            if message.id is not None:
                self._end_line()
                self._shown = ""
                self._thinking = False
                if message.tool_calls:
                    self._status("using " + ", ".join(call.name for call in message.tool_calls))
        elif isinstance(message, HumanMessage):
            self._echoes += 1
            if self._echoes > 1:  # a queued follow-up answered on the same stream
                self._end_line()
                self.terminal.line(f"\n> {message.content}")
        elif isinstance(
            message, VisualizationMessage | MultiVisualizationMessage | ArtifactMessage
        ):
            self._status(f"chart: {visualization_summary(message)}")
        elif isinstance(message, FailureMessage):
            self._end_line()
            self.terminal.line(f"failed: {message.content or 'PostHog AI could not answer'}")

    def _text(self, text: str) -> None:
        if text.startswith(self._shown):
            new = text[len(self._shown) :]
        else:  # PostHog rewrote the text: start it again on a new line
            self._end_line()
            new = text
        if new:
            self.terminal.write(new)
            self._mid_line = True
        self._shown = text

    def _status(self, text: str) -> None:
        self._end_line()
        self.terminal.line(f"  . {text}")

    def _end_line(self) -> None:
        if self._mid_line:
            self.terminal.write("\n")
            self._mid_line = False
