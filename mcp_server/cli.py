"""`max-mcp`: the MCP server for PostHog AI, over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

import anyio

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import select_actions

__all__ = ["main"]

logger = logging.getLogger("mcp_server")
_TRUE = {"1", "true", "yes", "on"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="max-mcp",
        description=(
            "MCP server for PostHog AI (Max). Configure PostHog with POSTHOG_PERSONAL_API_KEY, "
            "POSTHOG_HOST and POSTHOG_PROJECT_ID, or the flags below."
        ),
    )
    parser.add_argument(
        "--transport", choices=["stdio", "http"], default="stdio", help="default: stdio"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="HTTP bind address (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="HTTP port; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("MAX_MCP_AUTH_TOKEN"),
        help="bearer token HTTP clients must send (env MAX_MCP_AUTH_TOKEN); required off loopback",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=os.environ.get("MAX_MCP_READ_ONLY", "").lower() in _TRUE,
        help="list only read-only tools (env MAX_MCP_READ_ONLY=1)",
    )
    parser.add_argument(
        "--tools",
        default=os.environ.get("MAX_MCP_TOOLS"),
        metavar="A,B",
        help="keep only these tools (env MAX_MCP_TOOLS)",
    )
    parser.add_argument(
        "--wait-s",
        type=_seconds,
        default=os.environ.get("MAX_MCP_WAIT_S"),
        metavar="S",
        help=(
            "the wait budget of max_chat/max_wait when a call leaves wait_s out, and its cap "
            "(0-55; env MAX_MCP_WAIT_S; default: 45, cap 55). Set it below your host's tool-call "
            "timeout, e.g. 4 for hosts that cut calls after 5 s"
        ),
    )
    parser.add_argument(
        "--approvals",
        choices=("ask", "agent", "deny"),
        default=os.environ.get("MAX_MCP_APPROVALS", "ask"),
        help=(
            "who decides when PostHog AI asks a person (env MAX_MCP_APPROVALS): ask = the user, "
            "through the host's elicitation where it has one, else the agent (default); agent = "
            "the agent; deny = reject every operation that needs approval"
        ),
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against an in-process PostHog AI emulator (no account needed)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="PostHog personal API key (prefer the env var POSTHOG_PERSONAL_API_KEY)",
    )
    parser.add_argument(
        "--posthog-host", default=None, help="PostHog host: us, eu or a URL (env POSTHOG_HOST)"
    )
    parser.add_argument(
        "--project-id", default=None, help="PostHog project id or @current (env POSTHOG_PROJECT_ID)"
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MAX_MCP_LOG_LEVEL", "WARNING"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level (default: %(default)s)",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 55, not {text!r}") from None
    if not 0 <= seconds <= 55:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 55, not {text}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Run max-mcp; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        tools = args.tools.split(",") if args.tools else None
        select_actions(read_only=args.read_only, names=tools)  # fail early on unknown names
        return anyio.run(_run, args, tools)
    except ConfigurationError as exc:
        print(f"max-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, tools: list[str] | None) -> int:
    from mcp_server._server import build_server

    async with AsyncExitStack() as stack:
        if args.emulator:
            try:
                from max_tools.emulator import DEFAULT_KEY, serve
            except ImportError:
                raise ConfigurationError(
                    "--emulator needs the emulator extra: pip install 'max-tools[mcp,emulator]'"
                ) from None
            emulator = await stack.enter_async_context(serve())
            client = AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1)
            logger.warning("Using the in-process PostHog AI emulator at %s", emulator.url)
        else:
            client = AsyncMaxClient(
                api_key=args.api_key, host=args.posthog_host, project_id=args.project_id
            )
        await stack.enter_async_context(client)
        server = build_server(
            client,
            read_only=args.read_only,
            tools=tools,
            wait_s=args.wait_s,
            approvals=args.approvals,
        )
        if args.transport == "stdio":
            await server.run_stdio_async()
            return 0
        from mcp_server._http import serve_http

        async with serve_http(
            server, host=args.host, port=args.port, auth_token=args.auth_token
        ) as url:
            print(
                f"max-mcp: serving MCP over streamable HTTP at {url}", file=sys.stderr, flush=True
            )
            await anyio.sleep_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
