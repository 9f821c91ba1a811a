"""A hosted face as an OAuth-protected resource whose authorization server is PostHog.

PostHog issues the tokens (``pha_...``) and the face only checks them (reference
posthog-oauth.md section 6, the design PostHog's own MCP server uses): it publishes RFC 9728
protected-resource metadata naming PostHog's issuer, answers a request without a usable token
with 401 and ``WWW-Authenticate: Bearer resource_metadata="..."`` so that the client (an MCP
host, an A2A client) starts the sign-in by itself, and lets the scopes the user granted decide
what a request may do.

Which issuer, and where tokens are checked:

- us or eu Cloud: the cross-region issuer ``https://oauth.posthog.com`` (PostHog's own
  recommendation, and what its MCP server names): a user of either region can sign in, and
  the proxy registers the client in both. A token is introspected at the deployment's region
  first, then at the other; the region that answers ``active`` is where that user's API calls
  go.
- a self-hosted PostHog (or the emulator): the host itself is the issuer and the API host.
- ``--oauth-issuer`` names another issuer; a region's own host pins the deployment to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from max_tools import ConfigurationError
from max_tools.agent import is_loopback, normalize_host

__all__ = [
    "CROSS_REGION_ISSUER",
    "OAUTH_SCOPES",
    "PRM_PATH",
    "TOKEN_PREFIX",
    "OAuthSettings",
    "challenge",
    "metadata_path",
    "metadata_url",
    "protected_resource_metadata",
]

TOKEN_PREFIX = "pha_"  # noqa: S105 - PostHog's OAuth access tokens start so (a prefix, not a secret)
CROSS_REGION_ISSUER = "https://oauth.posthog.com"
"""PostHog's Cloud authorization server for both regions (reference section 1, Hosts)."""
_CLOUD = ("https://us.posthog.com", "https://eu.posthog.com")
OAUTH_SCOPES = ("conversation:read", "conversation:write", "query:read")
"""Exactly the scopes the actions need: what the metadata asks the user to grant."""
PRM_PATH = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    """How a deployment checks PostHog sign-in tokens.

    Args:
        issuer: PostHog's authorization server, named in the protected-resource metadata.
        api_hosts: where a token is introspected, in order; the first that answers active is
            the host its API calls go to.
        public_url: the endpoint's URL as clients reach it (the metadata's ``resource``);
            None takes it from each request's Host (loopback only: a proxy changes it).
        client_ids: the OAuth client ids whose tokens are accepted; empty accepts any.
        clock: seconds since the epoch, on PostHog's clock (tests move it).
    """

    issuer: str
    api_hosts: tuple[str, ...]
    public_url: str | None = None
    client_ids: frozenset[str] = frozenset()
    clock: Callable[[], float] = field(default=time.time, compare=False)

    @classmethod
    def create(
        cls,
        *,
        host: str,
        issuer: str | None = None,
        public_url: str | None = None,
        client_ids: Iterable[str] = (),
        bind: str = "127.0.0.1",
        clock: Callable[[], float] = time.time,
    ) -> OAuthSettings:
        """Checked settings for a deployment on PostHog `host` (normalized), served on `bind`.

        Raises:
            ConfigurationError: a URL is not valid, or no public URL off loopback.
        """
        host = normalize_host(host)
        if issuer is None or not issuer.strip():
            chosen = CROSS_REGION_ISSUER if host in _CLOUD else host
        else:
            chosen = normalize_host(issuer)
        if chosen == CROSS_REGION_ISSUER:
            api_hosts: tuple[str, ...] = (host, *(other for other in _CLOUD if other != host))
        elif chosen in _CLOUD:
            api_hosts = (chosen,)
        else:
            api_hosts = (host,)
        url = _public_url(public_url, bind)
        ids = frozenset(name.strip() for name in client_ids if name.strip())
        return cls(issuer=chosen, api_hosts=api_hosts, public_url=url, client_ids=ids, clock=clock)

    def resource(self, scheme: str, host_header: str | None, path: str) -> str:
        """The metadata's ``resource``: the public URL, else the URL this request came to.

        Args:
            scheme: the request's scheme (``http`` or ``https``).
            host_header: the request's Host header (None: ``localhost``).
            path: the path of the face's endpoint, e.g. ``/mcp``.
        """
        if self.public_url is not None:
            return self.public_url
        return f"{scheme}://{host_header or 'localhost'}{path}"


def _public_url(raw: str | None, bind: str) -> str | None:
    if raw is None or not raw.strip():
        if not is_loopback(bind):
            raise ConfigurationError(
                "Sign-in with PostHog off loopback needs the server's public URL, as clients "
                "reach it behind your proxy: set --public-url (max-mcp: MAX_MCP_PUBLIC_URL; "
                "max-a2a: MAX_A2A_PUBLIC_URL), e.g. https://agents.example.com/mcp."
            )
        return None
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"--public-url {url!r} is not the endpoint's URL: use https://host/mcp, with no "
            "query or fragment."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"--public-url {url!r} uses http off loopback; clients sign in only over https."
        )
    # The form hosts compare with the URL they connect to (the MCP SDK compares netloc as it
    # is): scheme and host in lower case, no default port.
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}[scheme]
    port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
    return f"{scheme}://{host}{port}{parts.path}"


def metadata_path(resource: str) -> str:
    """Where the metadata of `resource` lives (RFC 9728 section 3.1: the path inserted)."""
    path = urlsplit(resource).path.rstrip("/")
    return PRM_PATH + path


def metadata_url(resource: str) -> str:
    """The absolute URL of the metadata of `resource`."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{metadata_path(resource)}"


def protected_resource_metadata(settings: OAuthSettings, resource: str) -> dict[str, object]:
    """The RFC 9728 document: PostHog signs users in, for the scopes the actions need."""
    return {
        "resource": resource,
        "authorization_servers": [settings.issuer],
        "scopes_supported": list(OAUTH_SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "PostHog AI (Max)",
        "resource_documentation": "https://posthog.com/docs/posthog-ai",
    }


def challenge(resource: str, *, error: str | None = None, description: str = "") -> str:
    """A ``WWW-Authenticate`` value that points the client at the metadata (RFC 6750, 9728).

    Args:
        resource: the protected resource (the endpoint's URL): its metadata URL is named.
        error: the RFC 6750 error code (``invalid_token``); None when no token was sent.
        description: one sentence for a person (quotes and backslashes are dropped).
    """
    parts = []
    if error is not None:
        parts.append(f'error="{error}"')
        if description:
            quoted = description.replace("\\", "").replace('"', "'")
            parts.append(f'error_description="{quoted}"')
    parts.append(f'resource_metadata="{metadata_url(resource)}"')
    # A header carries latin-1 only: anything else becomes "?" rather than breaking the answer.
    return ("Bearer " + ", ".join(parts)).encode("latin-1", "replace").decode("latin-1")
