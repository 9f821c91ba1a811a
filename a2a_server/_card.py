"""The agent card: who PostHog AI is to other agents, its skills and how to authenticate."""

from __future__ import annotations

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol

from max_tools import __version__

__all__ = ["BEARER_SCHEME", "SKILLS", "build_card"]

BEARER_SCHEME = "posthog_personal_api_key"

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
    url: str, *, skills: frozenset[str], per_request_keys: bool, read_only: bool
) -> AgentCard:
    """The card served at ``/.well-known/agent-card.json`` for the server at `url`."""
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
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            ),
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.HTTP_JSON.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            ),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "application/json"],
        skills=[skill for name, skill in SKILLS.items() if name in skills],
    )
    if per_request_keys:
        card.security_schemes[BEARER_SCHEME].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="bearer",
                    bearer_format="PostHog personal API key (phx_...)",
                    description="Your PostHog personal API key, sent as 'Authorization: "
                    "Bearer phx_...'.",
                )
            )
        )
        requirement = SecurityRequirement()
        requirement.schemes[BEARER_SCHEME].CopyFrom(StringList())
        card.security_requirements.append(requirement)
    return card
