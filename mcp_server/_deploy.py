"""Running max-mcp over HTTP as a deployment: the modes, one process or uvicorn workers.

`mcp_server.cli` parses the command line once (`mcp_server._options`); here it becomes an ASGI
app. With ``--workers N`` uvicorn's supervisor starts N processes that accept on one socket;
each builds its app with `worker_app`, a factory parsing the same command line again from the
environment. The arrows run one way: cli -> _deploy -> _options, never back to cli.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence

from starlette.types import ASGIApp

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.serving import bind_socket
from mcp_server._hosted import HostedSettings
from mcp_server._http import endpoint, http_app
from mcp_server._ops import let_streams_finish, serve_until_stopped
from mcp_server._options import parse_args, setup_logging
from mcp_server._server import build_server

__all__ = ["WORKER_ARGV_ENV", "check_modes", "hosted_settings", "serve", "worker_app"]

WORKER_ARGV_ENV = "MAX_MCP_WORKER_ARGV"
"""The command line, as JSON, that the parent hands its uvicorn workers."""
KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")


def check_modes(args: argparse.Namespace) -> None:
    """Refuse options that do not go together, before anything starts.

    Raises:
        ConfigurationError: naming the options and what to do.
    """
    if args.per_request_keys:
        if args.transport != "http":
            raise ConfigurationError("--per-request-keys needs --transport http.")
        if args.auth_token:
            raise ConfigurationError(
                "--auth-token (MAX_MCP_AUTH_TOKEN) and --per-request-keys do not mix: with "
                "per-request keys each request authenticates with its user's PostHog key. "
                "Choose one."
            )
        held = [name for name in KEY_ENV_VARS if os.environ.get(name, "").strip()]
        if args.api_key or held:
            where = "--api-key" if args.api_key else " and ".join(held)
            raise ConfigurationError(
                f"--per-request-keys serves with no PostHog key of its own, but {where} sets "
                "one. Unset it, or leave out --per-request-keys to serve with that key."
            )
    elif args.allow_project_header or args.allowed_hosts:
        raise ConfigurationError(
            "--allow-project-header and --allowed-hosts only apply with --per-request-keys."
        )
    if args.workers != 1:
        if args.transport != "http":
            raise ConfigurationError("--workers needs --transport http.")
        if args.emulator:
            raise ConfigurationError(
                "--workers would give each worker its own in-process emulator. Run "
                "`max-tools emulator` and point POSTHOG_HOST at it instead."
            )


def hosted_settings(args: argparse.Namespace, *, emulator_url: str | None) -> HostedSettings:
    """The per-request-key rules from the command line and the environment."""
    return HostedSettings.create(
        host=emulator_url or args.posthog_host or os.environ.get("POSTHOG_HOST"),
        project_id=args.project_id or os.environ.get("POSTHOG_PROJECT_ID"),
        allow_project_header=args.allow_project_header,
        allowed_hosts=args.allowed_hosts.split(",") if args.allowed_hosts else (),
    )


async def serve(
    args: argparse.Namespace,
    *,
    client: AsyncMaxClient | None,
    hosted: HostedSettings | None,
) -> int:
    """Serve over HTTP in this process until SIGTERM/SIGINT (graceful within --grace-s); 0."""
    app = _app(args, client=client, hosted=hosted)

    def announce(port: int) -> None:
        url = endpoint(args.host, port)
        mode = " (per-request keys)" if hosted is not None else ""
        print(f"max-mcp: serving MCP over streamable HTTP at {url}{mode}", file=sys.stderr)
        sys.stderr.flush()

    await serve_until_stopped(
        app, host=args.host, port=args.port, grace_s=args.grace_s, announce=announce
    )
    return 0


def run_workers(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Serve with `args.workers` uvicorn worker processes on one socket; returns 0 once stopped."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[WORKER_ARGV_ENV] = json.dumps(list(argv))
    sock = bind_socket(args.host, args.port)
    config = uvicorn.Config(
        "mcp_server._deploy:worker_app",
        factory=True,
        workers=args.workers,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=math.ceil(args.grace_s),  # whole seconds, never less
    )
    print(
        f"max-mcp: serving MCP over streamable HTTP at {endpoint(args.host, sock.getsockname()[1])}"
        f" with {args.workers} workers",
        file=sys.stderr,
        flush=True,
    )
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
    return 0


def worker_app() -> ASGIApp:
    """The ASGI app of one uvicorn worker, built from the command line the parent handed on."""
    args = parse_args(json.loads(os.environ[WORKER_ARGV_ENV]))
    setup_logging(args)
    let_streams_finish()
    hosted = hosted_settings(args, emulator_url=None) if args.per_request_keys else None
    client = (
        None
        if hosted is not None
        else AsyncMaxClient(
            api_key=args.api_key, host=args.posthog_host, project_id=args.project_id
        )
    )
    return _app(args, client=client, hosted=hosted)


def _app(
    args: argparse.Namespace, *, client: AsyncMaxClient | None, hosted: HostedSettings | None
) -> ASGIApp:
    server = build_server(
        client,
        read_only=args.read_only,
        tools=args.tools.split(",") if args.tools else None,
        wait_s=args.wait_s,
        approvals=args.approvals,
    )
    return http_app(
        server,
        host=args.host,
        auth_token=args.auth_token,
        hosted=hosted,
        upstream=client.settings.host if client is not None else None,
        max_body_bytes=args.max_body_bytes,
        on_shutdown=[client.aclose] if client is not None else [],
    )
