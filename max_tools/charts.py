"""Pictures of PostHog AI's charts: a Vega-Lite spec from a chart's data, and PNG or SVG from it.

`vega_lite(chart, result)` needs nothing beyond the core: the spec is plain JSON that notebooks
(altair), browsers and MCP hosts draw. `to_png` and `to_svg` render it offline through
`vl-convert-python`, in the ``charts`` extra (``pip install 'max-tools[charts]'``).

Trends become a line chart (a bar chart for bar displays, one bar per series for total-value
displays), funnels horizontal bars, HogQL results bars of their first number by their first
text column when they have both, else a table of text marks.
"""

from __future__ import annotations

from typing import Any

from max_tools._errors import ConfigurationError
from max_tools._query import Chart, QueryResult

__all__ = ["to_png", "to_svg", "vega_lite"]

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_BAR_DISPLAYS = {"ActionsBar", "ActionsStackedBar", "ActionsUnstackedBar"}
_TOTAL_DISPLAYS = {"BoldNumber", "ActionsPie", "ActionsBarValue", "ActionsTable", "WorldMap"}


def vega_lite(
    chart: Chart, result: QueryResult, *, width: int = 640, height: int = 320
) -> dict[str, Any]:
    """A Vega-Lite spec drawing `result`, the data of `chart`."""
    base: dict[str, Any] = {
        "$schema": _SCHEMA,
        "width": width,
        "height": height,
        # Horizontal grid lines only: the vertical ones add little and double the PNG's size.
        "config": {"axisX": {"grid": False}},
    }
    if chart.title:
        base["title"] = " ".join(chart.title.split())[:100]
    if result.series is not None:
        return {**base, **_trends(chart, result)}
    if chart.kind == "FunnelsQuery":
        found = result.raw.get("results")
        steps: list[Any] = found if isinstance(found, list) else []
        values = [
            {"step": f"{s.get('order', i) + 1}. {s.get('name')}", "count": s.get("count", 0)}
            for i, s in enumerate(steps)
            if isinstance(s, dict)
        ]
        return {
            **base,
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "y": {"field": "step", "type": "nominal", "sort": None, "title": None},
                "x": {"field": "count", "type": "quantitative"},
            },
        }
    return {**base, **_table(result)}


def _trends(chart: Chart, result: QueryResult) -> dict[str, Any]:
    display = (chart.query.get("trendsFilter") or {}).get("display")
    series = result.series or []
    if display in _TOTAL_DISPLAYS or (
        series and all(s.aggregated_value is not None for s in series)
    ):
        values = [{"series": s.name, "value": s.aggregated_value or s.count or 0} for s in series]
        return {
            "data": {"values": values},
            "mark": "bar",
            "encoding": {
                "x": {"field": "series", "type": "nominal", "title": None},
                "y": {"field": "value", "type": "quantitative"},
                "color": {"field": "series", "type": "nominal", "legend": None},
            },
        }
    values = [
        {"day": day, "value": point, "series": s.name}
        for s in series
        for day, point in zip(s.days, s.data, strict=False)
    ]
    bar = display in _BAR_DISPLAYS
    return {
        "data": {"values": values},
        "mark": {"type": "bar"} if bar else {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "day", "type": "ordinal" if bar else "temporal", "title": None},
            "y": {"field": "value", "type": "quantitative", "title": None},
            "color": {"field": "series", "type": "nominal", "title": None},
        },
    }


def _table(result: QueryResult) -> dict[str, Any]:
    columns, rows = result.columns or [], result.rows or []
    records = [dict(zip(columns, row, strict=False)) for row in rows]
    numeric = next(
        (c for c in columns if records and all(isinstance(r.get(c), int | float) for r in records)),
        None,
    )
    label = next((c for c in columns if c != numeric), None)
    if numeric is not None and label is not None:
        return {
            "data": {"values": records},
            "mark": "bar",
            "encoding": {
                "y": {"field": label, "type": "nominal", "sort": None},
                "x": {"field": numeric, "type": "quantitative"},
            },
        }
    cells = [
        {"row": i, "column": c, "text": str(r.get(c))}
        for i, r in enumerate(records)
        for c in columns
    ]
    return {
        "data": {"values": cells},
        "mark": {"type": "text", "align": "left"},
        "encoding": {
            "x": {"field": "column", "type": "nominal", "axis": {"orient": "top"}, "title": None},
            "y": {"field": "row", "type": "ordinal", "axis": None},
            "text": {"field": "text"},
        },
    }


def _converter() -> Any:
    try:
        import vl_convert
    except ImportError:
        raise ConfigurationError(
            "Rendering charts needs the charts extra: pip install 'max-tools[charts]'."
        ) from None
    return vl_convert


def to_png(spec: dict[str, Any], *, scale: float = 1.0) -> bytes:
    """The spec drawn as PNG (offline, through vl-convert-python)."""
    png: bytes = _converter().vegalite_to_png(spec, scale=scale)
    return png


def to_svg(spec: dict[str, Any]) -> str:
    """The spec drawn as SVG (offline, through vl-convert-python)."""
    svg: str = _converter().vegalite_to_svg(spec)
    return svg
