"""Settings: where PostHog is, which project, and the key, resolved from arguments or env.

The key comes from, in this order: the ``api_key`` argument (a flag), the environment
(``POSTHOG_PERSONAL_API_KEY`` or ``POSTHOG_API_KEY``), then the sign-in ``max-tools login``
stored for the host (the host given or in ``POSTHOG_HOST``; without one, the only or most
recent sign-in). A sign-in brings its API host and, when it is limited to one project, that
project; an explicit or environment project id still wins.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from max_tools._advice import advice
from max_tools._errors import ConfigurationError
from max_tools._secret import APIKey
from max_tools._signin import SignIn, SignInStore, config_dir
from max_tools._signin_key import SignedInKey

__all__ = ["DEFAULT_HOST", "APIKey", "Settings", "resolve_settings"]

DEFAULT_HOST = "https://us.posthog.com"
REGION_HOSTS = {"us": "https://us.posthog.com", "eu": "https://eu.posthog.com"}
KEY_ENV_VARS = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY")
HOST_ENV_VAR = "POSTHOG_HOST"
PROJECT_ENV_VAR = "POSTHOG_PROJECT_ID"
CURRENT_PROJECT = "@current"

_PROJECT_ID = re.compile(r"^(?:\d+|@current)$")


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
    def sign_in(self) -> SignIn | None:
        """The stored sign-in in use, when the key is one (not a personal API key)."""
        return self.api_key.sign_in if isinstance(self.api_key, SignedInKey) else None

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
    given_host = host if host is not None else env.get(HOST_ENV_VAR) or None
    if isinstance(api_key, SignedInKey):  # a sign-in resolved before, handed on (LangChain)
        return Settings(
            api_key,
            api_key.sign_in.posthog_base_url,
            _resolve_project(project_id, env, default=api_key.sign_in.project_id),
        )
    if api_key is None and not any(env.get(name, "").strip() for name in KEY_ENV_VARS):
        key = _stored_sign_in(given_host, env)
        return Settings(
            api_key=key,
            host=normalize_host(key.sign_in.posthog_base_url),
            project_id=_resolve_project(project_id, env, default=key.sign_in.project_id),
        )
    return Settings(
        api_key=_resolve_key(api_key, env),
        host=normalize_host(given_host or DEFAULT_HOST),
        project_id=_resolve_project(project_id, env),
    )


def _stored_sign_in(host: str | None, env: Mapping[str, str]) -> SignedInKey:
    """The sign-in stored for `host` (or the only or latest one); the no-key error without."""
    store = SignInStore(config_dir(env))
    wanted = normalize_host(host) if host is not None else None
    sign_in = store.find(wanted)
    if sign_in is None:
        head = "No PostHog personal API key" + (
            f", and no sign-in for {wanted}." if wanted is not None else ", and no sign-in."
        )
        raise ConfigurationError(f"{head} {advice('no_key')}", situation="no_key", head=head)
    return SignedInKey(sign_in, store)


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
            f"Refusing plain http:// for {hostname}: the API key or sign-in would travel "
            "unencrypted. Use https:// (plain http is only allowed for loopback hosts such as "
            "the emulator)."
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


def _resolve_project(
    project_id: int | str | None, env: Mapping[str, str], *, default: str | None = None
) -> str:
    if project_id is None:
        project_id = env.get(PROJECT_ENV_VAR, "").strip() or default or CURRENT_PROJECT
    if isinstance(project_id, bool):
        raise ConfigurationError("project_id must be a number or '@current', not a bool.")
    value = str(project_id).strip()
    if not _PROJECT_ID.fullmatch(value):
        raise ConfigurationError(
            f"POSTHOG_PROJECT_ID {value!r} is not a project id. Use the number shown in your "
            "PostHog project settings (for example 12345), or '@current'."
        )
    return value
