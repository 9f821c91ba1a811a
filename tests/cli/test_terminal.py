"""The reply printer of `max-tools chat`: a tool update in the middle of the answer.

PostHog can send an `update` between two chunks of the text; the emulator does not script that,
so these tests feed the printer the events PostHog sent when the defect was seen.
"""

from __future__ import annotations

import io

import pytest

from max_tools import AIMessage, MessageEvent, Reply, ReplyStatus, StreamEvent, UpdateEvent
from max_tools.cli._terminal import ReplyPrinter, Terminal

ANSWER = "Answer to: cli hello ae**d2057a**"


def chunk(text: str, thinking: list[dict[str, str]] | None = None) -> MessageEvent:
    return MessageEvent(AIMessage(content=text, meta={"thinking": thinking or []}))


EVENTS: list[StreamEvent] = [
    chunk("", [{"type": "thinking", "thinking": "Which events count?"}]),
    chunk("Answer to: cli hello ae"),
    UpdateEvent(id="a", tool_call_id="t", content="Looking things up"),
    chunk("Answer to: cli hello ae**d2057a"),
    MessageEvent(AIMessage(content=ANSWER, id="a1")),
]
REPLY = Reply(conversation_id="c", status=ReplyStatus.COMPLETED, text=ANSWER)


def print_reply(terminal: Terminal) -> None:
    with ReplyPrinter(terminal) as printer:
        for event in EVENTS:
            printer.show(event)
        printer.finish(REPLY)


def test_in_a_pipe_stdout_is_exactly_the_reply_text_and_status_is_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()

    print_reply(Terminal(out=out, err=err))

    assert out.getvalue() == ANSWER + "\n"
    assert err.getvalue() == "  . thinking\n  . Looking things up\n"


def test_on_a_terminal_the_answer_is_markdown_and_status_stays_out_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    out, err = io.StringIO(), io.StringIO()

    print_reply(Terminal(out=out, err=err))

    screen = out.getvalue()
    assert err.getvalue() == ""
    # the finished answer is drawn once, whole and in bold where the Markdown says so; the
    # status line is a line of its own below the text while the answer is written
    assert screen.count("Answer to: cli hello ae\x1b[1md2057a\x1b[0m") == 1
    assert "  . Looking things up" in screen
    assert "ae  . Looking" not in screen and "ae\n  . Looking things up\nd2057a" not in screen
