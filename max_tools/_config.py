"""Settings: where PostHog is, which project, and the key, resolved from arguments or env."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from max_tools._advice import advice
from max_tools._errors import ConfigurationError

__all__ = ["DEFAULT_HOST", "APIKey", "Settings", "resolve_settings"]

DEFAULT_HOST = "https://us.posthog.com"
REGION_HOSTS = {"us": "https://us.posthog.com", "eu": "https://eu.posthog.com"}
KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")
HOST_ENV_VAR = "POSTHOG_HOST"
PROJECT_ENV_VAR = "POSTHOG_PROJECT_ID"
CURRENT_PROJECT = "@current"

_PROJECT_ID = re.compile(r"^(?:\d+|@current)$")


class APIKey:
    """A personal API key that never shows itself in a repr, str or format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the key itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "APIKey('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, APIKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the client needs to reach one PostHog project."""

    api_key: APIKey
    host: str
    project_id: str

    @property
    def api_base(self) -> str:
        """The conversations collection URL, with its trailing slash."""
        return f"{self.host}/api/environments/{self.project_id}/conversations/"

    @property
    def is_us_cloud(self) -> bool:
        """Whether the host is PostHog's US Cloud (the default region)."""
        return self.host == REGION_HOSTS["us"]


def resolve_settings(
    *,
    api_key: str | APIKey | None = None,
    host: str | None = None,
    project_id: int | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine explicit values with the environment, and check them.

    Raises:
        ConfigurationError: a value is missing or cannot be right.
    """
    env = os.environ if environ is None else environ
    return Settings(
        api_key=_resolve_key(api_key, env),
        host=normalize_host(host if host is not None else env.get(HOST_ENV_VAR) or DEFAULT_HOST),
        project_id=_resolve_project(project_id, env),
    )


def _resolve_key(api_key: str | APIKey | None, env: Mapping[str, str]) -> APIKey:
    if isinstance(api_key, APIKey):
        value = api_key.get_secret_value()
    elif api_key is not None:
        value = api_key
    else:
        value = next((env[name] for name in KEY_ENV_VARS if env.get(name, "").strip()), "")
    value = value.strip()
    if not value:
        head = "No PostHog personal API key."
        raise ConfigurationError(f"{head} {advice('no_key')}", situation="no_key", head=head)
    if value.startswith("phc_"):
        raise ConfigurationError(
            "That is a project token (phc_...), which only sends events. PostHog AI needs a "
            "personal API key (phx_...): create one under Settings > Personal API keys and set "
            "POSTHOG_PERSONAL_API_KEY."
        )
    if any(ch.isspace() for ch in value) or not value.isprintable():
        raise ConfigurationError(
            "The personal API key contains spaces or control characters; copy it again "
            "without surrounding text."
        )
    return APIKey(value)


def normalize_host(raw: str) -> str:
    """Turn `us`, `eu`, a bare domain or a URL into a checked base URL without a trailing slash.

    Raises:
        ConfigurationError: the host is an ingestion host, not http(s), or plain http off loopback.
    """
    value = raw.strip()
    if value.lower() in REGION_HOSTS:
        return REGION_HOSTS[value.lower()]
    if "://" not in value:
        value = f"https://{value}"
    try:
        parts = urlsplit(value)
        port = parts.port  # a port that is not a number (or out of range) raises here
    except ValueError:
        parts, port = None, None
    scheme = parts.scheme.lower() if parts else ""
    hostname = (parts.hostname or "").lower() if parts else ""
    if parts is None or scheme not in {"http", "https"} or not hostname:
        raise ConfigurationError(
            f"POSTHOG_HOST {raw!r} is not a web address. Use https://us.posthog.com, "
            "https://eu.posthog.com, us, eu, or your self-hosted PostHog URL."
        )
    if hostname.endswith(".i.posthog.com"):
        region = hostname.split(".", 1)[0]
        app_host = REGION_HOSTS.get(region, DEFAULT_HOST)
        raise ConfigurationError(
            f"{hostname} is PostHog's event ingestion host; the PostHog AI API lives on the app "
            f"host. Set POSTHOG_HOST to {app_host}."
        )
    if scheme == "http" and not is_loopback(hostname):
        raise ConfigurationError(
            f"Refusing plain http:// for {hostname}: the API key would travel unencrypted. "
            "Use https:// (plain http is only allowed for loopback hosts such as the emulator)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"POSTHOG_HOST {raw!r} has a query or fragment; give only the base URL."
        )
    netloc = hostname if ":" not in hostname else f"[{hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def is_loopback(hostname: str) -> bool:
    """Whether a host name or address is this machine (localhost, 127.0.0.0/8, ::1)."""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve_project(project_id: int | str | None, env: Mapping[str, str]) -> str:
    if project_id is None:
        project_id = env.get(PROJECT_ENV_VAR, "").strip() or CURRENT_PROJECT
    if isinstance(project_id, bool):
        raise ConfigurationError("project_id must be a number or '@current', not a bool.")
    value = str(project_id).strip()
    if not _PROJECT_ID.fullmatch(value):
        raise ConfigurationError(
            f"POSTHOG_PROJECT_ID {value!r} is not a project id. Use the number shown in your "
            "PostHog project settings (for example 12345), or '@current'."
        )
    return value
