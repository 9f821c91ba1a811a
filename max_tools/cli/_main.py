"""Argument parsing and dispatch for `max-tools`; errors become one line and an exit status."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import anyio

from max_tools import APIStatusError, ConfigurationError, InvalidArgumentsError, MaxError
from max_tools.cli import _commands
from max_tools.cli._terminal import Terminal

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line of ours and exit status 2, without the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}. See: {self.prog} --help\n")


def _conversation_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{_shown(value)} is not a conversation id; expected a UUID like "
            "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77 (max-tools conversations list shows yours)"
        ) from None


def _message(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("the message is empty; write the question in quotes")
    return value


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a whole number of 1 or more")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a number of seconds, 0 or more")
    return number


def _json_object(value: str) -> dict[str, object]:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. {"dashboard_id": 43}')
    return parsed


def _answer(value: str) -> tuple[str, str]:
    key, equals, answer = value.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError("must be question_id=answer")
    return key.strip(), answer


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="max-tools",
        description="Talk to PostHog AI (Max) from the shell, or serve its offline emulator.",
        epilog="PostHog settings come from POSTHOG_PERSONAL_API_KEY, POSTHOG_HOST and "
        "POSTHOG_PROJECT_ID unless given as flags. Exit status: 0 answered (or still running), "
        "1 failed, 2 bad usage or settings, 3 waits for a person (approve, reject or answer), "
        "130 interrupted.",
    )
    parser.add_argument("--api-key", help="personal API key (prefer POSTHOG_PERSONAL_API_KEY)")
    parser.add_argument("--host", help="PostHog host: us, eu or a URL (POSTHOG_HOST)")
    parser.add_argument("--project-id", help="project id or @current (POSTHOG_PROJECT_ID)")
    parser.add_argument(
        "--emulator", action="store_true", help="run against an in-process emulator"
    )
    parser.add_argument("--debug", action="store_true", help="debug logs and full tracebacks")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    chat = commands.add_parser("chat", help="ask PostHog AI and stream the reply")
    chat.add_argument("message", type=_message, help="the question")
    chat.add_argument(
        "--conversation", type=_conversation_id, metavar="ID", help="continue this conversation"
    )
    chat.add_argument("--mode", help="agent mode, e.g. product_analytics, sql, research")
    chat.add_argument("--json", action="store_true", help="print the reply as JSON at the end")
    chat.add_argument(
        "--wait-s",
        type=_seconds,
        metavar="S",
        help="stop following after S seconds; the reply goes on at PostHog (default: to the end)",
    )

    chat.add_argument(
        "--no-input",
        action="store_true",
        help="never prompt: print an approval card or a form and exit 3",
    )

    wait = commands.add_parser("wait", help="follow a running reply (or show the last one)")
    wait.add_argument("conversation", type=_conversation_id, metavar="ID")
    wait.add_argument("--json", action="store_true", help="print the reply as JSON at the end")
    wait.add_argument(
        "--wait-s",
        type=_seconds,
        metavar="S",
        help="stop following after S seconds; the reply goes on at PostHog (default: to the end)",
    )

    wait.add_argument("--no-input", action="store_true", help="never prompt (see chat)")

    approve = commands.add_parser("approve", help="approve an operation PostHog AI proposed")
    approve.add_argument("conversation", type=_conversation_id, metavar="ID")
    approve.add_argument("proposal", metavar="PROPOSAL_ID")
    approve.add_argument(
        "--payload", type=_json_object, metavar="JSON", help="arguments to change, a JSON object"
    )
    reject = commands.add_parser("reject", help="reject an operation PostHog AI proposed")
    reject.add_argument("conversation", type=_conversation_id, metavar="ID")
    reject.add_argument("proposal", metavar="PROPOSAL_ID")
    reject.add_argument("--feedback", metavar="TEXT", help="why, for PostHog AI")
    answer = commands.add_parser("answer", help="answer the questions PostHog AI asked")
    answer.add_argument("conversation", type=_conversation_id, metavar="ID")
    answer.add_argument(
        "answers",
        nargs="*",
        type=_answer,
        metavar="QUESTION=ANSWER",
        help="one per question (repeat a key for multi_select)",
    )
    answer.add_argument("--dismiss", action="store_true", help="decline to answer the form")
    for decision in (approve, reject, answer):
        decision.add_argument("--json", action="store_true", help="print the reply as JSON")
        decision.add_argument(
            "--wait-s", type=_seconds, metavar="S", help="stop following after S s"
        )
        decision.add_argument("--no-input", action="store_true", help="never prompt")

    chart = commands.add_parser("chart", help="the numbers behind a chart (a table), or a picture")
    chart.add_argument("conversation", type=_conversation_id, metavar="ID")
    chart.add_argument("number", nargs="?", type=_count, default=1, metavar="N", help="chart N")
    drawn = chart.add_mutually_exclusive_group()
    drawn.add_argument("--json", action="store_true", help="the data and the Vega-Lite spec")
    drawn.add_argument("--png", metavar="FILE", help="write the chart as PNG (extra: charts)")
    drawn.add_argument("--svg", metavar="FILE", help="write the chart as SVG (extra: charts)")

    conversations = commands.add_parser("conversations", help="list or show conversations")
    conversation_commands = conversations.add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = conversation_commands.add_parser("list", help="your conversations, newest first")
    listing.add_argument("--limit", type=_count, default=20, help="how many (default: %(default)s)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = conversation_commands.add_parser("show", help="a conversation's messages")
    show.add_argument("conversation", type=_conversation_id, metavar="ID")
    show.add_argument(
        "--last", type=_count, default=50, help="how many messages (default: %(default)s)"
    )
    show.add_argument("--json", action="store_true", help="print JSON")

    cancel = commands.add_parser("cancel", help="stop the running reply and clear the queue")
    cancel.add_argument("conversation", type=_conversation_id, metavar="ID")

    queue = commands.add_parser("queue", help="the follow-ups queued in a conversation")
    queue_commands = queue.add_subparsers(dest="action", required=True, metavar="ACTION")
    queue_commands.add_parser("list", help="show the queue").add_argument(
        "conversation", type=_conversation_id, metavar="ID"
    )
    add = queue_commands.add_parser("add", help="queue a follow-up")
    add.add_argument("conversation", type=_conversation_id, metavar="ID")
    add.add_argument("message", type=_message)
    edit = queue_commands.add_parser("edit", help="change a queued follow-up")
    edit.add_argument("conversation", type=_conversation_id, metavar="ID")
    edit.add_argument("queue_id", metavar="QUEUE_ID")
    edit.add_argument("message", type=_message)
    remove = queue_commands.add_parser("rm", help="remove a queued follow-up")
    remove.add_argument("conversation", type=_conversation_id, metavar="ID")
    remove.add_argument("queue_id", metavar="QUEUE_ID")
    queue_commands.add_parser("clear", help="remove every queued follow-up").add_argument(
        "conversation", type=_conversation_id, metavar="ID"
    )

    emulator = commands.add_parser("emulator", help="serve the offline PostHog AI emulator")
    emulator.add_argument("--bind", default="127.0.0.1", help="address (default: %(default)s)")
    emulator.add_argument(
        "--port", type=int, default=8010, help="port; 0 picks a free one (default: %(default)s)"
    )
    emulator.add_argument("--rules", type=Path, metavar="FILE", help="rules file (JSON or TOML)")
    emulator.add_argument(
        "--keepalive-s",
        type=_seconds,
        default=15.0,
        metavar="S",
        help="silence before a keep-alive",
    )
    emulator.add_argument(
        "--scoped-key", action="store_true", help="refuse append/cancel/queue with 403"
    )
    emulator.add_argument("--throttle", action="store_true", help="apply PostHog AI's rate limits")
    emulator.add_argument(
        "--queue-drain", action="store_true", help="refuse queueing when no run is active"
    )
    emulator.add_argument(
        "--state", type=Path, metavar="FILE", help="keep conversations in this JSON file"
    )
    emulator.add_argument("--key", help="accept only this key (default: any phx_ key)")

    commands.add_parser("demo", help="walk through every tool with max-mcp on the emulator")
    commands.add_parser("mcp", help="run the MCP server (the same as max-mcp; see max-mcp --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["mcp"]:  # `max-tools mcp ...` is `max-mcp ...` (registry clients run this)
        try:
            from mcp_server.cli import main as max_mcp
        except ImportError:
            print(
                "max-tools mcp needs the mcp extra: pip install 'max-tools[mcp]'", file=sys.stderr
            )
            return 2
        return max_mcp(arguments[1:])
    args = _parser().parse_args(arguments)
    terminal = Terminal()
    if args.debug:
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
    try:
        return anyio.run(_commands.run, args, terminal)
    except KeyboardInterrupt:
        _commands.detached(args, terminal)
        return 130
    except ConfigurationError as exc:
        if args.debug:
            raise
        terminal.error(f"max-tools: {exc}")
        return 2
    except InvalidArgumentsError as exc:  # caught by the client before anything was sent
        if args.debug:
            raise
        terminal.error(f"max-tools: {exc}")
        return 2
    except APIStatusError as exc:  # what to do, in commands to run
        if args.debug:
            raise
        cid = getattr(args, "active_conversation", None) or getattr(args, "conversation", None)
        terminal.error(f"max-tools: {exc.advice_for('cli', cid=cid or '<id>')}")
        return 1
    except MaxError as exc:
        if args.debug:
            raise
        terminal.error(f"max-tools: {exc}")
        return 1
