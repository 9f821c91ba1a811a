"""A chart's numbers for an agent: a compact Markdown table, and the data as structured content.

Trends become one row per point (its day) and one column per series; HogQL results their own
columns. Both are capped, with a count of what was left out, so a 3-series, 30-point trend fits
in well under 2,000 characters.
"""

from __future__ import annotations

from typing import Any

from max_tools._messages import (
    ArtifactMessage,
    Message,
    MultiVisualizationMessage,
    VisualizationMessage,
)
from max_tools._query import Chart, QueryResult, Series
from max_tools.agent._results import Result, one_line

__all__ = ["ChartResult", "render_chart", "visualization_summary"]

MAX_COLUMNS = 6
MAX_ROWS = 40


class ChartResult(Result):
    """The data behind one chart of a conversation."""

    conversation_id: str
    chart: int
    kind: str
    title: str | None = None
    series: list[dict[str, Any]] | None = None
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    omitted_rows: int | None = None
    omitted_columns: int | None = None
    vega_lite: dict[str, Any] | None = None
    """The chart as a Vega-Lite spec (hosts, notebooks and browsers draw it)."""
    note: str = "numbers computed by PostHog's query API for this chart's query"


def render_chart(
    conversation_id: str, chart: Chart, result: QueryResult
) -> tuple[str, ChartResult]:
    """Text (a Markdown table) and structured data for one chart."""
    data = ChartResult(
        conversation_id=conversation_id, chart=chart.index, kind=chart.kind, title=chart.title
    )
    head = f"conversation_id: {conversation_id}\nchart {chart.index}: {chart.kind}"
    if chart.title:
        head += f' for "{" ".join(chart.title.split())[:120]}"'
    if result.series is not None:
        data.series = [
            s.model_dump(
                include={
                    "label",
                    "breakdown_value",
                    "compare_label",
                    "days",
                    "data",
                    "count",
                    "aggregated_value",
                },
                exclude_none=True,
            )
            for s in result.series
        ]
        header, rows = _trends_table(result)
    elif result.columns is not None and result.rows is not None:
        data.columns, data.rows = result.columns, result.rows
        header, rows = result.columns, result.rows
    else:
        results = result.raw.get("results")
        return (
            f"{head}\nNo table for this kind; the raw results are in structured content.",
            data.model_copy(
                update={"rows": [[item] for item in results] if isinstance(results, list) else None}
            ),
        )
    table, omitted_rows, omitted_columns = _table(header, rows)
    data.omitted_rows = omitted_rows or None
    data.omitted_columns = omitted_columns or None
    lines = [head, table]
    if omitted_rows or omitted_columns:
        lines.append(
            f"({omitted_rows} more rows and {omitted_columns} more columns are in structured "
            "content)"
        )
    return "\n".join(lines), data


def _trends_table(result: QueryResult) -> tuple[list[str], list[list[Any]]]:
    series = result.series or []
    if series and all(s.aggregated_value is not None for s in series):
        return ["series", "total"], [[_label(s), s.aggregated_value] for s in series]
    days = max((s.days for s in series), key=len, default=[])
    header = ["day", *(_label(s) for s in series)]
    rows: list[list[Any]] = [
        [day, *(s.data[i] if i < len(s.data) else "" for s in series)] for i, day in enumerate(days)
    ]
    rows.append(["total", *(s.count for s in series)])
    return header, rows


def _label(series: Series) -> str:
    return series.name


def _table(header: list[str], rows: list[list[Any]]) -> tuple[str, int, int]:
    columns = header[:MAX_COLUMNS]
    kept = rows[:MAX_ROWS]
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines.extend("| " + " | ".join(_cell(v) for v in row[: len(columns)]) + " |" for row in kept)
    return "\n".join(lines), len(rows) - len(kept), len(header) - len(columns)


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("|", "\\|").replace("\n", " ")[:60]


def visualization_summary(message: Message) -> str:
    """One line describing a visualization message."""
    if isinstance(message, VisualizationMessage):
        answer = message.answer if isinstance(message.answer, dict) else {}
        kind = str(answer.get("kind") or "Insight")
        series = answer.get("series")
        series = series if isinstance(series, list) else []
        events = [str(s.get("event") or s.get("name")) for s in series if isinstance(s, dict)]
        parts = [kind]
        if events:
            parts.append("of " + ", ".join(e for e in events if e != "None"))
        date_range = answer.get("dateRange")
        if isinstance(date_range, dict) and date_range.get("date_from"):
            parts.append(f"from {date_range['date_from']}")
        about = message.query or message.plan
        return " ".join(parts) + (f' for "{one_line(about, 120)}"' if about else "")
    if isinstance(message, MultiVisualizationMessage):
        return f"{len(message.visualizations)} visualizations" + (
            f": {one_line(message.commentary, 120)}" if message.commentary else ""
        )
    if isinstance(message, ArtifactMessage):
        return f"Saved artifact {message.artifact_id or ''}".strip()
    return message.type
