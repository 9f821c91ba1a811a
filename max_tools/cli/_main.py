"""Argument parsing and dispatch for `max-tools`; errors become one line and an exit status."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn

import anyio

from max_tools import APIStatusError, ConfigurationError, InvalidArgumentsError, MaxError
from max_tools.cli import _commands
from max_tools.cli._stop import SigtermStop
from max_tools.cli._terminal import Terminal

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line of ours and exit status 2, without the usage.

    Each command reports the words it does not take itself, so that the message names the
    command and its help (argparse leaves them to the top-level parser, which names neither).
    """

    late_list: argparse.Action | None = None
    """A list positional that also takes the words written after an option (`answer`'s
    answers): argparse gives it only the words before the first option."""

    outer_options: frozenset[str] = frozenset()
    """The options of `max-tools` itself, which go before the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}. See: {self.prog} --help\n")

    def parse_known_args(  # type: ignore[override]  # one signature for typeshed's overloads
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        options = [word for word in extras if word.startswith("-")]
        if extras and not options and self.late_list is not None:
            self._extend(self.late_list, parsed, extras)
            return parsed, []
        for option in options:
            name = option.partition("=")[0]
            if name in self.outer_options:
                command = self.prog.removeprefix("max-tools ")
                self.error(f"{name} is an option of max-tools: put it before {command}")
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def _extend(self, late: argparse.Action, parsed: argparse.Namespace, words: list[str]) -> None:
        convert = late.type if callable(late.type) else str
        try:
            values = [convert(word) for word in words]
        except argparse.ArgumentTypeError as exc:
            self.error(f"argument {late.metavar}: {exc}")
        setattr(parsed, late.dest, [*(getattr(parsed, late.dest, None) or []), *values])


def _conversation(value: str) -> str:
    """A conversation id written as the API writes it; a bad one is the client's to refuse."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def _number(value: str) -> int | float:
    """A number as typed; whether it fits is the client's to check (it says so in our words)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a number") from None


def _count(value: str) -> int:
    """A whole number of 1 or more where no client check covers it (`--last`, a chart's N)."""
    number = _number(value)
    if not isinstance(number, int) or number < 1:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a whole number of 1 or more")
    return number


def _seconds(value: str) -> float:
    """Seconds only the command line uses (the emulator's keep-alive)."""
    number = _number(value)
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
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not question_id=answer")
    return key.strip(), answer


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


_ID_HELP = "the conversation id (chat prints it as `conversation: ID`)"
_PROPOSAL_HELP = "the proposal id, from the approval card"
_QUEUE_HELP = {
    "queue_id": "the queued follow-up's id (max-tools queue list ID shows it)",
    "message": "the follow-up's text",
}


def _command(commands: argparse._SubParsersAction[_Parser], name: str, help: str) -> _Parser:
    """A (sub)command; the parsed arguments keep its parser, to report what the client refuses."""
    parser = commands.add_parser(name, help=help)
    parser.set_defaults(command_parser=parser)
    return parser


def _follows(command: _Parser, *, conversation: bool) -> None:
    """The options of the commands that follow a reply (and `ID`, when it is positional)."""
    if conversation:
        command.add_argument("conversation", type=_conversation, metavar="ID", help=_ID_HELP)
    command.add_argument("--json", action="store_true", help="print the reply as JSON at the end")
    command.add_argument(
        "--wait-s",
        type=_number,
        metavar="S",
        help="stop following after S seconds; the reply goes on at PostHog (default: to the end)",
    )
    command.add_argument(
        "--no-input",
        action="store_true",
        help="never prompt: print an approval card or a form and exit 3",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="max-tools",
        description="Talk to PostHog AI (Max) from the shell, or serve its offline emulator.",
        epilog="PostHog settings come from POSTHOG_PERSONAL_API_KEY, POSTHOG_HOST and "
        "POSTHOG_PROJECT_ID unless given as flags; without a key, from the sign-in of "
        "max-tools login. Exit status: 0 answered (or still running), "
        "1 failed, 2 bad usage or settings, 3 waits for a person (approve, reject or answer), "
        "130 interrupted (143 on SIGTERM).",
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

    chat = _command(commands, "chat", "ask PostHog AI and stream the reply")
    chat.add_argument("message", help="the question")
    chat.add_argument(
        "--conversation", type=_conversation, metavar="ID", help="continue this conversation"
    )
    chat.add_argument("--mode", help="agent mode, e.g. product_analytics, sql, research")
    _follows(chat, conversation=False)
    wait = _command(commands, "wait", "follow a running reply (or show the last one)")
    _follows(wait, conversation=True)

    approve = _command(commands, "approve", "approve an operation PostHog AI proposed")
    _follows(approve, conversation=True)
    approve.add_argument("proposal", metavar="PROPOSAL_ID", help=_PROPOSAL_HELP)
    approve.add_argument(
        "--payload", type=_json_object, metavar="JSON", help="arguments to change, a JSON object"
    )
    reject = _command(commands, "reject", "reject an operation PostHog AI proposed")
    _follows(reject, conversation=True)
    reject.add_argument("proposal", metavar="PROPOSAL_ID", help=_PROPOSAL_HELP)
    reject.add_argument("--feedback", metavar="TEXT", help="why, for PostHog AI")
    answer = _command(commands, "answer", "answer the questions PostHog AI asked")
    _follows(answer, conversation=True)
    answer.late_list = answer.add_argument(
        "answers",
        nargs="*",
        type=_answer,
        metavar="QUESTION=ANSWER",
        help="one per question (repeat a key for multi_select)",
    )
    answer.add_argument("--dismiss", action="store_true", help="decline to answer the form")

    chart = _command(commands, "chart", "the numbers behind a chart (a table), or a picture")
    chart.add_argument("conversation", type=_conversation, metavar="ID", help=_ID_HELP)
    chart.add_argument(
        "number",
        nargs="?",
        type=_count,
        default=1,
        metavar="N",
        help="which chart of the conversation, from 1 (default: 1)",
    )
    drawn = chart.add_mutually_exclusive_group()
    drawn.add_argument("--json", action="store_true", help="the data and the Vega-Lite spec")
    drawn.add_argument("--png", metavar="FILE", help="write the chart as PNG (extra: charts)")
    drawn.add_argument("--svg", metavar="FILE", help="write the chart as SVG (extra: charts)")

    conversations = commands.add_parser("conversations", help="list or show conversations")
    conversation_commands = conversations.add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = _command(conversation_commands, "list", "your conversations, newest first")
    listing.add_argument(
        "--limit", type=_number, default=20, help="how many (default: %(default)s)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument(
        "--runtime",
        action="store_true",
        help=(
            "also say which conversations moved to PostHog AI's newer runtime: a list item "
            "does not say, so this reads each listed conversation (one request each; "
            "`conversations show ID` says it for one)"
        ),
    )
    show = _command(conversation_commands, "show", "a conversation's messages")
    show.add_argument("conversation", type=_conversation, metavar="ID", help=_ID_HELP)
    show.add_argument(
        "--last", type=_count, default=50, help="how many messages (default: %(default)s)"
    )
    show.add_argument("--json", action="store_true", help="print JSON")

    _command(commands, "cancel", "stop the running reply and clear the queue").add_argument(
        "conversation", type=_conversation, metavar="ID", help=_ID_HELP
    )

    queue = commands.add_parser("queue", help="the follow-ups queued in a conversation")
    queue_commands = queue.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help, arguments in (
        ("list", "show the queue", ()),
        ("add", "queue a follow-up", ("message",)),
        ("edit", "change a queued follow-up", ("queue_id", "message")),
        ("rm", "remove a queued follow-up", ("queue_id",)),
        ("clear", "remove every queued follow-up", ()),
    ):
        command = _command(queue_commands, name, help)
        command.add_argument("conversation", type=_conversation, metavar="ID", help=_ID_HELP)
        for argument in arguments:
            command.add_argument(argument, metavar=argument.upper(), help=_QUEUE_HELP[argument])

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
    emulator.add_argument(
        "--region",
        choices=("us", "eu", "none"),
        default="us",
        help="the region its OAuth server names; none: self-hosted (default: %(default)s)",
    )
    emulator.add_argument(
        "--oauth-auto-consent",
        action="store_true",
        help="sign in with PostHog without the consent page (as the first user, this project)",
    )

    login = _command(commands, "login", "sign in with PostHog in the browser (no key needed)")
    login.add_argument(
        "--no-browser", action="store_true", help="print the link instead of opening a browser"
    )
    login.add_argument(
        "--no-keyring",
        action="store_true",
        help="keep the sign-in in a file readable by you alone, not in the system keyring "
        "(MAX_TOOLS_KEYRING=0 does the same)",
    )
    login.add_argument(
        "--wait-s",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="how long to wait for the browser (default: %(default)g)",
    )
    logout = _command(commands, "logout", "revoke and forget the stored PostHog sign-in")
    whoami = _command(commands, "whoami", "which host, project, scopes and credential are used")
    for command in (login, logout, whoami):
        command.add_argument(
            "--host",
            dest="command_host",
            metavar="HOST",
            help="PostHog host: us, eu or a URL (POSTHOG_HOST)",
        )
    for command in (login, whoami):
        command.add_argument(
            "--project-id",
            dest="command_project_id",
            metavar="PROJECT_ID",
            help="project id (POSTHOG_PROJECT_ID)",
        )

    commands.add_parser("demo", help="walk through every tool with max-mcp on the emulator")
    commands.add_parser("mcp", help="run the MCP server (the same as max-mcp; see max-mcp --help)")
    commands.add_parser("a2a", help="run the A2A server (the same as max-a2a; see max-a2a --help)")
    outer = frozenset(option for action in parser._actions for option in action.option_strings)
    for group in (commands, conversation_commands, queue_commands):
        for command in group.choices.values():
            command.outer_options = outer - {"-h", "--help"}
    return parser


def _answer_or_dismiss(args: argparse.Namespace) -> None:
    """`answer` takes answers or --dismiss: say so before any setting is read."""
    if args.command != "answer":
        return
    if args.dismiss and args.answers:
        args.command_parser.error("give answers or --dismiss, not both")
    if not args.dismiss and not args.answers:
        args.command_parser.error(
            "give answers as question_id=answer (repeat a key for multi_select), or --dismiss"
        )


_DESTS = {"conversation_id": "conversation", "chart": "number", "agent_mode": "mode"}
"""Where a client argument's name differs from the command line's (argparse `dest`)."""


def _refused(args: argparse.Namespace, argument: str | None, problem: str | None) -> None:
    """Report an argument the client refused as argparse reports one: its flag, exit status 2.

    The client checks every argument it is given, once, before anything is sent; the command
    line only names the flag (or positional argument) that carried it.
    """
    parser: argparse.ArgumentParser | None = getattr(args, "command_parser", None)
    if parser is None or argument is None or problem is None:
        return
    dest = _DESTS.get(argument, argument)
    for action in parser._actions:
        if action.dest == dest:
            name = "/".join(action.option_strings) or action.metavar or action.dest
            parser.error(f"argument {name}: {problem}")


_POSTHOG_CHECKED = frozenset({"agent_mode"})
"""Fields whose values only PostHog checks; other 400s keep the client's advice."""


def _refused_by_posthog(args: argparse.Namespace, error: APIStatusError) -> None:
    """Report a 400 that names a field the command line took as a flag (``--mode``), exit 2.

    Some values only PostHog checks (the agent modes grow over time); its 400 names the body's
    field, which a command-line user never typed.
    """
    if error.status_code == 400 and error.attr in _POSTHOG_CHECKED and error.detail:
        _refused(args, error.attr, f"PostHog refused it: {error.detail.rstrip('.')}")


def _run(args: argparse.Namespace, terminal: Terminal, stop: SigtermStop) -> int | None:
    """Run the command; None when SIGTERM stopped it.

    A second Ctrl-C raises KeyboardInterrupt wherever it lands (asyncio's own handling): one
    that landed inside a task group comes out as a group of it, and stops the command as it is.
    """
    try:
        return anyio.run(stop.run, partial(_commands.run, args, terminal))
    except BaseExceptionGroup as group:
        stops, rest = group.split(KeyboardInterrupt)
        if stops is None or rest is not None:
            raise
        first: BaseException = stops
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


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
    if arguments[:1] == ["a2a"]:  # `max-tools a2a ...` is `max-a2a ...`
        try:
            from a2a_server.cli import main as max_a2a
        except ImportError:
            print(
                "max-tools a2a needs the a2a extra: pip install 'max-tools[a2a]'", file=sys.stderr
            )
            return 2
        return max_a2a(arguments[1:])
    with SigtermStop().installed() as stop:
        return _main(arguments, stop)


def _main(arguments: list[str], stop: SigtermStop) -> int:
    args = _parser().parse_args(arguments)
    _answer_or_dismiss(args)
    terminal = Terminal()
    if args.debug:
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
    status: int | None = None
    interrupted = False
    try:
        status = _run(args, terminal, stop)
    except KeyboardInterrupt:
        interrupted = True
    except ConfigurationError as exc:
        if args.debug:
            raise
        terminal.error(f"max-tools: {exc.advice_for('cli')}")  # --api-key, not api_key=
        return 2
    except InvalidArgumentsError as exc:  # caught by the client before anything was sent
        if args.debug:
            raise
        _refused(args, exc.argument, exc.problem)
        terminal.error(f"max-tools: {exc}")
        return 2
    except APIStatusError as exc:  # what to do, in commands to run
        if args.debug:
            raise
        _refused_by_posthog(args, exc)
        cid = getattr(args, "active_conversation", None) or getattr(args, "conversation", None)
        terminal.error(f"max-tools: {exc.advice_for('cli', cid=cid or '<id>')}")
        return 1
    except MaxError as exc:
        if args.debug:
            raise
        terminal.error(f"max-tools: {exc}")
        return 1
    if status is None or stop.terminated or interrupted:
        _commands.detached(args, terminal)
        # SIGTERM's status wherever it landed: before, during or after the command.
        return 143 if stop.terminated else 130
    return status
