"""The command line of max-mcp: its options, with defaults from the environment, and logging.

Apart from `mcp_server.cli` so that what runs the server (`mcp_server._deploy`, whose uvicorn
workers read the same command line again) can parse it without importing the entry point.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from mcp_server._ops import ACCESS_LOGGER

__all__ = ["STATE_SECRET_ENV", "parse_args", "setup_logging"]

STATE_SECRET_ENV = "MAX_MCP_STATE_SECRET"  # noqa: S105 - the name of the variable, not a secret
_TRUE = {"1", "true", "yes", "on"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="max-mcp",
        description=(
            "MCP server for PostHog AI (Max). Configure PostHog with POSTHOG_PERSONAL_API_KEY, "
            "POSTHOG_HOST and POSTHOG_PROJECT_ID, or the flags below; without a key, the "
            "sign-in of max-tools login is used. --emulator needs neither."
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
        type=_port,
        default=8000,
        help="HTTP port; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("MAX_MCP_AUTH_TOKEN"),
        help="bearer token HTTP clients must send (env MAX_MCP_AUTH_TOKEN); required off loopback",
    )
    parser.add_argument(
        "--per-request-keys",
        action="store_true",
        default=_env_flag("MAX_MCP_PER_REQUEST_KEYS"),
        help=(
            "HTTP only: hold no PostHog key; each request sends its user's personal API key as "
            "Authorization: Bearer phx_... (env MAX_MCP_PER_REQUEST_KEYS=1)"
        ),
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        default=_env_flag("MAX_MCP_OAUTH"),
        help=(
            "HTTP only: users sign in with PostHog (OAuth) from their MCP host; each request "
            "sends its user's token, Authorization: Bearer pha_... (env MAX_MCP_OAUTH=1). "
            "Combine with --per-request-keys to take personal API keys as well"
        ),
    )
    parser.add_argument(
        "--public-url",
        default=os.environ.get("MAX_MCP_PUBLIC_URL"),
        metavar="URL",
        help=(
            "with --oauth: the MCP endpoint's URL as hosts reach it, e.g. "
            "https://max-mcp.example.com/mcp (env MAX_MCP_PUBLIC_URL); required off loopback"
        ),
    )
    parser.add_argument(
        "--oauth-issuer",
        default=os.environ.get("MAX_MCP_OAUTH_ISSUER"),
        metavar="URL",
        help=(
            "with --oauth: PostHog's authorization server (env MAX_MCP_OAUTH_ISSUER); default "
            "https://oauth.posthog.com for us/eu Cloud (both regions), else the PostHog host"
        ),
    )
    parser.add_argument(
        "--oauth-client-ids",
        default=os.environ.get("MAX_MCP_OAUTH_CLIENT_IDS"),
        metavar="A,B",
        help=(
            "with --oauth: accept only tokens issued to these OAuth client ids (env "
            "MAX_MCP_OAUTH_CLIENT_IDS); default: any client's"
        ),
    )
    parser.add_argument(
        "--allow-project-header",
        action="store_true",
        default=_env_flag("MAX_MCP_ALLOW_PROJECT_HEADER"),
        help=(
            "with --per-request-keys or --oauth: take the project from a request's "
            "x-posthog-project-id "
            "(env MAX_MCP_ALLOW_PROJECT_HEADER=1); otherwise the deployment's project is used"
        ),
    )
    parser.add_argument(
        "--allowed-hosts",
        default=os.environ.get("MAX_MCP_ALLOWED_HOSTS"),
        metavar="A,B",
        help=(
            "with --per-request-keys: PostHog hosts a request may pick with x-posthog-host, "
            "besides the deployment's own (env MAX_MCP_ALLOWED_HOSTS), e.g. us,eu"
        ),
    )
    parser.add_argument(
        "--workers",
        type=_positive(int),
        default=os.environ.get("MAX_MCP_WORKERS", "1"),
        metavar="N",
        help="HTTP worker processes, handed to uvicorn (env MAX_MCP_WORKERS; default: 1)",
    )
    parser.add_argument(
        "--state-secret",
        default=os.environ.get(STATE_SECRET_ENV),
        metavar="NEW[,OLD]",
        help=(
            f"HTTP: the secret every process of a deployment seals approval state with (env "
            f"{STATE_SECRET_ENV}; prefer the env var); at least 32 characters each, "
            "comma-separated to rotate: the first seals, all open. Replicas need the same one"
        ),
    )
    parser.add_argument(
        "--grace-s",
        type=_positive(float),
        default=os.environ.get("MAX_MCP_GRACE_S", "30"),
        metavar="S",
        help=(
            "on SIGTERM, how long tool calls in flight may take to finish (env MAX_MCP_GRACE_S; "
            "default: 30); keep --wait-s below it"
        ),
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive(int),
        default=os.environ.get("MAX_MCP_MAX_BODY_BYTES", str(1024 * 1024)),
        metavar="N",
        help="larger HTTP request bodies get 413 (env MAX_MCP_MAX_BODY_BYTES; default: 1 MiB)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=_env_flag("MAX_MCP_READ_ONLY"),
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


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _positive(kind: type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}") from None
        if not 0 < value < math.inf:  # nan and inf are no number of seconds or bytes
            raise argparse.ArgumentTypeError(f"expected a positive number, not {text}")
        return value

    return parse


_N = TypeVar("_N", int, float)


def _ranged(kind: Callable[[str], _N], low: _N, high: _N, what: str) -> Callable[[str], _N]:
    """An argparse type: a `kind` number from `low` to `high` (what it is: `what`)."""

    def parse(text: str) -> _N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
        if not low <= value <= high:  # nan is in no range
            raise argparse.ArgumentTypeError(f"expected {what}, not {text}")
        return value

    return parse


_port = _ranged(int, 0, 65535, "a port from 0 to 65535")
_seconds = _ranged(float, 0.0, 55.0, "seconds from 0 to 55")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of max-mcp, with defaults from the environment."""
    return _parser().parse_args(argv)


def setup_logging(args: argparse.Namespace) -> None:
    """Log to stderr at --log-level; over HTTP, one access-log line per request besides."""
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.transport == "http":
        logging.getLogger(ACCESS_LOGGER).setLevel(min(logging.INFO, logging.root.level))
