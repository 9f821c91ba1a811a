"""max_get_chart's MCP Apps view: the chart and its table, drawn inside hosts that support MCP Apps.

The tool links to ``ui://max-tools/chart`` (``_meta.ui.resourceUri``), an HTML page served
as ``text/html;profile=mcp-app`` through the SDK's `mcp.server.apps`. The host renders it in a
sandboxed frame and hands it the tool's result (``ui/notifications/tool-result``): the table
comes from the structured content, the picture from the result's ``_meta`` (which the spec
keeps out of the model's context), as an SVG drawn here by vl-convert. The SVG paints its text
and axes in ``currentColor`` on a transparent background, so one picture follows the host's
light or dark theme. The page loads nothing from anywhere: no CDN, no fetch. Without the
``charts`` extra, or for a host that did not negotiate MCP Apps, no SVG is drawn and the view
shows the table (and the PNG of the result's content, when there is one).
"""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import anyio
from mcp.server.apps import Apps, client_supports_apps
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from max_tools import ConfigurationError
from max_tools.charts import to_svg

__all__ = ["CHART_TOOL", "CHART_VIEW_URI", "SVG_META_KEY", "chart_view", "tool_meta", "with_svg"]

CHART_TOOL = "max_get_chart"
CHART_VIEW_URI = "ui://max-tools/chart"
SVG_META_KEY = "max-tools/chart-svg"
"""Where a tool result carries the themable SVG for the view (``_meta``: not model context)."""

_THEMABLE = {
    "background": None,
    "view": {"stroke": None},
    "axis": {
        "labelColor": "currentColor",
        "titleColor": "currentColor",
        "domainColor": "currentColor",
        "tickColor": "currentColor",
        "gridColor": "currentColor",
        "gridOpacity": 0.15,
    },
    "legend": {"labelColor": "currentColor", "titleColor": "currentColor"},
    "title": {"color": "currentColor"},
    "text": {"color": "currentColor"},
}
"""Vega-Lite config that leaves every neutral colour to the page (``currentColor``)."""


def chart_view() -> Apps:
    """The MCP Apps extension serving the chart view (pass it to the server's extensions)."""
    apps = Apps()
    apps.add_html_resource(
        CHART_VIEW_URI,
        files("mcp_server").joinpath("_chart_view.html").read_text(encoding="utf-8"),
        name="chart_view",
        title="PostHog AI chart",
        description="A chart of PostHog AI and its numbers, drawn from max_get_chart's result.",
        prefers_border=True,
    )
    return apps


def tool_meta(tool_name: str) -> dict[str, Any] | None:
    """The tool's ``_meta``: the link to the view for max_get_chart, nothing for the others."""
    return {"ui": {"resourceUri": CHART_VIEW_URI}} if tool_name == CHART_TOOL else None


def themable(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with a transparent background and its neutral colours left to the page."""
    themed = copy.deepcopy(spec)
    config = themed.setdefault("config", {})
    for key, value in _THEMABLE.items():
        if key == "background":
            themed[key] = value
        elif isinstance(value, dict):
            config[key] = {**config.get(key, {}), **value}
    return themed


async def with_svg(ctx: Context[Any], result: CallToolResult) -> CallToolResult:
    """`result` with the chart as SVG in its ``_meta``, for a host that negotiated MCP Apps."""
    spec = (result.structured_content or {}).get("vega_lite")
    if not isinstance(spec, dict) or not client_supports_apps(ctx):
        return result
    try:
        svg = await anyio.to_thread.run_sync(to_svg, themable(spec))
    except ConfigurationError:  # no charts extra: the view shows the table
        return result
    return result.model_copy(update={"meta": {**(result.meta or {}), SVG_META_KEY: svg}})
