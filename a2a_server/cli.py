"""`max-a2a`: PostHog AI as an A2A agent over HTTP (JSON-RPC and HTTP+JSON bindings)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

import anyio
import httpx

from a2a_server._app import A2AOptions, create_app
from a2a_server._card import SKILLS
from a2a_server._clients import Clients
from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import is_loopback
from max_tools.serving import serve_asgi

__all__ = ["main", "parse_args"]

logger = logging.getLogger("a2a_server")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line of max-a2a."""
    parser = argparse.ArgumentParser(
        prog="max-a2a",
        description="Serve PostHog AI as an A2A agent (card at /.well-known/agent-card.json).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8300, help="port (default 8300)")
    parser.add_argument("--public-url", help="the URL clients reach this server at (for the card)")
    parser.add_argument("--api-key", help="PostHog personal API key (default: the environment)")
    parser.add_argument("--posthog-host", help="PostHog host (default: the environment)")
    parser.add_argument("--project-id", help="PostHog project id (default: the environment)")
    parser.add_argument(
        "--per-request-keys",
        action="store_true",
        help="hold no key: each request brings its own 'Authorization: Bearer phx_...'",
    )
    parser.add_argument("--read-only", action="store_true", help="read tasks only; send nothing")
    parser.add_argument(
        "--skills", help=f"comma-separated skills to offer (default all: {','.join(SKILLS)})"
    )
    parser.add_argument(
        "--emulator", action="store_true", help="answer from the in-process PostHog AI emulator"
    )
    parser.add_argument("--debug", action="store_true", help="log debug output to stderr")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run max-a2a; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.debug else logging.WARNING)
    try:
        skills = frozenset(args.skills.split(",")) if args.skills else frozenset(SKILLS)
        unknown = skills - set(SKILLS)
        if unknown:
            raise ConfigurationError(
                f"Unknown skills {', '.join(sorted(unknown))}; known: {', '.join(SKILLS)}."
            )
        if not is_loopback(args.host) and not args.per_request_keys:
            raise ConfigurationError(
                "Serving a server key beyond loopback lets anyone who reaches it act as you; "
                "use --per-request-keys, or bind to 127.0.0.1."
            )
        options = A2AOptions(public_url=args.public_url, skills=skills, read_only=args.read_only)
        return anyio.run(_run, args, options)
    except ConfigurationError as exc:
        print(f"max-a2a: {exc.advice_for('cli')}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"max-a2a: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, options: A2AOptions) -> int:
    async with AsyncExitStack() as stack:
        host, project, key = args.posthog_host, args.project_id, args.api_key
        if args.emulator:
            try:
                from max_tools.emulator import DEFAULT_KEY, serve
            except ImportError:
                raise ConfigurationError(
                    "--emulator needs the emulator extra: pip install 'max-tools[a2a,emulator]'"
                ) from None
            emulator = await stack.enter_async_context(serve())
            host, project, key = emulator.url, 1, DEFAULT_KEY
            logger.warning("Using the in-process PostHog AI emulator at %s", emulator.url)
        pool = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10))
        )
        if args.per_request_keys:
            clients = Clients(server_client=None, host=host, project_id=project, http_client=pool)
        else:
            client = AsyncMaxClient(api_key=key, host=host, project_id=project, http_client=pool)
            clients = Clients(server_client=client)
        app = create_app(clients, options)
        async with serve_asgi(app, host=args.host, port=args.port) as port:
            print(f"max-a2a: serving PostHog AI at http://{args.host}:{port}/", file=sys.stderr)
            await anyio.sleep_forever()
    return 0
