"""The query endpoint (reference section 15): the data behind PostHog AI's charts.

``POST /api/{environments|projects}/{id}/query/[{Kind}/]`` with ``{"query": <node>}``. Checks
come in PostHog's order (`_query_request`): the ``{Kind}`` path against the body, then the body
against ``QueryRequest``, then the query itself as it runs (`_hogql` for HogQL). Results are
made up, but deterministic for a given query (seeded by its JSON) and shaped by it: a trends
query gets PostHog's series items (`_trends`), a HogQL query its select list as columns, a
funnel one count per step.

Asynchronous queries (``refresh`` ``async``, ``lazy_async``, ``force_async``, or the legacy
``"async": true``) answer 202 with a ``query_status``; ``GET …/query/{id}/`` answers 202 while
the query "runs" (for ``faults.query_polls`` reads, 1 by default), then 200 with the response
in ``query_status.results``, or 400 with ``error_message`` when it failed (a HogQL error,
found only when it runs, as at PostHog); ``DELETE`` cancels it.
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._formatted import formatted_results
from max_tools.emulator._hogql import HogQLError, Select, read_select
from max_tools.emulator._query_request import PATH_KIND, kind_mismatch, parse_error
from max_tools.emulator._responses import json_response, read_body
from max_tools.emulator._trends import Numbers, iso, resolved_range, trends_results
from max_tools.emulator._validation import FieldError
from max_tools.emulator._wire import drf_error, drf_time

__all__ = ["AsyncQueries", "answer_query", "run_query"]

_EVENTS = ["$pageview", "signed_up", "$autocapture", "purchase", "$pageleave"]
_HOGQL_LIMIT, _HOGQL_MAX_LIMIT = 100, 50_000
_ASYNC_REFRESH = {"async", "lazy_async", "force_async"}
"""The modes that compute in the background (the emulator keeps no cache, so always 202)."""


def _method_not_allowed(method: str) -> Response:
    detail = f'Method "{method}" not allowed.'
    return json_response(405, drf_error("invalid_request", "method_not_allowed", detail))


async def run_query(
    request: Request, path_kind: str | None, *, team_id: int, queries: AsyncQueries, polls: int
) -> Response:
    """Answer one query request as PostHog's query viewset does (`polls`: see `AsyncQueries`)."""
    if path_kind is not None and not PATH_KIND.fullmatch(path_kind):
        return _method_not_allowed(request.method)  # ``query/{id}/`` reads and cancels only
    try:
        body = await read_body(request)
    except FieldError as error:
        return json_response(400, drf_error("invalid_request", error.code, error.detail))
    mismatch = kind_mismatch(body, path_kind)
    if mismatch is not None:
        return json_response(400, drf_error("validation_error", "invalid_input", mismatch))
    problem = parse_error(body)
    if problem is not None:
        return json_response(400, drf_error("invalid_request", "parse_error", problem))
    query: dict[str, Any] = body["query"]
    status, answer = answer_query(query)
    if body.get("refresh") in _ASYNC_REFRESH or body.get("async") is True:
        query_id = body.get("client_query_id") or uuid.uuid4().hex  # PostHog's choice too
        started = queries.start(team_id, polls, status, answer, query_id)
        return json_response(202, {"cache_key": _cache_key(query), "query_status": started})
    if status == 200 and request.headers.get("x-posthog-client") == "mcp":
        answer = {**answer, "formatted_results": formatted_results(query, answer)}
    return json_response(status, answer)


def answer_query(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and body of a blocking run of a valid `query` (what the charts' text quotes)."""
    kind, now = query["kind"], datetime.now(UTC)
    if kind == "HogQLQuery":
        try:
            select = read_select(query["query"])
        except HogQLError as error:
            return 400, drf_error("validation_error", error.code, error.message)
        return 200, _hogql(query, select, now)
    if kind == "TrendsQuery":
        return 200, _envelope(query, trends_results(query, now), now)
    if kind == "FunnelsQuery":
        return 200, _envelope(query, _funnel(query), now)
    return 200, _envelope(query, [], now)


@dataclass
class _Job:
    status: dict[str, Any]
    polls_left: int
    response: dict[str, Any] | None
    error: str | None


@dataclass
class AsyncQueries:
    """The queries computing "in the background", by id (PostHog keeps them in Redis)."""

    jobs: dict[str, _Job] = field(default_factory=dict)

    def start(
        self, team_id: int, polls: int, status: int, answer: dict[str, Any], query_id: str
    ) -> dict[str, Any]:
        """Start one that ends as `status` and `answer`, after `polls` reads; its first status."""
        first = {
            "complete": False,
            "end_time": None,
            "error": False,
            "error_message": None,
            "expiration_time": None,
            "id": query_id,
            "query_async": True,
            "query_progress": None,
            "results": None,
            "start_time": drf_time(datetime.now(UTC)),
            "task_id": None,
            "team_id": team_id,
        }
        if status == 200:
            self.jobs[query_id] = _Job(first, polls, answer, None)
        else:  # what a blocking run refuses at once, a background run reports when it fails
            self.jobs[query_id] = _Job(first, polls, None, str(answer.get("detail")))
        return dict(first)

    def read(self, team_id: int, query_id: str) -> Response:
        """``GET …/query/{id}/``: 202 while running, 200 when complete, 400 when it failed."""
        if PATH_KIND.fullmatch(query_id):  # ``query/{Kind}/`` is PostHog's POST-only route
            return _method_not_allowed("GET")
        job = self.jobs.get(query_id)
        if job is None or job.status["team_id"] != team_id:
            return json_response(404, drf_error("invalid_request", "not_found", "Query not found."))
        if job.polls_left > 0:
            job.polls_left -= 1
            return json_response(202, {"query_status": dict(job.status)})
        done = {**job.status, "complete": True, "end_time": drf_time(datetime.now(UTC))}
        if job.error is not None:
            done.update(error=True, error_message=job.error)
            return json_response(400, {"query_status": done})
        done["results"] = job.response
        return json_response(200, {"query_status": done})

    def cancel(self, team_id: int, query_id: str) -> Response:
        """``DELETE …/query/{id}/``: forget the query (a later read is a 404)."""
        if PATH_KIND.fullmatch(query_id):
            return _method_not_allowed("DELETE")
        job = self.jobs.get(query_id)
        if job is not None and job.status["team_id"] == team_id:
            del self.jobs[query_id]
        return json_response(200, {"message": "Query cancelled."})


def _cache_key(query: dict[str, Any]) -> str:
    return f"cache_{zlib.crc32(json.dumps(query, sort_keys=True).encode()):08x}"


def _envelope(query: dict[str, Any], results: Any, now: datetime) -> dict[str, Any]:
    """``CachedTrendsQueryResponse``'s keys (and other insight kinds'), every one present."""
    start, end = resolved_range(query, now)
    return {
        "cache_key": _cache_key(query),
        "error": "",
        "hasMore": False,
        "hogql": f"SELECT ... -- {query['kind']}",
        "is_cached": False,
        "last_refresh": drf_time(now),
        "modifiers": {},
        "next_allowed_client_refresh": drf_time(now + timedelta(minutes=3)),
        "query_status": None,
        "resolved_date_range": {"date_from": iso(start), "date_to": iso(end)},
        "results": results,
        "timezone": "UTC",
        "timings": [{"k": "./query", "t": 0.01}],
    }


def _funnel(query: dict[str, Any]) -> list[dict[str, Any]]:
    rng = Numbers(query)
    count = rng.randint(500, 5000)
    steps = []
    for order, series in enumerate(s for s in query["series"] if isinstance(s, dict)):
        name = str(series.get("event") or series.get("name") or f"Step {order + 1}")
        steps.append(
            {
                "action_id": name,
                "name": name,
                "custom_name": None,
                "order": order,
                "count": count,
                "type": "events",
            }
        )
        count = int(count * rng.uniform(0.3, 0.8))
    return steps


def _hogql(query: dict[str, Any], select: Select, now: datetime) -> dict[str, Any]:
    """``CachedHogQLQueryResponse``: every key present, nulls kept (reference 15.3)."""
    limit = min(select.limit, _HOGQL_MAX_LIMIT) if select.limit is not None else _HOGQL_LIMIT
    rng = Numbers(query)
    count = 1 if select.table is None else min(limit, len(_EVENTS))
    rows = [[_value(column, index, rng) for column in select.columns] for index in range(count)]
    if select.order is not None:  # ORDER BY a selected column: the rows come sorted by it
        column, descending = select.order
        rows.sort(key=lambda row: row[column], reverse=descending)
    text = select.text.rstrip().rstrip(";")
    body = {
        "cache_key": _cache_key(query),
        "clickhouse": "SELECT ...",
        "columns": select.columns,
        "error": None,
        "explain": None,
        "hasMore": False,
        "hogql": text if select.limit is not None else f"{text} LIMIT {_HOGQL_LIMIT}",
        "is_cached": False,
        "last_refresh": drf_time(now),
        "limit": limit,
        "metadata": None,
        "modifiers": {},
        "next_allowed_client_refresh": drf_time(now + timedelta(minutes=3)),
        "offset": 0,
        "query": query["query"],
        "query_status": None,
        "results": rows,
        "timezone": "UTC",
        "timings": [{"k": "./query", "t": 0.01}],
        "types": [[column, _type(column)] for column in select.columns],
    }
    return body


def _numeric(column: str) -> bool:
    return bool(re.search(r"(?i)(count|sum|avg|uniq|total|number)", column))


def _type(column: str) -> str:
    if re.fullmatch(r"\d+", column):
        return "UInt8" if int(column) < 256 else "UInt64"
    return "UInt64" if _numeric(column) else "String"


def _value(column: str, index: int, rng: Numbers) -> Any:
    if re.fullmatch(r"\d+", column):
        return int(column)  # a constant selects itself
    literal = re.fullmatch(r"'(.*)'", column)
    if literal:
        return literal[1]
    if _numeric(column):
        return rng.randint(1, 5000)
    if "event" in column.lower():
        return _EVENTS[index % len(_EVENTS)]
    return f"{column} {index + 1}"
