"""Sign in with PostHog (`login`), and sign out (`logout`): the flow a person runs once.

`login` is the authorization code flow with PKCE S256 (posthog-oauth.md section 8): read the
host's authorization server metadata, register max-tools there once (the client id is kept per
issuer), listen on a free loopback port, open the browser at the authorize URL, check the
state that comes back, trade the code for tokens, and store them (`SignInStore`). `logout`
revokes the refresh token, which ends the whole sign-in at PostHog, and forgets it.
"""

from __future__ import annotations

import os
import secrets
import webbrowser
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import anyio.to_thread
import httpx

from max_tools import _oauth
from max_tools._config import DEFAULT_HOST, HOST_ENV_VAR, normalize_host
from max_tools._errors import SignInError
from max_tools._loopback import Callback, loopback_listener
from max_tools._signin import SignIn, SignInStore
from max_tools._signin_key import expires_at

__all__ = ["LOGIN_WAIT_S", "LogoutResult", "login", "logout", "stored_sign_in"]

LOGIN_WAIT_S = 300.0
"""How long `login` waits for the browser: as long as PostHog's authorization code lives."""

ShowLink = Callable[[str, bool], None]
"""Told the authorize URL before the wait, and whether a browser was asked to open it."""


async def login(
    *,
    host: str | None = None,
    project_id: str | None = None,
    open_browser: bool = True,
    show_link: ShowLink | None = None,
    wait_s: float = LOGIN_WAIT_S,
    store: SignInStore | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> SignIn:
    """Sign in with PostHog in the browser and store the sign-in; returns it as stored.

    Args:
        host: the PostHog host (``us``, ``eu``, a URL); default ``POSTHOG_HOST`` or US Cloud.
        project_id: a project to preselect on the consent page.
        open_browser: open the browser (``webbrowser``, which honours ``BROWSER``); False
            only shows the link.
        show_link: told the link to open, before the wait (and whether a browser opened it).
        wait_s: how long to wait for the browser to come back.
        store: where to keep it (default: the system keyring when there is one, with the rest
            in the platform's config folder; ``SignInStore(keyring=False)``: the file alone).
        http_client: the client for PostHog's OAuth endpoints (tests inject one).

    Raises:
        SignInError: PostHog refused, the person declined, the state did not match, or the
            browser did not come back in time.
        ConfigurationError: the host is not a PostHog host.
    """
    base = normalize_host(host or os.environ.get(HOST_ENV_VAR) or DEFAULT_HOST)
    store = store or SignInStore()
    async with _http(http_client) as http:
        metadata = await _oauth.discover(http, base)
        client_id = store.client_id(metadata.issuer)
        if client_id is None or not await _oauth.client_known(http, metadata, client_id):
            client_id = await _oauth.register_client(http, metadata)
            store.remember_client(metadata.issuer, client_id)
        verifier, challenge = _oauth.pkce_pair()
        state = secrets.token_urlsafe(32)
        async with loopback_listener(state) as listener:
            url = _oauth.authorize_url(
                metadata,
                client_id=client_id,
                redirect_uri=listener.redirect_uri,
                state=state,
                code_challenge=challenge,
                project_id=project_id,
            )
            # The listener runs tasks: raising inside it would come out as an exception group.
            callback = await _browse(url, listener.callback, open_browser, show_link, wait_s)
        if callback is None:
            raise SignInError(
                f"The browser did not come back within {wait_s:g} s, so nothing was stored. Run "
                "max-tools login again (with --no-browser to copy the link yourself)."
            )
        code = _code_of(callback, state)
        answer = await _oauth.exchange_code(
            http,
            metadata.token_endpoint,
            client_id=client_id,
            code=code,
            redirect_uri=listener.redirect_uri,
            code_verifier=verifier,
        )
        email = None
        scopes = answer.scope.split()
        if metadata.userinfo_endpoint is not None and "openid" in scopes:
            claims = await _oauth.userinfo(
                http, metadata.userinfo_endpoint, access_token=answer.access_token
            )
            email = claims.get("email") if isinstance(claims.get("email"), str) else None
    api_host = normalize_host(answer.posthog_base_url or metadata.posthog_base_url or base)
    sign_in = SignIn(
        host=base,
        issuer=metadata.issuer,
        client_id=client_id,
        token_endpoint=metadata.token_endpoint,
        revocation_endpoint=metadata.revocation_endpoint,
        access_token=answer.access_token,  # type: ignore[arg-type]  # pydantic wraps it
        refresh_token=answer.refresh_token,  # type: ignore[arg-type]  # pydantic wraps it
        expires_at=expires_at(answer),
        scopes=scopes,
        scoped_teams=answer.scoped_teams,
        scoped_organizations=answer.scoped_organizations,
        posthog_base_url=api_host,
        email=email,
        signed_in_at=datetime.now(UTC),
    )
    return store.save(sign_in)


@dataclass(frozen=True, slots=True)
class LogoutResult:
    """What `logout` did: the sign-in it forgot, and whether PostHog revoked it.

    Attributes:
        sign_in: the sign-in that was forgotten.
        revoked: PostHog confirmed the revocation.
        problem: why it could not be revoked, when it was not (it was forgotten anyway).
    """

    sign_in: SignIn
    revoked: bool
    problem: str | None = None


async def logout(
    *,
    host: str | None = None,
    store: SignInStore | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> LogoutResult:
    """Revoke the stored sign-in at PostHog and forget it (forgotten even if revoking fails).

    Args:
        host: whose sign-in (default: ``POSTHOG_HOST``, else the only or latest one).
        store: where it is kept (default: the platform's config folder).
        http_client: the client for PostHog's revocation endpoint (tests inject one).

    Raises:
        SignInError: there is no stored sign-in (for that host).
    """
    store = store or SignInStore()
    sign_in = stored_sign_in(host=host, store=store)
    if sign_in is None:
        where = f" for {normalize_host(host)}" if host else ""
        raise SignInError(f"There is no stored PostHog sign-in{where}; nothing to sign out of.")
    problem = None
    token, hint = (
        (sign_in.refresh_token, "refresh_token")
        if sign_in.refresh_token is not None
        else (sign_in.access_token, "access_token")
    )
    if sign_in.revocation_endpoint is None:
        problem = "PostHog offers no revocation endpoint"
    else:
        try:
            async with _http(http_client) as http:
                await _oauth.revoke(
                    http,
                    sign_in.revocation_endpoint,
                    client_id=sign_in.client_id,
                    token=token.get_secret_value(),
                    hint=hint,
                )
        except SignInError as exc:
            problem = str(exc)
    store.forget(sign_in.host)
    return LogoutResult(sign_in=sign_in, revoked=problem is None, problem=problem)


def stored_sign_in(*, host: str | None = None, store: SignInStore | None = None) -> SignIn | None:
    """The stored sign-in for `host` (default ``POSTHOG_HOST``), else the only or latest one."""
    store = store or SignInStore()
    wanted = host or os.environ.get(HOST_ENV_VAR) or None
    return store.find(normalize_host(wanted) if wanted else None)


def _http(given: httpx.AsyncClient | None) -> httpx.AsyncClient | _Borrowed:
    if given is not None:
        return _Borrowed(given)
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False)


class _Borrowed:
    """An injected client, used without closing it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self._client

    async def __aexit__(self, *exc_info: object) -> None:
        return None


async def _browse(
    url: str,
    arrived: Callable[[], Awaitable[Callback]],
    open_browser: bool,
    show_link: ShowLink | None,
    wait_s: float,
) -> Callback | None:
    """Open (or show) the link and wait, bounded, for the browser to come back (None: not)."""
    async with anyio.create_task_group() as tasks:
        if open_browser:
            # A BROWSER command runs until it exits, so it gets a thread of its own.
            tasks.start_soon(_open_in_browser, url)
        if show_link is not None:
            show_link(url, open_browser)
        with anyio.move_on_after(wait_s) as waiting:
            callback = await arrived()
        tasks.cancel_scope.cancel()
    return None if waiting.cancelled_caught else callback


async def _open_in_browser(url: str) -> None:
    # No browser (a server, a container): the link was shown already, and the wait goes on.
    with suppress(webbrowser.Error, OSError):
        await anyio.to_thread.run_sync(webbrowser.open, url, abandon_on_cancel=True)


def _code_of(callback: Callback, state: str) -> str:
    """The code from the browser's return, once its state is the one sent."""
    params = callback.params
    if callback.state is None or not secrets.compare_digest(callback.state, state):
        raise SignInError(
            "The browser came back with a sign-in this max-tools did not start (the state does "
            "not match), so it was refused and nothing was stored. Run max-tools login again."
        )
    error = params.get("error")
    if error == "access_denied":
        raise SignInError("You declined the sign-in in the browser, so nothing was stored.")
    if error is not None:
        described = params.get("error_description")
        said = f"{error} ({described})" if described else error
        raise SignInError(f"PostHog refused the sign-in: {said}. Run max-tools login again.")
    code = params.get("code")
    if not code:
        raise SignInError("The browser came back without a code. Run max-tools login again.")
    return code
