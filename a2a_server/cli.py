"""`max-a2a`: PostHog AI as an A2A agent over HTTP (JSON-RPC and HTTP+JSON bindings).

Credentials as hosted max-mcp takes them (`max_tools.hosting`), with the same flags; their
environment variables take the ``MAX_A2A_`` prefix (``MAX_A2A_OAUTH=1`` ...) so that max-mcp and
max-a2a can run side by side with their own settings. PostHog's own variables (``POSTHOG_HOST``,
``POSTHOG_PROJECT_ID``, ``POSTHOG_PERSONAL_API_KEY``) are shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

import anyio

from a2a_server._app import A2AOptions, create_app
from a2a_server._card import SKILLS
from a2a_server._clients import Auth
from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import is_loopback
from max_tools.hosting import HostedAuth, ServerKeyAuth, settings_from_flags, shared_http_client
from max_tools.serving import serve_asgi

__all__ = ["main", "parse_args"]

logger = logging.getLogger("a2a_server")
REALM = "max-a2a"
_KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line of max-a2a."""
    parser = argparse.ArgumentParser(
        prog="max-a2a",
        description="Serve PostHog AI as an A2A agent (card at /.well-known/agent-card.json).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8300, help="port (default 8300)")
    parser.add_argument(
        "--public-url",
        default=os.environ.get("MAX_A2A_PUBLIC_URL"),
        help="the URL clients reach this server at, for the card and, with --oauth, the "
        "protected resource (env MAX_A2A_PUBLIC_URL); required off loopback with --oauth",
    )
    parser.add_argument("--api-key", help="PostHog personal API key (default: the environment)")
    parser.add_argument("--posthog-host", help="PostHog host (default: the environment)")
    parser.add_argument("--project-id", help="PostHog project id (default: the environment)")
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("MAX_A2A_AUTH_TOKEN"),
        help="with the server's own key: the bearer token clients must send (env "
        "MAX_A2A_AUTH_TOKEN); required off loopback",
    )
    parser.add_argument(
        "--per-request-keys",
        action="store_true",
        default=_env_flag("MAX_A2A_PER_REQUEST_KEYS"),
        help="hold no key: each request brings its own 'Authorization: Bearer phx_...' "
        "(env MAX_A2A_PER_REQUEST_KEYS=1)",
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        default=_env_flag("MAX_A2A_OAUTH"),
        help="users sign in with PostHog (OAuth); each request sends 'Authorization: Bearer "
        "pha_...' (env MAX_A2A_OAUTH=1); with --per-request-keys, personal keys as well",
    )
    parser.add_argument(
        "--oauth-issuer",
        default=os.environ.get("MAX_A2A_OAUTH_ISSUER"),
        help="with --oauth: PostHog's authorization server (env MAX_A2A_OAUTH_ISSUER); default "
        "https://oauth.posthog.com for us/eu Cloud, else the PostHog host",
    )
    parser.add_argument(
        "--oauth-client-ids",
        default=os.environ.get("MAX_A2A_OAUTH_CLIENT_IDS"),
        help="with --oauth: accept only tokens of these OAuth client ids, comma-separated "
        "(env MAX_A2A_OAUTH_CLIENT_IDS)",
    )
    parser.add_argument(
        "--allow-project-header",
        action="store_true",
        default=_env_flag("MAX_A2A_ALLOW_PROJECT_HEADER"),
        help="with --per-request-keys or --oauth: take the project from a request's "
        "x-posthog-project-id (env MAX_A2A_ALLOW_PROJECT_HEADER=1)",
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


def check_modes(args: argparse.Namespace) -> None:
    """Refuse options that do not go together, before anything starts.

    Raises:
        ConfigurationError: naming the options and what to do.
    """
    hosted = args.per_request_keys or args.oauth
    if hosted:
        mode = "--per-request-keys" if args.per_request_keys else "--oauth"
        if args.auth_token:
            raise ConfigurationError(
                f"--auth-token (MAX_A2A_AUTH_TOKEN) and {mode} do not mix: with {mode} each "
                "request authenticates with its user's own PostHog credentials. Choose one."
            )
        held = [name for name in _KEY_ENV_VARS if os.environ.get(name, "").strip()]
        if (args.api_key or held) and not args.emulator:
            where = "--api-key" if args.api_key else " and ".join(held)
            raise ConfigurationError(
                f"{mode} serves with no PostHog key of its own, but {where} sets one. Unset "
                f"it, or leave out {mode} to serve with that key."
            )
    elif args.allow_project_header:
        raise ConfigurationError(
            "--allow-project-header only applies with --per-request-keys or --oauth."
        )
    if not args.oauth and (args.oauth_issuer or args.oauth_client_ids):
        raise ConfigurationError("--oauth-issuer and --oauth-client-ids only apply with --oauth.")


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
        check_modes(args)
        if args.oauth and not args.emulator:
            # a bad host, URL or project id is refused before anything starts
            settings_from_flags(args, posthog_host=args.posthog_host, project_id=args.project_id)
        if not (args.per_request_keys or args.oauth or args.auth_token or is_loopback(args.host)):
            raise ConfigurationError(
                "Serving the server's key beyond loopback lets anyone who reaches it act as you: "
                "set --auth-token (MAX_A2A_AUTH_TOKEN), use --per-request-keys or --oauth, or "
                "bind to 127.0.0.1."
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
        pool = await stack.enter_async_context(shared_http_client())
        auth: Auth
        if args.per_request_keys or args.oauth:
            settings = settings_from_flags(args, posthog_host=host, project_id=project)
            auth = HostedAuth(settings, pool, realm=REALM)
        else:
            client = AsyncMaxClient(api_key=key, host=host, project_id=project, http_client=pool)
            auth = ServerKeyAuth(client, auth_token=args.auth_token, bind=args.host, realm=REALM)
        app = create_app(auth, options)
        async with serve_asgi(app, host=args.host, port=args.port) as port:
            print(f"max-a2a: serving PostHog AI at http://{args.host}:{port}/", file=sys.stderr)
            await anyio.sleep_forever()
    return 0
