"""The commands of `max-tools`, each a coroutine on an `AsyncMaxClient`."""

from __future__ import annotations

import argparse
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from max_tools import AsyncMaxClient, ConfigurationError, ConversationBusyError, Reply, ReplyStatus
from max_tools.agent import render_conversation, render_queue
from max_tools.cli._terminal import ReplyPrinter, Terminal

__all__ = ["detached", "run"]


async def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Run the parsed command."""
    if args.command == "emulator":
        return await _serve_emulator(args, terminal)
    if args.command == "demo":
        from max_tools.cli._demo import demo

        return await demo(terminal)
    async with _client(args) as client:
        if args.command == "chat":
            return await _chat(client, args, terminal)
        if args.command == "wait":
            return await _follow(client, args, terminal, None, args.conversation)
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
    except ConversationBusyError:
        terminal.error(
            f"max-tools: conversation {cid} is still answering an earlier message. Queue this "
            f'one with: max-tools queue add {cid} "..."   or follow the reply with: '
            f"max-tools wait {cid}"
        )
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
    wait_s = math.inf if args.wait_s is None else args.wait_s
    if args.json:
        async with client.stream(
            message, conversation_id=conversation_id, agent_mode=mode
        ) as replies:
            # The budget bounds only the reading: the message was sent when the stream opened.
            with anyio.move_on_after(wait_s) as budget:
                async for _ in replies:
                    pass
            reply = replies.reply(running=budget.cancelled_caught)
        terminal.line(reply.model_dump_json(exclude_none=True))
        return _status_code(reply)
    with ReplyPrinter(terminal) as printer:
        async with client.stream(
            message, conversation_id=conversation_id, agent_mode=mode
        ) as replies:
            with anyio.move_on_after(wait_s) as budget:
                async for event in replies:
                    printer.show(event)
            reply = replies.reply(running=budget.cancelled_caught)
        printer.finish(reply)
    terminal.line(f"conversation: {reply.conversation_id}")
    return _status_code(reply)


def _status_code(reply: Reply) -> int:
    return 0 if reply.status in (ReplyStatus.COMPLETED, ReplyStatus.IN_PROGRESS) else 1


async def _conversations(
    client: AsyncMaxClient, args: argparse.Namespace, terminal: Terminal
) -> int:
    if args.action == "list":
        page = await client.list_conversations(limit=args.limit)
        if args.json:
            terminal.line(page.model_dump_json())
            return 0
        for item in page.results:
            updated = item.updated_at.strftime("%Y-%m-%d %H:%M") if item.updated_at else "-"
            terminal.line(f"{item.id}  {item.status:<11}  {updated}  {item.title or '(untitled)'}")
        if page.count > len(page.results):
            terminal.error(f"({len(page.results)} of {page.count}; more with --limit)")
        return 0
    conversation = await client.get_conversation(args.conversation)
    if args.json:
        terminal.line(conversation.model_dump_json())
        return 0
    text, _ = render_conversation(conversation, last_messages=args.last)
    terminal.line(text)
    return 0


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
        )
    except RulesError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        async with serve(app, host=args.bind, port=args.port) as running:
            terminal.line(f"PostHog AI emulator serving on {running.url}  (Ctrl-C stops it)")
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
