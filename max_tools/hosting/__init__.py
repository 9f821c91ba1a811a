"""Hosting: who is calling a server face, and with which PostHog credentials.

For any server face of max-tools (max-mcp over HTTP, an A2A server, your own ASGI app) that serves
a whole team from one deployment holding no PostHog key: each request brings its user's
personal API key (``Authorization: Bearer phx_...``) and/or PostHog sign-in token (``pha_...``,
OAuth, PostHog being the authorization server and the face an RFC 9728 protected resource).

`HostedAuth.authenticate` turns a request's headers into a `Caller` (an `AsyncMaxClient` for
that request alone, and what its sign-in's scopes allow) or into a ready `Answer` that refuses
it (status, headers, JSON body; 401 with ``WWW-Authenticate`` before any PostHog call, 503 when
PostHog cannot be asked). `HostedAuth.metadata_answer` serves the protected-resource metadata.
`ServerKeyAuth` has the same surface for a deployment serving everyone with the server's own
key (guarded by a shared bearer token off loopback), so a face handles every mode alike.
`settings_from_flags` builds `HostedSettings` from a face's command line (`HostedFlags`), with
``POSTHOG_HOST`` and ``POSTHOG_PROJECT_ID`` filling in, as max-mcp and max-a2a do.
Nothing here imports a web framework: headers come in as a mapping, answers go out as data
(or over raw ASGI with `Answer.send`). Faces import from here, never from its private modules.
"""

from max_tools.hosting._answer import Answer, Refused
from max_tools.hosting._auth import HOST_HEADER, PROJECT_HEADER, HostedAuth
from max_tools.hosting._bearer import PROJECT_TOKEN_PREFIX, bearer_token, personal_key
from max_tools.hosting._caller import Caller
from max_tools.hosting._flags import HostedFlags, settings_from_flags
from max_tools.hosting._introspect import (
    CACHE_S,
    INACTIVE_CACHE_S,
    IntrospectionError,
    TokenChecker,
    TokenFacts,
    token_digest,
)
from max_tools.hosting._oauth import (
    CROSS_REGION_ISSUER,
    OAUTH_SCOPES,
    PRM_PATH,
    TOKEN_PREFIX,
    OAuthSettings,
    challenge,
    metadata_path,
    metadata_url,
    protected_resource_metadata,
)
from max_tools.hosting._own_key import ServerKeyAuth
from max_tools.hosting._pool import shared_http_client
from max_tools.hosting._scopes import covers, missing_scope
from max_tools.hosting._settings import HostedSettings
from max_tools.hosting._states import ClientStates

__all__ = [
    "CACHE_S",
    "CROSS_REGION_ISSUER",
    "HOST_HEADER",
    "INACTIVE_CACHE_S",
    "OAUTH_SCOPES",
    "PRM_PATH",
    "PROJECT_HEADER",
    "PROJECT_TOKEN_PREFIX",
    "TOKEN_PREFIX",
    "Answer",
    "Caller",
    "ClientStates",
    "HostedAuth",
    "HostedFlags",
    "HostedSettings",
    "IntrospectionError",
    "OAuthSettings",
    "Refused",
    "ServerKeyAuth",
    "TokenChecker",
    "TokenFacts",
    "bearer_token",
    "challenge",
    "covers",
    "metadata_path",
    "metadata_url",
    "missing_scope",
    "personal_key",
    "protected_resource_metadata",
    "settings_from_flags",
    "shared_http_client",
    "token_digest",
]
