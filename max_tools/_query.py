"""The numbers behind PostHog AI's charts: the query API (reference section 15).

An `ai/viz` message holds a query, not data; PostHog's web app runs it through
``POST /api/environments/{project}/query/`` with ``{"query": <the query>}`` and draws the result.
`QueryResult` is that result, typed where the kind is known (trends series, HogQL rows) and raw
otherwise. `charts` lists a reply's charts, numbered from 1, with the query to run for each.

A query PostHog computes in the background (``refresh="async"`` and friends) answers 202 with a
``query_status``; `query` then reads ``GET …/query/{id}/`` until it is complete (200, the
response in ``query_status.results``) or failed (400 with PostHog's message), within `wait_s`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from max_tools._arguments import seconds
from max_tools._errors import APITimeoutError, InvalidArgumentsError
from max_tools._http import HTTPCore
from max_tools._messages import (
    ArtifactMessage,
    Message,
    MultiVisualizationMessage,
    VisualizationMessage,
)
from max_tools._retry import Repeatable

if TYPE_CHECKING:
    from max_tools._models import Conversation

__all__ = [
    "QUERY_WAIT_S",
    "Chart",
    "QueryMethods",
    "QueryResult",
    "Series",
    "charts_of",
    "parse_query_result",
]

QUERY_WAIT_S = 60.0
"""How long `query` follows a query PostHog computes in the background, by default."""
_FIRST_POLL_S, _MAX_POLL_S = 0.25, 2.0
"""Status reads start soon (most queries take well under a second) and back off to every 2 s."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Series(_Model):
    """One line (or bar set) of a trends result: a series, per breakdown value."""

    label: str = ""
    labels: list[str] = []
    days: list[str] = []
    data: list[float] = []
    count: float | None = None
    breakdown_value: Any = None
    aggregated_value: float | None = None
    """For total-value displays (a number, a pie, a table), instead of `data`."""
    compare_label: str | None = None
    """``current`` or ``previous`` when the query compares with the period before."""

    @property
    def name(self) -> str:
        """What to call the series in a table or a legend: compared periods keep apart."""
        name = str(self.label or self.breakdown_value or "series")
        return f"{name} ({self.compare_label})" if self.compare_label else name


class QueryResult(_Model):
    """What a query returned: `series` for trends, `columns`/`types`/`rows` for HogQL.

    `raw` always holds the whole response; other kinds are read from it.
    """

    kind: str
    series: list[Series] | None = None
    columns: list[str] | None = None
    types: list[str] | None = None
    rows: list[list[Any]] | None = None
    has_more: bool = False
    date_from: str | None = None
    date_to: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    """The whole response, as PostHog sent it."""


class Chart(_Model):
    """A chart in a reply: its number (from 1), the query behind it, and one line about it."""

    index: int
    kind: str
    query: dict[str, Any]
    message_id: str | None = None
    title: str | None = None


def parse_query_result(query: dict[str, Any], body: Any) -> QueryResult:
    """Type the query endpoint's answer; kinds other than trends and HogQL keep raw results."""
    raw = body if isinstance(body, dict) else {"results": body}
    kind = str(query.get("kind") or "")
    results = raw.get("results")
    result = QueryResult(kind=kind, raw=raw, has_more=bool(raw.get("hasMore")))
    if kind == "TrendsQuery" and isinstance(results, list):
        result.series = [Series.model_validate(item) for item in results if isinstance(item, dict)]
        resolved = raw.get("resolved_date_range")
        if isinstance(resolved, dict):
            result.date_from, result.date_to = resolved.get("date_from"), resolved.get("date_to")
    elif kind == "HogQLQuery" and isinstance(results, list):
        columns = raw.get("columns")
        result.columns = [str(c) for c in columns] if isinstance(columns, list) else None
        types = raw.get("types")
        if isinstance(types, list):
            result.types = [
                str(t[1]) if isinstance(t, list) and len(t) > 1 else str(t) for t in types
            ]
        result.rows = [list(row) for row in results if isinstance(row, list | tuple)]
    return result


def _running(answer: Any) -> str | None:
    """The id of a query PostHog goes on computing in the background (a 202), or None."""
    status = answer.get("query_status") if isinstance(answer, dict) else None
    if isinstance(status, dict) and status.get("complete") is False and status.get("id"):
        return str(status["id"])
    return None


def charts_of(messages: Sequence[Message], *, first: int = 1) -> list[Chart]:
    """Every chart among `messages`, numbered in order from `first`."""
    queries: list[tuple[dict[str, Any], str | None, str | None]] = []
    for message in messages:
        if isinstance(message, VisualizationMessage) and isinstance(message.answer, dict):
            queries.append((message.answer, message.id, message.query or message.plan))
        elif isinstance(message, MultiVisualizationMessage):
            for item in message.visualizations:
                answer = item.get("answer") if isinstance(item, dict) else None
                if isinstance(answer, dict):
                    queries.append((answer, message.id, item.get("query")))
        elif isinstance(message, ArtifactMessage) and isinstance(message.content, dict):
            query = message.content.get("query")
            if isinstance(query, dict):
                queries.append((query, message.id, message.content.get("name")))
    return [
        Chart(
            index=number,
            kind=str(query.get("kind") or ""),
            query=query,
            message_id=mid,
            title=title,
        )
        for number, (query, mid, title) in enumerate(queries, start=first)
    ]


class QueryMethods:
    """Mixed into `AsyncMaxClient`, which provides `_http` and `get_conversation`."""

    _http: HTTPCore

    if TYPE_CHECKING:

        async def get_conversation(self, conversation_id: str | uuid.UUID) -> Conversation: ...

    async def query(
        self,
        query: Mapping[str, Any],
        *,
        refresh: str | None = None,
        wait_s: float = QUERY_WAIT_S,
    ) -> QueryResult:
        """Run a query (a `TrendsQuery`, a `HogQLQuery`, ... node) through PostHog's query API.

        Args:
            query: the query node, e.g. a chart's `Chart.query`.
            refresh: PostHog's cache policy (``blocking`` by default at PostHog); the
                asynchronous ones (``async``, ``force_async``, ...) are followed to the end.
            wait_s: how long to follow a query PostHog computes in the background.

        Raises:
            InvalidArgumentsError: `query` is not a query node (an object with a ``kind``), or
                `wait_s` is not a number of seconds.
            PermissionDeniedError: the key lacks the ``query:read`` scope (the message says so).
            BadRequestError: PostHog refused the query, or it failed (PostHog's message).
            APITimeoutError: the query was still running after `wait_s`.
        """
        if not isinstance(query, Mapping) or not isinstance(query.get("kind"), str):
            raise InvalidArgumentsError(
                'query must be a query node: an object with a "kind", e.g. {"kind": '
                '"HogQLQuery", "query": "select event, count() from events group by event"}.'
            )
        budget = seconds(wait_s)
        body: dict[str, Any] = {"query": dict(query)}
        if refresh is not None:
            body["refresh"] = refresh
        doing = f"run a {query['kind']}"
        response = await self._http.request(
            "POST", "/query/", json=body, doing=doing, repeatable=Repeatable.ALWAYS
        )
        answer = response.json() if response is not None else {}  # None is for deletes only
        running = _running(answer)
        if running is not None:
            answer = await self._query_outcome(running, doing=doing, wait_s=budget)
        return parse_query_result(dict(query), answer)

    async def _query_outcome(self, query_id: str, *, doing: str, wait_s: float) -> Any:
        """Read an asynchronous query's status until it is complete; its response."""
        started = anyio.current_time()
        waited, delay = 0.0, _FIRST_POLL_S
        # Both clocks count: the real one bounds a slow server, the sum of the pauses a
        # client whose sleep does not really wait (tests).
        while max(waited, anyio.current_time() - started) < wait_s:
            pause = min(delay, wait_s - waited)
            await self._http.sleep(pause)
            waited, delay = waited + pause, min(delay * 2, _MAX_POLL_S)
            response = await self._http.request(
                "GET", f"/query/{query_id}/", doing=doing, repeatable=Repeatable.ALWAYS
            )
            status = response.json().get("query_status") if response is not None else None
            if isinstance(status, dict) and status.get("complete"):
                return status.get("results")
        raise APITimeoutError(
            f"Could not {doing}: PostHog was still computing it after {wait_s:g} s (query id "
            f"{query_id}). Try again with a larger wait_s, or later: PostHog caches the result "
            "when it completes.",
            request_sent=True,
        )

    async def chart_data(
        self, conversation_id: str | uuid.UUID, chart: int = 1
    ) -> tuple[Chart, QueryResult]:
        """The data behind a conversation's chart number `chart` (from 1), without asking again.

        Raises:
            InvalidArgumentsError: the conversation has no such chart.
        """
        conversation = await self.get_conversation(conversation_id)
        charts = charts_of(conversation.messages)
        if not 1 <= chart <= len(charts):
            raise InvalidArgumentsError(
                f"chart must be from 1 to {len(charts)}: the conversation has {len(charts)} "
                f"chart{'s' if len(charts) != 1 else ''}."
                if charts
                else "This conversation has no charts."
            )
        found = charts[chart - 1]
        return found, await self.query(found.query)
