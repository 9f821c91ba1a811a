"""The query endpoint (reference section 15): the data behind PostHog AI's charts.

``POST /api/{environments|projects}/{id}/query/[{Kind}/]`` with ``{"query": <node>}``. Results are
made up, but deterministic for a given query (seeded by its JSON) and shaped by it: a trends
query gets one series per series and breakdown value, one point per interval in its date range;
a HogQL query gets its select list as columns; a funnel one count per step.

Asynchronous queries (``refresh`` ``async``, ``lazy_async``, ``force_async``, or the legacy
``"async": true``) answer 202 with a ``query_status``; ``GET …/query/{id}/`` answers 202 while
the query "runs" (for ``faults.query_polls`` reads, 1 by default), then 200 with the response
in ``query_status.results``, or 400 with ``error_message`` when it failed (a HogQL syntax
error, found only when it runs, as at PostHog); ``DELETE`` cancels it.
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

from max_tools.emulator._responses import json_response, read_body
from max_tools.emulator._validation import FieldError
from max_tools.emulator._wire import drf_error, drf_time

__all__ = ["AsyncQueries", "run_query"]

_BODY_KEYS = {
    "query",
    "refresh",
    "client_query_id",
    "name",
    "async",
    "filters_override",
    "variables_override",
    "limit_context",
}
_TOTAL_DISPLAYS = {"BoldNumber", "ActionsPie", "ActionsBarValue", "ActionsTable", "WorldMap"}
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_RANGE = re.compile(r"^-(\d+)([hdwmy])$")
_BREAKDOWN_VALUES = {
    "$geoip_country_name": ["United States", "Germany", "United Kingdom"],
    "$browser": ["Chrome", "Safari", "Firefox"],
    "$device_type": ["Desktop", "Mobile", "Tablet"],
}
_EVENTS = ["$pageview", "signed_up", "$autocapture", "purchase", "$pageleave"]
_HOGQL_LIMIT, _HOGQL_MAX_LIMIT = 100, 50_000
_REFRESH = {True, False, "blocking", "force_blocking", "async", "lazy_async", "force_async"}
_REFRESH |= {"async_except_on_cache_miss", "force_cache"}
_ASYNC_REFRESH = {"async", "lazy_async", "force_async"}
"""The modes that compute in the background (the emulator keeps no cache, so always 202)."""


async def run_query(
    request: Request, path_kind: str | None, *, team_id: int, queries: AsyncQueries, polls: int
) -> Response:
    """Answer one query request as PostHog's query viewset does (`polls`: see `AsyncQueries`)."""
    try:
        body = await read_body(request)
    except FieldError as error:
        return json_response(400, drf_error("invalid_request", error.code, error.detail))
    problem = _invalid(body)
    if problem is not None:
        detail = f"JSON parse error - 1 validation error for QueryRequest\n{problem}"
        return json_response(400, drf_error("invalid_request", "parse_error", detail))
    query: dict[str, Any] = body["query"]
    kind = query["kind"]
    if path_kind is not None and path_kind != kind:
        detail = f'Query kind mismatch: path kind "{path_kind}" does not match body kind "{kind}".'
        return json_response(400, drf_error("validation_error", "invalid_input", detail))
    status, answer = _answer(query)
    if body.get("refresh") in _ASYNC_REFRESH or body.get("async") is True:
        started = queries.start(team_id, polls, status, answer)
        return json_response(202, {"cache_key": _cache_key(query), "query_status": started})
    return json_response(status, answer)


def _answer(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and body of a blocking run of `query`."""
    kind = query["kind"]
    if kind == "HogQLQuery":
        return _hogql(query)
    if kind == "TrendsQuery":
        return 200, _envelope(query, _trends(query))
    if kind == "FunnelsQuery":
        return 200, _envelope(query, _funnel(query))
    return 200, _envelope(query, [])


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
        self, team_id: int, polls: int, status: int, answer: dict[str, Any]
    ) -> dict[str, Any]:
        """Start one that ends as `status` and `answer`, after `polls` reads; its first status."""
        query_id = uuid.uuid4().hex
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
        job = self.jobs.get(query_id)
        if job is not None and job.status["team_id"] == team_id:
            del self.jobs[query_id]
        return json_response(200, {"message": "Query cancelled."})


def _invalid(body: Any) -> str | None:
    """PostHog's pydantic complaint about the body (its first error), or None."""
    if not isinstance(body, dict):
        name = type(body).__name__
        return f"  Input should be a valid dictionary [type=dict_type, input_type={name}]"
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        return f"{unknown[0]}\n  Extra inputs are not permitted [type=extra_forbidden]"
    query = body.get("query")
    if not isinstance(query, dict):
        return "query\n  Field required [type=missing]"
    kind = query.get("kind")
    if not isinstance(kind, str) or not kind.endswith("Query"):
        return (
            f"query\n  Input tag {kind!r} found using 'kind' does not match any of the expected "
            "tags [type=union_tag_invalid]"
        )
    if kind == "HogQLQuery" and not isinstance(query.get("query"), str):
        return "query.HogQLQuery.query\n  Field required [type=missing]"
    if kind in ("TrendsQuery", "FunnelsQuery") and not isinstance(query.get("series"), list):
        return f"query.{kind}.series\n  Field required [type=missing]"
    refresh = body.get("refresh", "blocking")
    if not isinstance(refresh, bool | str) or refresh not in _REFRESH:
        return f"refresh\n  Input should be a valid boolean or one of {sorted(map(str, _REFRESH))}"
    return None


class _Numbers:
    """Made-up numbers that depend only on the query: the same query, the same chart."""

    def __init__(self, query: dict[str, Any]) -> None:
        self._seed = zlib.crc32(json.dumps(query, sort_keys=True).encode())
        self._drawn = 0

    def randint(self, low: int, high: int) -> int:
        self._drawn += 1
        return low + zlib.crc32(f"{self._seed}:{self._drawn}".encode()) % (high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.randint(0, 10_000) / 10_000


def _cache_key(query: dict[str, Any]) -> str:
    return f"cache_{zlib.crc32(json.dumps(query, sort_keys=True).encode()):08x}"


def _envelope(query: dict[str, Any], results: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    start, end = _range(query, now)
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
        "resolved_date_range": {"date_from": drf_time(start), "date_to": drf_time(end)},
        "results": results,
        "timezone": "UTC",
        "timings": [{"k": "./query", "t": 0.01}],
    }


def _table(query: dict[str, Any], key: str) -> dict[str, Any]:
    value = query.get(key)
    return value if isinstance(value, dict) else {}


def _range(query: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    date_range = _table(query, "dateRange")
    matched = _RANGE.match(str(date_range.get("date_from") or "-7d"))
    amount, unit = (int(matched[1]), matched[2]) if matched else (7, "d")
    span = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}.get(
        unit, timedelta(days=30 if unit == "m" else 365)
    )
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - span * amount, end


def _points(query: dict[str, Any]) -> list[datetime]:
    interval = str(query.get("interval") or "day")
    start, end = _range(query, datetime.now(UTC))
    if interval == "month":
        months = max(1, round((end - start).days / 30))
        return [end - timedelta(days=30 * (months - i)) for i in range(months + 1)]
    step = _STEP.get(interval, _STEP["day"])
    if interval != "hour":
        start = start.replace(hour=0)
        end = end.replace(hour=0)
    count = min(int((end - start) / step) + 1, 400)
    return [end - step * (count - 1 - i) for i in range(count)]


def _trends(query: dict[str, Any]) -> list[dict[str, Any]]:
    rng = _Numbers(query)
    hourly = query.get("interval") == "hour"
    points = _points(query)
    days = [p.strftime("%Y-%m-%d %H:%M:%S" if hourly else "%Y-%m-%d") for p in points]
    labels = [f"{p.day}-{p.strftime('%b-%Y')}" for p in points]
    breakdown = _table(query, "breakdownFilter").get("breakdown")
    values: list[Any] = (
        _BREAKDOWN_VALUES.get(str(breakdown), ["Value A", "Value B", "Value C"])
        if breakdown
        else [None]
    )
    display = (
        (query.get("trendsFilter") or {}).get("display")
        if isinstance(query.get("trendsFilter"), dict)
        else None
    )
    results = []
    series_list = [s for s in query["series"] if isinstance(s, dict)]
    for order, series in enumerate(series_list):
        name = str(
            series.get("custom_name") or series.get("event") or series.get("name") or "All events"
        )
        for value in values:
            base = rng.randint(40, 400)
            data = [max(0, base + rng.randint(-base // 3, base // 3)) for _ in points]
            label = (
                name
                if value is None
                else (f"{name} - {value}" if len(series_list) > 1 else str(value))
            )
            item: dict[str, Any] = {
                "label": label,
                "count": float(sum(data)),
                "action": {
                    "id": name,
                    "name": name,
                    "type": "events",
                    "order": order,
                    "math": series.get("math", "total"),
                },
            }
            if display in _TOTAL_DISPLAYS:
                item.update(aggregated_value=float(sum(data)), data=[], days=[])
            else:
                item.update(data=data, labels=labels, days=days)
            if value is not None:
                item["breakdown_value"] = value
            results.append(item)
    return results


def _funnel(query: dict[str, Any]) -> list[dict[str, Any]]:
    rng = _Numbers(query)
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


def _hogql(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    text = query["query"].strip()
    matched = re.match(
        r"(?is)^select\s+(.+?)(?:\s+from\s+\w+.*?)?(?:\s+limit\s+(\d+))?\s*;?$", text
    )
    if matched is None:
        word = (text.split() or [""])[0]
        detail = f"Syntax error at line 1, column 0: mismatched input '{word}' expecting SELECT"
        return 400, drf_error("validation_error", "invalid_input", detail)
    columns = [_column(part) for part in _split(matched[1])]
    limit = min(int(matched[2]), _HOGQL_MAX_LIMIT) if matched[2] else _HOGQL_LIMIT
    rng = _Numbers(query)
    rows = [
        [_value(column, index, rng) for column in columns]
        for index in range(min(limit, len(_EVENTS)))
    ]
    body = _envelope(query, rows)
    body.pop("resolved_date_range")  # HogQL responses have none
    body.update(
        clickhouse="SELECT ...",
        columns=columns,
        explain=None,
        hogql=f"{text}{'' if matched[2] else f' LIMIT {_HOGQL_LIMIT}'}",
        limit=limit,
        metadata=None,
        offset=0,
        query=text,
        types=[[column, "UInt64" if _numeric(column) else "String"] for column in columns],
    )
    return 200, dict(sorted(body.items()))


def _split(select: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in select:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _column(expression: str) -> str:
    alias = re.search(r"(?i)\s+as\s+(\w+)$", expression)
    return alias[1] if alias else expression


def _numeric(column: str) -> bool:
    return bool(re.search(r"(?i)(count|sum|avg|uniq|total|number)", column))


def _value(column: str, index: int, rng: _Numbers) -> Any:
    if _numeric(column):
        return rng.randint(1, 5000)
    if "event" in column.lower():
        return _EVENTS[index % len(_EVENTS)]
    return f"{column} {index + 1}"
