"""Running max-mcp over HTTP as a deployment: the modes, one process or uvicorn workers.

`mcp_server.cli` parses the command line once (`mcp_server._options`); here it becomes an ASGI
app. With ``--workers N`` uvicorn's supervisor starts N processes that accept on one socket;
each builds its app with `worker_app`, a factory parsing the same command line again from the
environment. The arrows run one way: cli -> _deploy -> _options, never back to cli.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from mcp.server.mcpserver import RequestStateSecurity
from starlette.types import ASGIApp

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import is_loopback
from max_tools.hosting import HostedSettings, settings_from_flags
from max_tools.serving import bind_socket
from mcp_server._graceful import GracefulWorkers, let_streams_finish
from mcp_server._http import endpoint, http_app
from mcp_server._ops import serve_until_stopped
from mcp_server._options import STATE_SECRET_ENV, parse_args, setup_logging
from mcp_server._server import build_server

__all__ = [
    "WORKER_ARGV_ENV",
    "check_modes",
    "hosted_settings",
    "serve",
    "state_security",
    "worker_app",
]

logger = logging.getLogger("mcp_server")

WORKER_ARGV_ENV = "MAX_MCP_WORKER_ARGV"
"""The command line, as JSON, that the parent hands its uvicorn workers."""
KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")
_MIN_SECRET_BYTES = 32  # the SDK derives its AES-256-GCM key from at least 32 bytes of secret


def check_modes(args: argparse.Namespace) -> None:
    """Refuse options that do not go together, before anything starts.

    Raises:
        ConfigurationError: naming the options and what to do.
    """
    if args.per_request_keys or args.oauth:
        mode = "--per-request-keys" if args.per_request_keys else "--oauth"
        if args.transport != "http":
            raise ConfigurationError(f"{mode} needs --transport http.")
        if args.auth_token:
            raise ConfigurationError(
                f"--auth-token (MAX_MCP_AUTH_TOKEN) and {mode} do not mix: with {mode} each "
                "request authenticates with its user's own PostHog credentials. Choose one."
            )
        held = [name for name in KEY_ENV_VARS if os.environ.get(name, "").strip()]
        if args.api_key or held:
            where = "--api-key" if args.api_key else " and ".join(held)
            raise ConfigurationError(
                f"{mode} serves with no PostHog key of its own, but {where} sets "
                f"one. Unset it, or leave out {mode} to serve with that key."
            )
    elif args.allow_project_header or args.allowed_hosts:
        raise ConfigurationError(
            "--allow-project-header and --allowed-hosts only apply with --per-request-keys "
            "or --oauth."
        )
    if not args.oauth and (args.public_url or args.oauth_issuer or args.oauth_client_ids):
        raise ConfigurationError(
            "--public-url, --oauth-issuer and --oauth-client-ids only apply with --oauth."
        )
    if args.oauth:
        hosted_settings(args, emulator_url=None)  # a bad URL is refused before anything starts
    state_security(args)  # a bad secret is refused before anything starts
    if args.workers != 1:
        if args.transport != "http":
            raise ConfigurationError("--workers needs --transport http.")
        if args.emulator:
            raise ConfigurationError(
                "--workers would give each worker its own in-process emulator. Run "
                "`max-tools emulator` and point POSTHOG_HOST at it instead."
            )


def state_security(args: argparse.Namespace) -> RequestStateSecurity | None:
    """The keys that seal approval state (2026-07-28 `requestState`), from --state-secret.

    The first key seals, every key opens: rotate with ``NEW,OLD``, then ``NEW`` once the old
    state has expired (10 minutes). None: the SDK seals with a key of this process only.

    Raises:
        ConfigurationError: a key shorter than 32 bytes, or one given twice (never the key).
    """
    keys = [key.strip() for key in (args.state_secret or "").split(",") if key.strip()]
    if not keys:
        return None
    where = f"--state-secret ({STATE_SECRET_ENV})"
    for number, key in enumerate(keys, start=1):
        if len(key.encode()) < _MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"{where}: key {number} is {len(key.encode())} bytes; each needs at least "
                f"{_MIN_SECRET_BYTES}. Make one with: python -c 'import secrets; "
                "print(secrets.token_hex(32))'"
            )
    if len(set(keys)) != len(keys):
        raise ConfigurationError(f"{where} names the same key twice; list each key once.")
    return RequestStateSecurity(keys=keys)


def _warn_unshared_state(args: argparse.Namespace, processes: str) -> None:
    """Tell a deployment whose replicas could not open each other's approval state."""
    hosted = args.per_request_keys or args.oauth
    if state_security(args) is not None or (is_loopback(args.host) and not hosted):
        return  # shared already, or one person's server on this machine
    logger.warning(
        "No --state-secret (%s): approvals asked over the 2026-07-28 protocol are sealed with a "
        "key of %s only. If this deployment runs several replicas, give them all the same "
        "secret, or an answer that reaches another replica fails with 'Invalid or expired "
        "requestState'.",
        STATE_SECRET_ENV,
        processes,
    )


def hosted_settings(args: argparse.Namespace, *, emulator_url: str | None) -> HostedSettings:
    """The hosted rules (per-request keys, sign-ins) from the command line and the environment.

    Raises:
        ConfigurationError: a host, URL or project id that is not valid.
    """
    return settings_from_flags(
        args,
        posthog_host=emulator_url or args.posthog_host,
        project_id=args.project_id,
        allowed_hosts=args.allowed_hosts,
    )


async def serve(
    args: argparse.Namespace,
    *,
    client: AsyncMaxClient | None,
    hosted: HostedSettings | None,
) -> int:
    """Serve over HTTP in this process until SIGTERM/SIGINT (graceful within --grace-s); 0."""
    app = _app(args, client=client, hosted=hosted)
    _warn_unshared_state(args, "this process")

    def announce(port: int) -> None:
        url = endpoint(args.host, port)
        modes = [
            name
            for name, on in (
                ("per-request keys", hosted is not None and hosted.personal_keys),
                ("sign-in with PostHog", hosted is not None and hosted.oauth is not None),
            )
            if on
        ]
        mode = f" ({', '.join(modes)})" if modes else ""
        print(f"max-mcp: serving MCP over streamable HTTP at {url}{mode}", file=sys.stderr)
        sys.stderr.flush()

    await serve_until_stopped(
        app, host=args.host, port=args.port, grace_s=args.grace_s, announce=announce
    )
    return 0


def run_workers(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Serve with `args.workers` uvicorn worker processes on one socket; returns 0 once stopped."""
    import uvicorn

    os.environ[WORKER_ARGV_ENV] = json.dumps(list(argv))
    _warn_unshared_state(args, f"these {args.workers} workers")
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
        with _one_secret_for_the_workers(args):
            GracefulWorkers(config, sockets=[sock]).run()
    finally:
        sock.close()
    return 0


@contextmanager
def _one_secret_for_the_workers(args: argparse.Namespace) -> Iterator[None]:
    """Without --state-secret, a secret made here for this run's workers, which inherit it.

    Each worker would otherwise seal with its own key, and the answer to an approval that
    reaches another worker of the same socket would be refused.
    """
    if state_security(args) is not None:
        yield
        return
    os.environ[STATE_SECRET_ENV] = secrets.token_hex(32)
    try:
        yield
    finally:
        del os.environ[STATE_SECRET_ENV]


def worker_app() -> ASGIApp:
    """The ASGI app of one uvicorn worker, built from the command line the parent handed on."""
    args = parse_args(json.loads(os.environ[WORKER_ARGV_ENV]))
    setup_logging(args)
    let_streams_finish()
    hosted = (
        hosted_settings(args, emulator_url=None) if args.per_request_keys or args.oauth else None
    )
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
        request_state_security=state_security(args),
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
