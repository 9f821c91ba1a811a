"""The scripted agent's charts: the query an ``ai/viz`` holds, and the words that go with it.

PostHog AI's text about a chart quotes the chart's numbers. Here both come from one place: the
answer is written from `answer_query`, the very function the query endpoint answers with, so
the total the text states is the series ``count`` a client gets from ``POST …/query/`` for the
visualization's query (the numbers depend only on the query, so any later run agrees).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from max_tools.emulator._query import answer_query

__all__ = ["SQL_WORDS", "chart_answer", "chart_query", "visualization"]

SQL_WORDS = re.compile(r"\b(sql|hogql|top events)\b", re.I)
"""Questions answered with a HogQL table rather than a trends chart."""
_COMPARE = re.compile(r"\b(compared?|comparing|previous period|period before)\b", re.I)
TOP_EVENTS = "select event, count() as total from events group by event order by total desc"
_BREAKDOWNS = (
    ("countr", "$geoip_country_name"),
    ("browser", "$browser"),
    ("device", "$device_type"),
)


def chart_query(message: str) -> dict[str, Any]:
    """The query behind the chart the agent draws for `message`."""
    if SQL_WORDS.search(message):
        return {"kind": "HogQLQuery", "query": TOP_EVENTS}
    query: dict[str, Any] = {
        "dateRange": {"date_from": "-7d"},
        "interval": "day",
        "kind": "TrendsQuery",
        "series": [{"event": "$pageview", "kind": "EventsNode", "math": "total"}],
    }
    for word, prop in _BREAKDOWNS:  # "by country", "per browser", ...
        if word in message.lower():
            query["breakdownFilter"] = {"breakdown": prop, "breakdown_type": "event"}
            break
    if _COMPARE.search(message):
        query["compareFilter"] = {"compare": True}
    return query


def visualization(message: str, query: dict[str, Any]) -> dict[str, Any]:
    """The ``ai/viz`` message showing `query` (all fields, nulls kept)."""
    plan = (
        f"Top events by count, for: {message}"
        if query["kind"] == "HogQLQuery"
        else f"Trends of matching events per day over the last 7 days, for: {message}"
    )
    return {
        "answer": query,
        "id": str(uuid.uuid4()),
        "initiator": None,
        "parent_tool_call_id": None,
        "plan": plan,
        "query": message,
        "short_id": None,
        "type": "ai/viz",
    }


def chart_answer(message: str, query: dict[str, Any]) -> str:
    """The answer about a chart of `query`: every number in it is in the query's result."""
    status, result = answer_query(query)
    asked = f'Here is what I found for "{message.strip()}": '
    if status != 200:
        return f"{asked}the query behind the chart failed: {result.get('detail')}"
    if query["kind"] == "HogQLQuery":
        return asked + _table_words(result)
    return asked + _trends_words(result["results"])


def _number(value: float) -> str:
    """A number as the data holds it (2524.0 reads 2524): no separators to strip."""
    return f"{value:.0f}" if float(value).is_integer() else str(value)


def _trends_words(series: list[dict[str, Any]]) -> str:
    if not series:
        return "no events in that period."
    if any(item.get("compare_label") for item in series):  # each period its own dates
        return (
            "; ".join(f"{_name(item)} {_number(item['count'])} {_span(item)}" for item in series)
            + "."
        )
    period = _span(series[0])
    if len(series) == 1:
        [only] = series
        data, days = only["data"], only["days"]
        total = f"{_number(only['count'])} {only['label']} events {period}"
        if not data:
            return f"{total}."
        peak = max(range(len(data)), key=data.__getitem__)
        return f"{total}, peaking at {_number(data[peak])} on {days[peak]}."
    total = sum(item["count"] for item in series)
    parts = ", ".join(f"{_name(item)} {_number(item['count'])}" for item in series)
    return f"{_number(total)} events {period}: {parts}."


def _span(item: dict[str, Any]) -> str:
    days = item["days"]
    return f"from {days[0]} to {days[-1]}" if days else "in that period"


def _name(item: dict[str, Any]) -> str:
    """The series' label, and its period when the chart compares two."""
    period = item.get("compare_label")
    return f"{item['label']} ({period} period)" if period else str(item["label"])


def _table_words(result: dict[str, Any]) -> str:
    rows, columns = result["results"], result["columns"]
    if not rows:
        return "the query returned no rows."
    first = ", ".join(f"{column} {row}" for column, row in zip(columns, rows[0], strict=True))
    return f"{len(rows)} rows; the first is {first}."
