"""The commands of `max-tools`, each a coroutine on an `AsyncMaxClient`."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from rich.table import Table

from max_tools import (
    AsyncMaxClient,
    ConfigurationError,
    ConversationBusyError,
    ConversationSummary,
    MaxError,
    Reply,
    ReplyStatus,
    StreamEvent,
)
from max_tools.agent import MOVED_NOTE, render_chart, render_conversation, render_queue
from max_tools.charts import to_png, to_svg, vega_lite
from max_tools.cli._person import NEEDS_PERSON, card_lines, decide
from max_tools.cli._terminal import ReplyPrinter, Terminal

_NEEDS_PERSON = (ReplyStatus.NEEDS_APPROVAL, ReplyStatus.NEEDS_ANSWER)
_RUNTIME_READS = 4  # conversations read at once by `conversations list --runtime`

__all__ = ["detached", "run"]


async def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Run the parsed command."""
    if args.command == "emulator":
        return await _serve_emulator(args, terminal)
    if args.command in ("login", "logout", "whoami"):
        if args.emulator:
            # A sign-in stored for an in-process emulator would name a server gone when the
            # command ends; without this, `--emulator login` quietly went to PostHog Cloud.
            raise ConfigurationError(
                f"--emulator does not apply to {args.command}: serve an emulator that stays up "
                "with max-tools emulator, then run max-tools login --host http://127.0.0.1:8010"
            )
        from max_tools.cli import _signin

        runner = {
            "login": _signin.run_login,
            "logout": _signin.run_logout,
            "whoami": _signin.run_whoami,
        }[args.command]
        return await runner(args, terminal)
    if args.command == "demo":
        from max_tools.cli._demo import demo

        return await demo(terminal)
    async with _client(args) as client:
        if args.command == "chat":
            return await _chat(client, args, terminal)
        if args.command == "wait":
            return await _follow(client, args, terminal, None, args.conversation)
        if args.command in ("approve", "reject", "answer"):
            return await _decide(client, args, terminal)
        if args.command == "chart":
            return await _chart(client, args, terminal)
        if args.command == "conversations":
            return await _conversations(client, args, terminal)
        if args.command == "cancel":
            await client.cancel(args.conversation)
            terminal.line("Canceled: the reply (if any) stopped and the queue was cleared.")
            terminal.line(f"conversation: {args.conversation}")
            return 0
        return await _queue(client, args, terminal)


def detached(args: argparse.Namespace, terminal: Terminal) -> None:
    """What Ctrl-C during a reply says: the run goes on; how to resume or cancel it."""
    cid = getattr(args, "active_conversation", None)
    if cid is None:
        terminal.error("\nInterrupted.")
        return
    terminal.error(
        f"\nDetached; PostHog AI goes on answering. Resume with: max-tools wait {cid}\n"
        f"Stop it with: max-tools cancel {cid}"
    )


@asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[AsyncMaxClient]:
    if not args.emulator:
        async with AsyncMaxClient(
            api_key=args.api_key, host=args.host, project_id=args.project_id
        ) as client:
            yield client
        return
    try:
        from max_tools.emulator import DEFAULT_KEY, serve
    except ImportError:
        raise ConfigurationError(
            "--emulator needs the emulator extra: pip install 'max-tools[emulator]'"
        ) from None
    async with (
        serve() as emulator,
        AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client,
    ):
        yield client


async def _chat(client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal) -> int:
    cid = args.conversation or str(uuid.uuid4())
    try:
        return await _follow(client, args, terminal, args.message, cid, mode=args.mode)
    except ConversationBusyError as busy:
        terminal.error(f"max-tools: {busy.advice_for('cli', cid=cid)}")
        return 1


async def _follow(
    client: AsyncMaxClient,
    args: argparse.Namespace,
    terminal: Terminal,
    message: str | None,
    conversation_id: str,
    mode: str | None = None,
) -> int:
    args.active_conversation = conversation_id
    first: Callable[..., Awaitable[Reply]]
    if message is not None:
        first = partial(client.ask, message, conversation_id=conversation_id, agent_mode=mode)
    else:
        first = partial(client.wait, conversation_id)
    return await _settle(client, args, terminal, first)


async def _settle(
    client: AsyncMaxClient,
    args: argparse.Namespace,
    terminal: Terminal,
    first: Callable[..., Awaitable[Reply]],
    *first_args: Any,
    **first_options: Any,
) -> int:
    """Stream a reply, then, while it waits for a person, ask them (or say how to answer)."""

    async def follow(start: Callable[..., Awaitable[Reply]], *more: Any, **options: Any) -> Reply:
        return await _show(start, args, terminal, *more, **options)

    reply = await follow(first, *first_args, **first_options)
    while reply.status in _NEEDS_PERSON and terminal.can_prompt and not args.no_input:
        continued = await decide(client, reply, terminal, follow)
        if continued is None:
            break
        reply = continued
    if reply.status in _NEEDS_PERSON and not args.json:
        for line in card_lines(reply):
            terminal.line(line)
    if reply.charts and terminal.interactive and not args.json:
        await _chart_tables(client, reply, terminal)
    if not args.json:
        terminal.line(f"conversation: {reply.conversation_id}")
    return _status_code(reply)


async def _show(
    start: Callable[..., Awaitable[Reply]],
    args: argparse.Namespace,
    terminal: Terminal,
    *arguments: Any,
    **options: Any,
) -> Reply:
    """One streamed reply: drawn as it comes (or, with --json, printed whole at the end)."""
    if args.json:
        reply: Reply = await start(*arguments, wait_s=args.wait_s, **options)
        terminal.line(reply.model_dump_json(exclude_none=True))
        return reply
    with ReplyPrinter(terminal) as printer:

        async def shown(event: StreamEvent) -> None:
            printer.show(event)

        reply = await start(*arguments, wait_s=args.wait_s, on_event=shown, **options)
        printer.finish(reply)
    return reply


async def _decide(client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal) -> int:
    """`approve`, `reject` and `answer`: pass a decision on and stream the continuation."""
    cid = args.conversation
    args.active_conversation = cid
    if args.command == "approve":
        return await _settle(
            client, args, terminal, client.approve, cid, args.proposal, payload=args.payload
        )
    if args.command == "reject":
        return await _settle(
            client, args, terminal, client.reject, cid, args.proposal, feedback=args.feedback
        )
    if args.dismiss:  # with no answers: the parser saw to it
        return await _settle(client, args, terminal, client.dismiss_form, cid)
    answers: dict[str, str | list[str]] = {}
    for key, value in args.answers:
        held = answers.get(key)
        if held is None:
            answers[key] = value
        else:
            answers[key] = [*([held] if isinstance(held, str) else held), value]
    return await _settle(client, args, terminal, client.answer, cid, answers)


def _status_code(reply: Reply) -> int:
    if reply.status in _NEEDS_PERSON:
        return NEEDS_PERSON
    return 0 if reply.status in (ReplyStatus.COMPLETED, ReplyStatus.IN_PROGRESS) else 1


_BARS = "▁▂▃▄▅▆▇█"


async def _chart_tables(client: AsyncMaxClient, reply: Reply, terminal: Terminal) -> None:
    """On a terminal: a table per chart, one row per series with its trend drawn in Unicode bars."""
    for chart in reply.charts[:3]:
        result = await client.query(chart.query)
        table = Table(title=f"chart {chart.index}: {chart.kind}", title_justify="left")
        for heading in ("series", "trend", "latest", "total"):
            table.add_column(heading, justify="left" if heading in ("series", "trend") else "right")
        for series in (result.series or [])[:8]:
            if not series.data:
                continue
            low, high = min(series.data), max(series.data)
            scale = (len(_BARS) - 1) / (high - low) if high > low else 0
            bars = "".join(_BARS[round((value - low) * scale)] for value in series.data[-60:])
            total = f"{series.count:,.0f}" if series.count is not None else ""
            table.add_row(series.label[:32], bars, f"{series.data[-1]:,.0f}", total)
        terminal.console.print(table)
        terminal.line(f"  (every number: max-tools chart {reply.conversation_id} {chart.index})")


async def _chart(client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal) -> int:
    """`max-tools chart`: the table of a chart's numbers, its data as JSON, or a picture."""
    chart, result = await client.chart_data(args.conversation, args.number)
    spec = vega_lite(chart, result)
    if args.json:
        text, data = render_chart(args.conversation, chart, result)
        terminal.line(json.dumps({**data.model_dump(exclude_none=True), "vega_lite": spec}))
        return 0
    if args.png or args.svg:
        path = anyio.Path(args.png or args.svg)
        picture = to_png(spec, scale=2) if args.png else to_svg(spec).encode()
        try:
            await path.write_bytes(picture)
        except OSError as exc:
            flag = "--png" if args.png else "--svg"
            raise ConfigurationError(
                f"{flag}: cannot write {path}: {exc.strerror or exc}. Name a file in a folder "
                "that exists."
            ) from None
        terminal.error(f"chart {chart.index} written to {path}")  # a status: stdout stays empty
        return 0
    text, _ = render_chart(args.conversation, chart, result)
    terminal.line(text)
    return 0


async def _conversations(
    client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal
) -> int:
    if args.action == "list":
        page = await client.list_conversations(limit=args.limit)
        runtimes = await _runtimes(client, page.results, terminal) if args.runtime else {}
        if args.json and not args.runtime:
            terminal.line(page.model_dump_json())
            return 0
        if args.json:
            data = page.model_dump(mode="json")
            for item in data["results"]:
                item["agent_runtime"] = runtimes.get(item["id"])
            terminal.line(json.dumps(data, separators=(",", ":")))
            return 0
        for item in page.results:
            updated = item.updated_at.strftime("%Y-%m-%d %H:%M") if item.updated_at else "-"
            title = item.title or "(untitled)"
            if args.runtime:
                runtime = runtimes.get(item.id)
                shown = MOVED_NOTE if runtime == "sandbox" else runtime or "unknown"
                title += f"  [runtime: {shown}]"
            terminal.line(f"{item.id}  {item.status:<11}  {updated}  {title}")
        if page.count > len(page.results):
            terminal.error(f"({len(page.results)} of {page.count}; more with --limit)")
        if not page.results:
            # An empty stdout alone reads like a failure, above all on `--emulator`, whose
            # in-process emulator starts empty for every command.
            terminal.error(
                "(no conversations yet: --emulator starts empty for each command; serve one "
                "that keeps them with max-tools emulator)"
                if args.emulator
                else "(no conversations yet: start one with max-tools chat)"
            )
        return 0
    conversation = await client.get_conversation(args.conversation)
    if args.json:
        terminal.line(conversation.model_dump_json())
        return 0
    text, _ = render_conversation(conversation, last_messages=args.last)
    terminal.line(text)
    # The stored status of a run that waits for a person is "idle": without this line the
    # approval or form, and how to answer it, would be nowhere on the screen.
    waiting = client.last_reply(conversation).status
    if waiting in _NEEDS_PERSON:
        what = "an approval" if waiting is ReplyStatus.NEEDS_APPROVAL else "answers to a form"
        terminal.error(
            f"(waits for {what}: max-tools wait {conversation.id} shows it and how to answer)"
        )
    return 0


async def _runtimes(
    client: AsyncMaxClient, items: list[ConversationSummary], terminal: Terminal
) -> dict[str, str | None]:
    """Each listed conversation's runtime: ``langgraph``, ``sandbox``, or None when unread.

    A list item does not carry the runtime (reference 3.1), retrieve does: one request per
    conversation, which is why `--runtime` asks for it. A conversation without a task cannot
    have moved (16.3), so it costs nothing; since PostHog mirrors every chat into a task
    (16.1), that is only the older ones.
    """
    runtimes: dict[str, str | None] = {i.id: "langgraph" for i in items if i.task is None}
    to_read = [item.id for item in items if item.task is not None]
    if not to_read:
        return runtimes
    if len(to_read) == 1:
        terminal.error("(reading 1 conversation for its runtime: one request)")
    else:
        terminal.error(
            f"(reading {len(to_read)} conversations for their runtime: one request each)"
        )
    limiter = anyio.CapacityLimiter(_RUNTIME_READS)

    async def read(cid: str) -> None:
        async with limiter:
            try:
                conversation = await client.get_conversation(cid)
            except MaxError:  # the list stands without it: shown as unknown
                runtimes[cid] = None
                return
        runtimes[cid] = "sandbox" if conversation.moved else conversation.agent_runtime

    async with anyio.create_task_group() as group:
        for cid in to_read:
            group.start_soon(read, cid)
    return runtimes


async def _queue(client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal) -> int:
    cid = args.conversation
    if args.action == "list":
        queue = await client.get_queue(cid)
    elif args.action == "add":
        queue = await client.queue_message(cid, args.message)
    elif args.action == "edit":
        queue = await client.update_queued_message(cid, args.queue_id, args.message)
    elif args.action == "rm":
        queue = await client.delete_queued_message(cid, args.queue_id)
    else:
        queue = await client.clear_queue(cid)
    text, _ = render_queue(queue, conversation_id=cid)
    terminal.line(text)
    return 0


async def _serve_emulator(args: argparse.Namespace, terminal: Terminal) -> int:
    try:
        from max_tools.emulator import DEFAULT_KEY, EmulatorApp, RulesError, load_rules, serve
    except ImportError:
        raise ConfigurationError(
            "max-tools emulator needs the emulator extra: pip install 'max-tools[emulator]'"
        ) from None
    try:
        rules = load_rules(args.rules) if args.rules else []
        app = EmulatorApp(
            rules=rules,
            keys=[args.key] if args.key else None,
            keepalive_s=args.keepalive_s,
            throttle=args.throttle,
            scoped_keys=args.scoped_key,
            queue_drain=args.queue_drain,
            state_file=args.state,
            region=None if args.region == "none" else args.region,
        )
    except RulesError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        async with serve(app, host=args.bind, port=args.port) as running:
            terminal.line(f"PostHog AI emulator serving on {running.url}  (Ctrl-C stops it)")
            if args.oauth_auto_consent:
                running.set_oauth(auto_consent=True)
            consent = "consents by itself" if args.oauth_auto_consent else "shows a consent page"
            terminal.line(f"Sign in with PostHog: issuer {running.url} ({consent})")
            terminal.line("Point a client at it with:")
            for name, value in running.env(args.key or DEFAULT_KEY).items():
                terminal.line(f"  export {name}={value}")
            await anyio.sleep_forever()
    except OSError as exc:
        terminal.error(
            f"max-tools emulator: cannot serve on {args.bind}:{args.port}: {exc.strerror}"
        )
        return 1
    return 0
