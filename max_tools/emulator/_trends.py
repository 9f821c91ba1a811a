"""A ``TrendsQuery``'s made-up results, in the shape of PostHog's trends runner (reference 15.3).

The numbers depend only on the query (seeded by its JSON): the same query, the same chart, in
any process. One result per series x breakdown value x compare period, every key PostHog's
``TrendsQueryRunner`` writes: ``data, labels, days, count, label, filter, action``; a breakdown
adds ``breakdown_value``, a comparison ``compare`` and ``compare_label``, a total-value display
``aggregated_value`` (with ``data`` and ``days`` empty and no ``labels``).
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Numbers", "iso", "resolved_range", "trends_results"]

TOTAL_DISPLAYS = frozenset(
    {"BoldNumber", "ActionsPie", "ActionsBarValue", "ActionsTable", "WorldMap"}
)
"""Displays that show one number per series (PostHog's ``TrendsDisplay.is_total_value``)."""
CUMULATIVE = "ActionsLineGraphCumulative"
_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_STEP["week"] = timedelta(weeks=1)
_RANGE = re.compile(r"^-(\d+)([hdwmy])$")
_MAX_POINTS = 400
BREAKDOWN_VALUES = {
    "$geoip_country_name": ["United States", "Germany", "United Kingdom"],
    "$browser": ["Chrome", "Safari", "Firefox"],
    "$device_type": ["Desktop", "Mobile", "Tablet"],
}
_OTHER_VALUES = ["Value A", "Value B", "Value C"]


class Numbers:
    """Made-up numbers that depend only on the query: the same query, the same chart."""

    def __init__(self, query: dict[str, Any]) -> None:
        self._seed = zlib.crc32(json.dumps(query, sort_keys=True).encode())
        self._drawn = 0

    def randint(self, low: int, high: int) -> int:
        self._drawn += 1
        return low + zlib.crc32(f"{self._seed}:{self._drawn}".encode()) % (high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.randint(0, 10_000) / 10_000


def iso(moment: datetime) -> str:
    """A datetime as DRF's JSON encoder writes it: ISO 8601, ``Z`` for UTC."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _table(query: dict[str, Any], key: str) -> dict[str, Any]:
    value = query.get(key)
    return value if isinstance(value, dict) else {}


def _interval(query: dict[str, Any]) -> str:
    interval = query.get("interval")
    return interval if interval in ("minute", "hour", "day", "week", "month") else "day"


def resolved_range(query: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The date range PostHog resolves: whole days (whole hours for hour/minute intervals)."""
    matched = _RANGE.match(str(_table(query, "dateRange").get("date_from") or "-7d"))
    amount, unit = (int(matched[1]), matched[2]) if matched else (7, "d")
    span = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}.get(
        unit, timedelta(days=30 if unit == "m" else 365)
    )
    if _interval(query) in ("hour", "minute"):
        end = now.replace(minute=0, second=0, microsecond=0)
        return end - span * amount, end + timedelta(hours=1, microseconds=-1)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - span * amount, today + timedelta(days=1, microseconds=-1)


def _points(query: dict[str, Any], now: datetime) -> list[datetime]:
    interval = _interval(query)
    start, end = resolved_range(query, now)
    if interval == "month":
        months = max(1, round((end - start).days / 30))
        return [start + timedelta(days=30 * i) for i in range(months + 1)]
    step = _STEP[interval]
    points = [start + step * i for i in range(int((end - start) / step) + 1)]
    return points[-_MAX_POINTS:]


def _label(moment: datetime, interval: str) -> str:
    """PostHog's ``format_label_date`` [I for the exact form]: ``2-Jun-2025``, with the time."""
    text = f"{moment.day}-{moment.strftime('%b-%Y')}"
    return f"{text} {moment.strftime('%H:%M')}" if interval in ("hour", "minute") else text


def _legacy_filter(query: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    """PostHog's ``_query_to_filter``: the query as a legacy insight filter, nulls left out."""
    legacy: dict[str, Any] = {
        "insight": "TRENDS",
        "properties": query.get("properties") or [],
        "filter_test_accounts": bool(query.get("filterTestAccounts", False)),
        "date_to": iso(end),
        "date_from": iso(start),
        "entity_type": "events",
        "sampling_factor": query.get("samplingFactor"),
        "aggregation_group_type_index": query.get("aggregation_group_type_index"),
        "interval": _interval(query),
    }
    legacy.update(_table(query, "trendsFilter"))
    legacy.update(_table(query, "breakdownFilter"))
    return {key: value for key, value in legacy.items() if value is not None}


def trends_results(query: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The ``results`` of a ``TrendsQuery`` (each series once per breakdown value and period)."""
    rng = Numbers(query)
    interval = _interval(query)
    points = _points(query, now)
    start, end = resolved_range(query, now)
    fine = interval in ("hour", "minute")
    day_format = "%Y-%m-%d %H:%M:%S" if fine else "%Y-%m-%d"
    labels = [_label(p, interval) for p in points]
    # The previous period's series hold its own dates: the range moved back by its length.
    back = (points[-1] - points[0]) + (points[1] - points[0] if len(points) > 1 else _STEP["day"])
    all_values = [iso(p) for p in points]
    legacy = _legacy_filter(query, start, end)
    breakdown = _table(query, "breakdownFilter").get("breakdown")
    values: list[Any] = BREAKDOWN_VALUES.get(str(breakdown), _OTHER_VALUES) if breakdown else [None]
    display = _table(query, "trendsFilter").get("display")
    compare = bool(_table(query, "compareFilter").get("compare"))
    periods: list[str | None] = ["current", "previous"] if compare else [None]
    series_list = [s for s in query["series"] if isinstance(s, dict)]
    results = []
    for period in periods:
        shift = back if period == "previous" else timedelta(0)
        days = [(p - shift).strftime(day_format) for p in points]
        for order, series in enumerate(series_list):
            event = (
                series.get("event") if series.get("kind", "EventsNode") == "EventsNode" else None
            )
            name = str(event or series.get("name") or series.get("table_name") or "All events")
            action = {
                "days": all_values,
                "id": event if series.get("kind", "EventsNode") == "EventsNode" else name,
                "type": "events",
                "order": order,
                "name": name,
                "custom_name": series.get("custom_name"),
                "math": series.get("math", "total"),
                "math_property": series.get("math_property"),
                "math_hogql": series.get("math_hogql"),
                "math_group_type_index": series.get("math_group_type_index"),
                "properties": {},
            }
            for value in values:
                base = rng.randint(40, 400)
                data = [max(0, base + rng.randint(-base // 3, base // 3)) for _ in points]
                item: dict[str, Any]
                if display in TOTAL_DISPLAYS:
                    item = {"data": [], "days": [], "count": 0, "aggregated_value": sum(data)}
                else:
                    if display == CUMULATIVE:
                        data = [sum(data[: i + 1]) for i in range(len(data))]
                    count = data[-1] if display == CUMULATIVE and data else float(sum(data))
                    item = {"data": data, "labels": labels, "days": days, "count": count}
                item.update(label=name, filter=legacy, action=action)
                if period is not None:
                    item.update(compare=True, compare_label=period)
                    if "labels" in item:
                        item["labels"] = [f"{interval} {i}" for i in range(len(points))]
                if value is not None:
                    several = len(series_list) > 1
                    item["label"] = f"{name} - {value}" if several else str(value)
                    item["breakdown_value"] = value
                results.append(item)
    return results
