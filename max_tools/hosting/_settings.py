"""How a hosted deployment takes its users' credentials: checked data, no command line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from max_tools import ConfigurationError
from max_tools.agent import normalize_host
from max_tools.hosting._oauth import OAuthSettings

__all__ = ["HostedSettings"]


@dataclass(frozen=True, slots=True)
class HostedSettings:
    """How a hosted deployment authenticates users and picks each request's host and project.

    Args:
        host: the PostHog host every request uses unless it names an allowed one.
        project_id: the project every request uses (``@current``: each key's current one).
        allow_project_header: take `x-posthog-project-id` from a request when it sends one.
        allowed_hosts: hosts a request may choose with `x-posthog-host` (normalized).
        personal_keys: requests may send their user's personal API key (``phx_...``).
        oauth: requests may send a PostHog sign-in token (``pha_...``), checked so.
    """

    host: str
    project_id: str = "@current"
    allow_project_header: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    personal_keys: bool = True
    oauth: OAuthSettings | None = None

    @classmethod
    def create(
        cls,
        *,
        host: str | None,
        project_id: str | int | None = None,
        allow_project_header: bool = False,
        allowed_hosts: Sequence[str] = (),
        personal_keys: bool = True,
        oauth: OAuthSettings | None = None,
    ) -> HostedSettings:
        """Checked settings (hosts normalized like POSTHOG_HOST).

        Raises:
            ConfigurationError: a host or the project id is not valid, or no way to sign in.
        """
        pinned = normalize_host(host or "us")
        project = str(project_id).strip() if project_id is not None else "@current"
        if not (project.isdigit() or project == "@current"):
            raise ConfigurationError(
                f"The deployment's project id {project!r} is not a project id: use a number "
                "or @current."
            )
        if not personal_keys and oauth is None:
            raise ConfigurationError("A hosted deployment takes personal keys, sign-ins or both.")
        extra = frozenset(normalize_host(name) for name in allowed_hosts if name.strip())
        return cls(
            host=pinned,
            project_id=project,
            allow_project_header=allow_project_header,
            allowed_hosts=extra | {pinned},
            personal_keys=personal_keys,
            oauth=oauth,
        )
