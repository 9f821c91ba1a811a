"""Terminal output for the command line: what answers on stdout, status on stderr.

In a pipe, stdout carries the reply's text exactly as `Reply.text` holds it (or each question
with its answer when one stream answered several), the charts' summary and the
`conversation: <id>` line; status lines go to stderr as they happen. On a terminal, `rich`
renders the reply as Markdown while it streams, with the latest status on a line of its own
below the text, so a status line can never land inside a word.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from max_tools import (
    AIMessage,
    ArtifactMessage,
    ConversationEvent,
    HumanMessage,
    MessageEvent,
    MultiVisualizationMessage,
    Reply,
    ReplyStatus,
    StatusEvent,
    StreamEvent,
    Turn,
    UpdateEvent,
    VisualizationMessage,
)
from max_tools.agent import visualization_summary

__all__ = ["ReplyPrinter", "Terminal", "answer_lines"]


class Terminal:
    """Where output goes; knows whether stdout is an interactive terminal.

    `rich` decides that (a real TTY, or `FORCE_COLOR`/`TTY_COMPATIBLE` in the environment), so
    the CLI and its tests agree with the library that draws.
    """

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, input: TextIO | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.input = input or sys.stdin
        self.console = Console(file=self.out, highlight=False)
        self.interactive = self.console.is_terminal

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def error(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    @property
    def can_prompt(self) -> bool:
        """Whether a person is there to answer: output and input are both a terminal."""
        return self.interactive and self.input.isatty()

    def ask(self, prompt: str) -> str | None:
        """A line typed in answer to `prompt` (on stderr); None when input has ended."""
        self.err.write(prompt)
        self.err.flush()
        line = self.input.readline()
        return line.rstrip("\n") if line else None


def answer_lines(reply: Reply) -> list[str]:
    """What answers, as stdout shows it in a pipe: the text (or each turn), then the charts."""
    lines: list[str] = []
    if len(reply.turns) > 1:  # queued follow-ups ran on this stream: each question, its answer
        for number, turn in enumerate(reply.turns):
            if number:
                lines.append("")
            lines.extend(_turn_lines(turn))
    elif reply.text:
        lines.append(reply.text)
    lines.extend(f"chart: {visualization_summary(chart)}" for chart in reply.visualizations)
    return lines


def _turn_lines(turn: Turn) -> list[str]:
    lines = [f"> {turn.question}"] if turn.question is not None else []
    if turn.text:
        lines.append(turn.text)
    if turn.status is not ReplyStatus.COMPLETED:
        lines.append(f"({turn.status.value})")
    return lines


class ReplyPrinter:
    """Shows a reply as it streams; `finish` writes what answers.

    PostHog sends the whole text so far with each chunk, so the text being written is replaced,
    never appended to: on a terminal the live area redraws it; in a pipe nothing of it is written
    until the reply is known, because only then is it certain which text is the answer.
    """

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._text = ""  # the message being written, as far as PostHog sent it
        self._status = ""
        self._echoes = 0
        self._thinking = False  # a "thinking" status was shown for the message being written
        self._live: Live | None = None
        if terminal.interactive:
            # Redrawn on each event rather than on a timer thread: output depends only on the
            # events, and nothing draws after the printer closes.
            self._live = Live(console=terminal.console, auto_refresh=False, transient=True)

    def __enter__(self) -> ReplyPrinter:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def show(self, event: StreamEvent) -> None:
        if isinstance(event, MessageEvent):
            self._message(event)
        elif isinstance(event, UpdateEvent):
            self._note(event.content if isinstance(event.content, str) else "working")
        elif isinstance(event, ConversationEvent) and event.conversation.title:
            self._note(f"titled: {event.conversation.title}")
        elif isinstance(event, StatusEvent):
            self._note("retrying a step")

    def finish(self, reply: Reply) -> None:
        """Write what answers (on a terminal, what the live area has not shown) and the outcome."""
        live, self._live = self._live, None
        if live is not None:
            if self._text:  # a reply still being written when the stream ended
                live.console.print(Markdown(self._text))
            live.stop()
            for chart in reply.visualizations:
                self.terminal.line(f"chart: {visualization_summary(chart)}")
        else:
            for line in answer_lines(reply):
                self.terminal.line(line)
        for failure in reply.failures:
            self.terminal.error(f"failed: {failure.content or 'PostHog AI could not answer'}")
        if reply.status is ReplyStatus.IN_PROGRESS:
            follow = f"max-tools wait {reply.conversation_id}"
            self.terminal.error(f"  . still running at PostHog; follow it with: {follow}")
        elif reply.status is ReplyStatus.CANCELED:
            self.terminal.error("  . canceled before it answered")

    def _message(self, event: MessageEvent) -> None:
        message = event.message
        if isinstance(message, AIMessage):
            thinking = (message.meta or {}).get("thinking")
            if thinking and not self._thinking:  # PostHog AI is reasoning before it writes
                self._thinking = True
                self._note("thinking")
            self._text = message.content
            if message.id is None:
                self._draw()
                return
            self._settle(Markdown(message.content) if message.content else None)
            self._text = ""
            self._thinking = False
            if message.tool_calls:
                self._note("using " + ", ".join(call.name for call in message.tool_calls))
            else:  # an answer is done; its status no longer describes anything
                self._status = ""
                self._draw()
        elif isinstance(message, HumanMessage):
            self._echoes += 1
            if self._echoes > 1:  # a queued follow-up answered on the same stream
                self._settle(Text(f"\n> {message.content}", style="bold"))
        elif isinstance(
            message, VisualizationMessage | MultiVisualizationMessage | ArtifactMessage
        ):
            self._note(f"chart: {visualization_summary(message)}")

    def _settle(self, renderable: RenderableType | None) -> None:
        """On a terminal, print a finished part above the live area, where it stays."""
        if self._live is not None and renderable is not None:
            self._live.console.print(renderable)

    def _note(self, text: str) -> None:
        if self._live is None:
            self.terminal.error(f"  . {text}")
            return
        self._status = text
        self._draw()

    def _draw(self) -> None:
        if self._live is None:
            return
        parts: list[RenderableType] = []
        if self._text:
            parts.append(Markdown(self._text))
        if self._status:
            parts.append(Text(f"  . {self._status}", style="dim"))
        self._live.update(Group(*parts), refresh=True)
