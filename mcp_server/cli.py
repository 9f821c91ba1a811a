"""`max-mcp`: the MCP server for PostHog AI, over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

import anyio

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import select_actions
from mcp_server._deploy import check_modes, hosted_settings, run_workers
from mcp_server._deploy import serve as serve_http
from mcp_server._options import parse_args, setup_logging

__all__ = ["main", "parse_args", "setup_logging"]

logger = logging.getLogger("mcp_server")


def main(argv: Sequence[str] | None = None) -> int:
    """Run max-mcp; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    setup_logging(args)
    try:
        tools = args.tools.split(",") if args.tools else None
        select_actions(read_only=args.read_only, names=tools)  # fail early on unknown names
        check_modes(args)
        if args.workers > 1:
            return run_workers(args, argv)
        return anyio.run(_run, args, tools)
    except ConfigurationError as exc:
        print(f"max-mcp: {exc.advice_for('cli')}", file=sys.stderr)
        return 2
    except OSError as exc:  # the address: taken, or not this machine's
        print(
            f"max-mcp: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, tools: list[str] | None) -> int:
    from mcp_server._server import build_server

    async with AsyncExitStack() as stack:
        emulator_url = None
        if args.emulator:
            try:
                from max_tools.emulator import DEFAULT_KEY, serve
            except ImportError:
                raise ConfigurationError(
                    "--emulator needs the emulator extra: pip install 'max-tools[mcp,emulator]'"
                ) from None
            emulator = await stack.enter_async_context(serve())
            emulator_url = emulator.url
            logger.warning("Using the in-process PostHog AI emulator at %s", emulator.url)
        if args.per_request_keys or args.oauth:
            hosted = hosted_settings(args, emulator_url=emulator_url)
            return await serve_http(args, client=None, hosted=hosted)
        if emulator_url is not None:
            client = AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator_url, project_id=1)
        else:
            client = AsyncMaxClient(
                api_key=args.api_key, host=args.posthog_host, project_id=args.project_id
            )
        await stack.enter_async_context(client)
        if args.transport == "http":
            return await serve_http(args, client=client, hosted=None)
        server = build_server(
            client,
            read_only=args.read_only,
            tools=tools,
            wait_s=args.wait_s,
            approvals=args.approvals,
        )
        await server.run_stdio_async()
    return 0


if __name__ == "__main__":
    sys.exit(main())
