"""Hosted settings from a server face's command line, PostHog's environment filling in.

max-mcp and max-a2a take the same hosted flags (``--per-request-keys``, ``--oauth`` ...) under
the same names; turning them into `HostedSettings` lives here once, so both faces check them
alike and say the same thing about a bad value.
"""

from __future__ import annotations

import os
from typing import Protocol

from max_tools.agent import normalize_host
from max_tools.hosting._oauth import OAuthSettings
from max_tools.hosting._settings import HostedSettings

__all__ = ["HostedFlags", "settings_from_flags"]


class HostedFlags(Protocol):
    """The hosted flags' values, named as argparse names them (an `argparse.Namespace` fits)."""

    @property
    def host(self) -> str:
        """The address the face binds (``--host``): off loopback, sign-ins need a public URL."""

    @property
    def per_request_keys(self) -> bool:
        """``--per-request-keys``: requests may send their user's personal API key."""

    @property
    def oauth(self) -> bool:
        """``--oauth``: users sign in with PostHog."""

    @property
    def oauth_issuer(self) -> str | None:
        """``--oauth-issuer``: PostHog's authorization server (None: chosen from the host)."""

    @property
    def public_url(self) -> str | None:
        """``--public-url``: the face's URL as clients reach it."""

    @property
    def oauth_client_ids(self) -> str | None:
        """``--oauth-client-ids``: comma-separated OAuth client ids whose tokens are taken."""

    @property
    def allow_project_header(self) -> bool:
        """``--allow-project-header``: a request may name its project."""


def settings_from_flags(
    flags: HostedFlags,
    *,
    posthog_host: str | None,
    project_id: str | int | None,
    allowed_hosts: str | None = None,
) -> HostedSettings:
    """The hosted rules (per-request keys, sign-ins) from a face's flags and the environment.

    Args:
        flags: the face's parsed command line.
        posthog_host: the PostHog host; None or empty: ``POSTHOG_HOST``, else us Cloud.
        project_id: the deployment's project; None or empty: ``POSTHOG_PROJECT_ID``, else
            ``@current``.
        allowed_hosts: comma-separated hosts a request may pick (``--allowed-hosts``).

    Raises:
        ConfigurationError: a host, URL or project id that is not valid, or no public URL for
            sign-ins off loopback.
    """
    host = normalize_host(posthog_host or os.environ.get("POSTHOG_HOST") or "us")
    oauth = (
        OAuthSettings.create(
            host=host,
            issuer=flags.oauth_issuer,
            public_url=flags.public_url,
            client_ids=flags.oauth_client_ids.split(",") if flags.oauth_client_ids else (),
            bind=flags.host,
        )
        if flags.oauth
        else None
    )
    return HostedSettings.create(
        host=host,
        project_id=project_id or os.environ.get("POSTHOG_PROJECT_ID"),
        allow_project_header=flags.allow_project_header,
        allowed_hosts=allowed_hosts.split(",") if allowed_hosts else (),
        personal_keys=flags.per_request_keys,
        oauth=oauth,
    )
