"""The agent card: who PostHog AI is to other agents, its skills and how to authenticate."""

from __future__ import annotations

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    AuthorizationCodeOAuthFlow,
    HTTPAuthSecurityScheme,
    OAuth2SecurityScheme,
    OAuthFlows,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import (
    PROTOCOL_VERSION_0_3,
    PROTOCOL_VERSION_CURRENT,
    TransportProtocol,
)

from max_tools import __version__
from max_tools.hosting import OAUTH_SCOPES, HostedAuth, ServerKeyAuth

__all__ = ["BEARER_SCHEME", "OAUTH_SCHEME", "SKILLS", "TOKEN_SCHEME", "build_card"]

BEARER_SCHEME = "posthog_personal_api_key"
OAUTH_SCHEME = "posthog_sign_in"
TOKEN_SCHEME = "deployment_token"  # noqa: S105 - a scheme name, not a secret

SKILLS: dict[str, AgentSkill] = {
    "product_analytics": AgentSkill(
        id="product_analytics",
        name="Product analytics questions",
        description="Answers questions about a PostHog project's product data: trends, funnels, "
        "retention, users and events, with the numbers PostHog computes.",
        tags=["analytics", "posthog", "trends", "funnels", "retention"],
        examples=[
            "How many users signed up last week?",
            "What is the conversion from signup to first purchase this month?",
        ],
    ),
    "sql": AgentSkill(
        id="sql",
        name="SQL (HogQL)",
        description="Writes and runs HogQL (PostHog's SQL) over the project's events and "
        "persons, and explains the result.",
        tags=["sql", "hogql", "posthog"],
        examples=["Write a SQL query for the top 10 pages by pageviews yesterday"],
    ),
    "charts": AgentSkill(
        id="charts",
        name="Charts",
        description="Draws charts of the project's data; each chart comes as an artifact: the "
        "table and the numbers as data, a Vega-Lite spec, and a PNG where the server can draw.",
        tags=["charts", "visualization", "posthog"],
        examples=["Plot weekly signups by country"],
        output_modes=["text/plain", "application/json", "image/png"],
    ),
}
"""PostHog AI's skills; a skill id other than ``charts`` is also the agent mode it asks for."""


def build_card(
    url: str, *, skills: frozenset[str], auth: HostedAuth | ServerKeyAuth, read_only: bool
) -> AgentCard:
    """The card served at ``/.well-known/agent-card.json`` for the server at `url`.

    Its ``securitySchemes`` say how `auth` takes credentials, each scheme one alternative of
    ``security``: a PostHog sign-in (OAuth2 authorization code with PKCE at PostHog's issuer),
    a personal API key or the deployment's shared token (HTTP bearer); none on loopback with
    the server's own key.
    """
    description = (
        "PostHog AI (Max), PostHog's product-analytics agent: asks questions of a PostHog "
        "project's data, writes SQL, draws charts, and asks a person before it changes "
        "anything."
    )
    if read_only:
        description += " This server is read-only: it reads tasks but sends no messages."
    card = AgentCard(
        name="PostHog AI",
        description=description,
        version=__version__,
        provider=AgentProvider(organization="max-tools", url="https://posthog.com"),
        documentation_url="https://posthog.com/docs/posthog-ai",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding=binding, protocol_version=version)
            # 1.0 first: a client that speaks both takes the first it knows. The 0.3 ones are
            # the method names and shapes the SDK's compat layer serves at the same URL; without
            # them the card has no 0.3 `url`/`protocolVersion`/`preferredTransport`, and a 0.3
            # client cannot read it, let alone pick a transport.
            for version in (PROTOCOL_VERSION_CURRENT, PROTOCOL_VERSION_0_3)
            for binding in (TransportProtocol.JSONRPC.value, TransportProtocol.HTTP_JSON.value)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "application/json"],
        skills=[skill for name, skill in SKILLS.items() if name in skills],
    )
    for name, scheme, scopes in _schemes(auth):
        card.security_schemes[name].CopyFrom(scheme)
        requirement = SecurityRequirement()
        requirement.schemes[name].CopyFrom(StringList(list=scopes))
        card.security_requirements.append(requirement)
    return card


def _schemes(auth: HostedAuth | ServerKeyAuth) -> list[tuple[str, SecurityScheme, list[str]]]:
    """Each way `auth` accepts, as (name, scheme, scopes it needs)."""
    if isinstance(auth, ServerKeyAuth):
        if not auth.requires_token:
            return []
        shared = HTTPAuthSecurityScheme(
            scheme="bearer",
            description="The token this deployment was given (--auth-token), sent as "
            "'Authorization: Bearer <token>'.",
        )
        return [(TOKEN_SCHEME, SecurityScheme(http_auth_security_scheme=shared), [])]
    schemes: list[tuple[str, SecurityScheme, list[str]]] = []
    oauth = auth.settings.oauth
    if oauth is not None:
        flow = AuthorizationCodeOAuthFlow(
            authorization_url=f"{oauth.issuer}/oauth/authorize/",
            token_url=f"{oauth.issuer}/oauth/token/",
            refresh_url=f"{oauth.issuer}/oauth/token/",
            scopes=dict(_SCOPE_USES),
            pkce_required=True,
        )
        sign_in = OAuth2SecurityScheme(
            description="Sign in with PostHog: PostHog is the authorization server; send its "
            "token as 'Authorization: Bearer pha_...'. conversation:read alone reads tasks "
            "only; without query:read no chart comes as an artifact.",
            flows=OAuthFlows(authorization_code=flow),
            oauth2_metadata_url=f"{oauth.issuer}/.well-known/oauth-authorization-server",
        )
        schemes.append(
            (OAUTH_SCHEME, SecurityScheme(oauth2_security_scheme=sign_in), list(OAUTH_SCOPES))
        )
    if auth.settings.personal_keys:
        key = HTTPAuthSecurityScheme(
            scheme="bearer",
            bearer_format="PostHog personal API key (phx_...)",
            description="Your PostHog personal API key, sent as 'Authorization: Bearer phx_...'.",
        )
        schemes.append((BEARER_SCHEME, SecurityScheme(http_auth_security_scheme=key), []))
    return schemes


_SCOPE_USES = {
    "conversation:read": "read PostHog AI conversations (tasks)",
    "conversation:write": "send messages to PostHog AI, answer and cancel",
    "query:read": "run the queries behind charts (chart artifacts)",
}
