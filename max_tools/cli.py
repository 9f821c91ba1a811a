"""The `max-tools` command line. So far: `max-tools emulator`, the offline PostHog AI emulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="max-tools", description="Work with PostHog AI (Max) from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    emulator = commands.add_parser(
        "emulator",
        help="serve the offline PostHog AI emulator on loopback",
        description="Serve an offline emulator of PostHog AI's conversations API.",
    )
    emulator.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    emulator.add_argument(
        "--port", type=int, default=8010, help="port; 0 picks a free one (default: %(default)s)"
    )
    emulator.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="rules file (JSON or TOML) for the scripted agent",
    )
    emulator.add_argument(
        "--keepalive-s",
        type=float,
        default=15.0,
        metavar="S",
        help="seconds of silence before a keep-alive (default: %(default)s)",
    )
    emulator.add_argument(
        "--scoped-key",
        action="store_true",
        help="refuse append/cancel/queue with 403, as PostHog does for scoped keys",
    )
    emulator.add_argument(
        "--throttle",
        action="store_true",
        help="apply PostHog AI's rate limits (10/minute, 100/day)",
    )
    emulator.add_argument(
        "--queue-drain",
        action="store_true",
        help="refuse queueing when no run is active (newest PostHog)",
    )
    emulator.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep conversations in this JSON file across restarts",
    )
    emulator.add_argument(
        "--key", default=None, help="accept only this personal API key (default: any phx_ key)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return anyio.run(_emulator, args)
    except KeyboardInterrupt:
        return 130


async def _emulator(args: argparse.Namespace) -> int:
    try:
        from max_tools.emulator import DEFAULT_KEY, EmulatorApp, RulesError, load_rules, serve
    except ImportError:
        print(
            "max-tools emulator needs the emulator extra: pip install 'max-tools[emulator]'",
            file=sys.stderr,
        )
        return 2
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
    except (RulesError, ValueError) as exc:
        print(f"max-tools emulator: {exc}", file=sys.stderr)
        return 2
    try:
        async with serve(app, host=args.host, port=args.port) as running:
            print(f"PostHog AI emulator serving on {running.url}  (Ctrl-C stops it)")
            print("Point a client at it with:")
            for name, value in running.env(args.key or DEFAULT_KEY).items():
                print(f"  export {name}={value}")
            sys.stdout.flush()
            await anyio.sleep_forever()
    except OSError as exc:
        print(
            f"max-tools emulator: cannot serve on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
