"""`max-tools login`, `logout` and `whoami`: sign in with PostHog, sign out, say who is in use.

Nothing here prints a token: only the host, project, scopes, expiry, email, and where the
sign-in is kept (the system keyring's name, the file's path).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from max_tools import SignIn, SignInStore, agent, login, logout
from max_tools.cli._terminal import Terminal

__all__ = ["run_login", "run_logout", "run_whoami"]

KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")


def _host(args: argparse.Namespace) -> str | None:
    """``max-tools login --host H`` or ``max-tools --host H login``."""
    given: str | None = getattr(args, "command_host", None) or args.host
    return given


def _project(args: argparse.Namespace) -> str | None:
    given: str | None = getattr(args, "command_project_id", None) or args.project_id
    return given


async def run_login(args: argparse.Namespace, terminal: Terminal) -> int:
    """Sign in in the browser (or with the link printed), store it, say what was granted."""
    store = SignInStore(keyring=False if args.no_keyring else None)

    def show_link(url: str, opened: bool) -> None:
        if opened:
            terminal.error(
                "Opening your browser to sign in to PostHog. If it does not open, go to:"
            )
        else:
            terminal.error("Open this link in a browser to sign in to PostHog:")
        terminal.error(url)
        if not opened:
            # The browser comes back to a listener on this computer's loopback: a browser on
            # another machine (the usual reason for --no-browser) reaches it only through a
            # forwarded port, and would otherwise fail after the consent with no word why.
            port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
            terminal.error(
                f"It returns to http://127.0.0.1:{port} on this computer. From a browser on "
                f"another machine, forward that port first: ssh -L {port}:127.0.0.1:{port} "
                "<this computer>"
            )
        terminal.error("Waiting for the browser to come back (Ctrl-C to stop)...")

    sign_in = await login(
        host=_host(args),
        project_id=_project(args),
        open_browser=not args.no_browser,
        show_link=show_link,
        wait_s=args.wait_s,
        store=store,
    )
    terminal.line(f"Signed in to PostHog at {sign_in.host}.")
    _describe(sign_in, terminal)
    terminal.line(f"stored in: {store.where(sign_in)}")
    if sign_in.kept_in == "file" and store.use_keyring and store.keyring_name is None:
        # Whoever installed the keyring extra expects the keyring: say why it is the file.
        terminal.line(
            "(no usable system keyring here: that needs max-tools[keyring] and a Keychain, "
            "Credential Manager, Secret Service or KWallet)"
        )
    terminal.line(
        "max-tools, max-mcp and the Python client now use this sign-in when no API key is set."
    )
    if key_env := _env_key_name():
        # An explicit key wins over a sign-in: without this line the user would believe the
        # sign-in is now in use while every command still sends the key.
        terminal.error(
            f"max-tools: {key_env} is set, and a key wins over the sign-in: unset it to use "
            "this sign-in."
        )
    return 0


async def run_logout(args: argparse.Namespace, terminal: Terminal) -> int:
    """Revoke the stored sign-in and forget it; say so even when revoking failed."""
    result = await logout(host=_host(args))
    host = result.sign_in.host
    if result.revoked:
        terminal.line(f"Signed out of PostHog at {host}: the sign-in was revoked and forgotten.")
        return 0
    terminal.line(f"Signed out of PostHog at {host}: the sign-in was forgotten on this computer.")
    terminal.error(
        f"max-tools: PostHog did not confirm the revocation ({result.problem}); the sign-in "
        "may stay valid at PostHog until it expires. Revoke it under Settings > Connected apps."
    )
    return 1


async def run_whoami(args: argparse.Namespace, terminal: Terminal) -> int:
    """Which credential the other commands would use, and for which host and project."""
    settings = agent.resolve_settings(
        api_key=args.api_key, host=_host(args), project_id=_project(args)
    )
    sign_in = settings.sign_in
    if sign_in is None:
        source = "--api-key" if args.api_key else (_env_key_name() or "the env")
        terminal.line(f"credential: personal API key from {source}")
        terminal.line(f"API host: {settings.host}")
        terminal.line(f"project: {settings.project_id}")
        unused = SignInStore().find(settings.host)
        if unused is not None:
            terminal.line(
                f"not used: the PostHog sign-in stored for {unused.host} (the key from {source} "
                "wins; without it, the sign-in is used)"
            )
        return 0
    terminal.line(f"credential: PostHog sign-in (max-tools login) at {sign_in.host}")
    _describe(sign_in, terminal, project=settings.project_id)
    terminal.line(f"stored in: {SignInStore().where(sign_in)}")
    return 0


def _describe(sign_in: SignIn, terminal: Terminal, *, project: str | None = None) -> None:
    if sign_in.email:
        terminal.line(f"user: {sign_in.email}")
    terminal.line(f"API host: {sign_in.posthog_base_url}")
    chosen = project or sign_in.project_id
    if chosen is None:
        chosen = "@current (the sign-in is not limited to one project)"
    terminal.line(f"project: {chosen}")
    terminal.line(f"scopes: {' '.join(sign_in.scopes) or '(none)'}")
    ends = sign_in.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    state = "ended; refreshed on next use" if sign_in.expiring(datetime.now(UTC)) else "refreshed"
    if state == "refreshed":
        state = "refreshed automatically before then"
    terminal.line(f"access token until: {ends} ({state})")


def _env_key_name() -> str | None:
    return next((name for name in KEY_ENV_VARS if os.environ.get(name, "").strip()), None)
