"""The query endpoint's request checks, in PostHog's order (reference sections 15.2 and 15.4).

PostHog's ``QueryViewSet.create`` first compares the ``…/query/{Kind}/`` path with the body
(a DRF ``ValidationError``: 400 ``validation_error``), then validates the body with its
pydantic ``QueryRequest`` model (a ``ParseError``: 400 ``parse_error`` whose detail is
``JSON parse error - `` and pydantic's own multi-line text). The emulator validates with a
pydantic model of the same shape, so the text is pydantic's, not an imitation of it.

Query nodes are checked for their ``kind`` and the fields the emulator reads; their other fields
are let through (PostHog's generated models forbid unknown ones, but modelling every node's
fields here would only make the emulator refuse queries PostHog accepts).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

__all__ = ["KINDS", "PATH_KIND", "kind_mismatch", "parse_error"]

PATH_KIND = re.compile(r"[A-Z][A-Za-z]*")
"""What ``…/query/{Kind}/`` accepts as a kind (PostHog's ``create_with_kind`` route)."""

KINDS = (
    "EventsNode",
    "ActionsNode",
    "PersonsNode",
    "DataWarehouseNode",
    "EventsQuery",
    "ActorsQuery",
    "GroupsQuery",
    "InsightActorsQuery",
    "InsightActorsQueryOptions",
    "SessionsTimelineQuery",
    "HogQuery",
    "HogQLQuery",
    "HogQLASTQuery",
    "HogQLMetadata",
    "HogQLAutocomplete",
    "SessionAttributionExplorerQuery",
    "SessionBatchEventsQuery",
    "WebOverviewQuery",
    "WebStatsTableQuery",
    "WebGoalsQuery",
    "WebTrendsQuery",
    "MarketingAnalyticsTableQuery",
    "ExperimentExposureQuery",
    "DataVisualizationNode",
    "DataTableNode",
    "SavedInsightNode",
    "InsightVizNode",
    "TrendsQuery",
    "CalendarHeatmapQuery",
    "FunnelsQuery",
    "RetentionQuery",
    "PathsQuery",
    "StickinessQuery",
    "LifecycleQuery",
    "FunnelsActorsQuery",
    "FunnelCorrelationQuery",
    "FunnelCorrelationActorsQuery",
    "SuggestedQuestionsQuery",
    "TeamTaxonomyQuery",
    "EventTaxonomyQuery",
    "ActorsPropertyTaxonomyQuery",
    "TracesQuery",
    "TraceQuery",
    "VectorSearchQuery",
)
"""Query node kinds of PostHog's ``QueryRequest.query`` union: the kinds its query runners
import (``query_runner.py``, reference 12 table) [I: the union's exact list moves with PostHog]."""

_NODE = ConfigDict(extra="allow")
_REQUIRED: dict[str, dict[str, Any]] = {
    "HogQLQuery": {"query": (str, ...)},
    "TrendsQuery": {"series": (list[dict[str, Any]], ...)},
    "FunnelsQuery": {"series": (list[dict[str, Any]], ...)},
}
"""The fields the emulator reads, per kind; PostHog requires them too."""


def _node(kind: str) -> type[BaseModel]:
    fields: dict[str, Any] = {"kind": (Literal[kind], ...), **_REQUIRED.get(kind, {})}
    return create_model(kind, __config__=_NODE, **fields)


_REFRESH = Literal[
    "async",
    "async_except_on_cache_miss",
    "blocking",
    "force_async",
    "force_blocking",
    "force_cache",
    "lazy_async",
]
_LIMIT_CONTEXT: Any = Literal["posthog_ai"] | None
_QUERY_NODE: Any = Annotated[
    Union[tuple(_node(kind) for kind in KINDS)],  # noqa: UP007  # a union built from data
    Field(discriminator="kind"),
]

QueryRequest = create_model(
    "QueryRequest",
    __config__=ConfigDict(extra="forbid", populate_by_name=True),
    query=(_QUERY_NODE, ...),
    refresh=(bool | _REFRESH | None, None),
    client_query_id=(str | None, None),
    name=(Annotated[str, Field(max_length=128)] | None, None),
    async_=(bool | None, Field(default=None, alias="async")),
    filters_override=(dict[str, Any] | None, None),
    variables_override=(dict[str, Any] | None, None),
    limit_context=(_LIMIT_CONTEXT, None),
)
"""PostHog's ``QueryRequest`` body (unknown keys forbidden); built from data like its union."""


def kind_mismatch(body: Any, path_kind: str | None) -> str | None:
    """PostHog's ``_validate_query_kind``: the complaint about ``…/query/{Kind}/``, or None."""
    if path_kind is None:
        return None
    if not isinstance(body, dict):
        return "Query body must be a JSON object."
    query = body.get("query")
    if query is not None and not isinstance(query, dict):
        return "Query must be a JSON object."
    body_kind = query.get("kind") if isinstance(query, dict) else None
    if path_kind != body_kind:
        return (
            f'Query kind mismatch: path kind "{path_kind}" does not match body kind "{body_kind}".'
        )
    return None


def parse_error(body: Any) -> str | None:
    """The ``parse_error`` detail PostHog gives for `body`, or None when it is a valid request."""
    try:
        QueryRequest.model_validate(body)
    except ValidationError as error:
        return f"JSON parse error - {error}"
    return None
