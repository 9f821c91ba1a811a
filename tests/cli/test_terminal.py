"""The reply printer of `max-tools chat`: text once, status lines, thinking."""

from __future__ import annotations

import io

from max_tools import MessageEvent, StreamEvent, UpdateEvent
from max_tools._messages import parse_message
from max_tools.cli._terminal import ReplyPrinter, Terminal


def chunk(text: str, thinking: list[dict[str, str]] | None = None) -> MessageEvent:
    return MessageEvent(
        parse_message({"content": text, "meta": {"thinking": thinking or []}, "type": "ai"})
    )


def test_thinking_is_shown_once_per_message_and_text_never_repeats() -> None:
    out = io.StringIO()
    printer = ReplyPrinter(Terminal(out=out, err=io.StringIO()))
    reasoning = [{"type": "thinking", "thinking": "Which events count as signups?"}]

    events: list[StreamEvent] = [
        chunk("", reasoning),
        chunk("There", reasoning),
        UpdateEvent(id="a", tool_call_id="t", content="Querying"),
        chunk("There were 12"),
        MessageEvent(
            parse_message({"content": "There were 12 signups.", "id": "a1", "type": "ai"})
        ),
        chunk("Next", reasoning),
    ]
    for event in events:
        printer.show(event)

    # "thinking" once per message being written; the text goes on after a status line
    # without repeating what was already printed.
    assert (
        out.getvalue() == "  . thinking\nThere\n  . Querying\n were 12 signups.\n  . thinking\nNext"
    )
