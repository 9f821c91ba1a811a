"""Chart pictures: the Vega-Lite spec from a chart's data, and PNG/SVG through vl-convert."""

from __future__ import annotations

import struct

from max_tools import AsyncMaxClient, Chart
from max_tools.charts import to_png, to_svg, vega_lite


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    return width, height


async def test_a_trend_becomes_a_line_chart_of_its_numbers(client: AsyncMaxClient) -> None:
    reply = await client.ask("Show me a trend of signups by country")
    chart, result = await client.chart_data(reply.conversation_id, 1)

    spec = vega_lite(chart, result, width=600, height=300)

    assert spec["mark"]["type"] == "line"
    values = spec["data"]["values"]
    assert len(values) == 3 * 8  # three breakdown values, eight days
    assert {v["series"] for v in values} == {"United States", "Germany", "United Kingdom"}
    first = result.series[0] if result.series else None
    assert first is not None and values[0]["value"] == first.data[0]
    png = to_png(spec)
    width, height = png_size(png)
    assert width > 600 and height > 300  # the plot plus its axes and legend
    assert len(png) <= 100_000
    assert to_svg(spec).lstrip().startswith("<svg")


async def test_funnels_and_hogql_get_bars(client: AsyncMaxClient) -> None:
    funnel = {"kind": "FunnelsQuery", "series": [{"event": "$pageview"}, {"event": "signed_up"}]}
    result = await client.query(funnel)
    spec = vega_lite(Chart(index=1, kind="FunnelsQuery", query=funnel), result)
    assert spec["mark"] == "bar" and [v["step"] for v in spec["data"]["values"]] == [
        "1. $pageview",
        "2. signed_up",
    ]
    hogql = {"kind": "HogQLQuery", "query": "select event, count() from events group by event"}
    table = vega_lite(Chart(index=1, kind="HogQLQuery", query=hogql), await client.query(hogql))
    assert table["encoding"]["x"]["field"] == "count()"
