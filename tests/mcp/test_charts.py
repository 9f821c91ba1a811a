"""max_get_chart: the numbers behind a chart, through the official MCP client."""

from __future__ import annotations

import base64

from mcp import Client
from mcp_types import ImageContent

from max_tools import AsyncMaxClient
from tests.mcp.results import data, text


async def test_the_table_holds_the_query_apis_numbers(
    mcp: Client, max_client: AsyncMaxClient
) -> None:
    asked = await mcp.call_tool("max_chat", {"message": "Plot weekly signups by country"})
    cid = data(asked)["conversation_id"]
    assert data(asked)["charts"] == [1] and "chart=1)" in text(asked)

    table = await mcp.call_tool("max_get_chart", {"conversation_id": cid, "chart": 1})

    _, truth = await max_client.chart_data(cid, 1)
    series = truth.series or []
    assert [s["data"] for s in data(table)["series"]] == [s.data for s in series]
    lines = text(table).splitlines()
    header = next(line for line in lines if line.startswith("| day"))
    assert header == "| day | United States | Germany | United Kingdom |"
    first = lines[lines.index(header) + 2]
    assert (
        first
        == f"| {series[0].days[0]} | " + " | ".join(str(int(s.data[0])) for s in series) + " |"
    )
    assert len(text(table)) <= 2_000


async def test_a_chart_that_is_not_there_is_a_clear_error(mcp: Client) -> None:
    asked = data(await mcp.call_tool("max_chat", {"message": "How many signups?"}))

    missing = await mcp.call_tool("max_get_chart", {"conversation_id": asked["conversation_id"]})

    assert missing.is_error and "This conversation has no charts" in text(missing)


async def test_the_chart_comes_as_a_png_and_a_vega_lite_spec(mcp: Client) -> None:
    asked = data(await mcp.call_tool("max_chat", {"message": "Plot weekly signups"}))

    result = await mcp.call_tool("max_get_chart", {"conversation_id": asked["conversation_id"]})

    [_, picture] = result.content
    assert isinstance(picture, ImageContent) and picture.mime_type == "image/png"
    png = base64.b64decode(picture.data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) <= 100_000
    spec = data(result)["vega_lite"]
    assert spec["mark"]["type"] == "line" and spec["data"]["values"]


async def test_a_follow_ups_charts_are_numbered_as_max_get_chart_counts_them(mcp: Client) -> None:
    first = data(await mcp.call_tool("max_chat", {"message": "Plot weekly signups by country"}))
    cid = first["conversation_id"]
    follow_up = await mcp.call_tool(
        "max_chat", {"message": "Plot pageviews by browser", "conversation_id": cid}
    )

    assert data(follow_up)["charts"] == [2] and "chart=2)" in text(follow_up)
    second = await mcp.call_tool("max_get_chart", {"conversation_id": cid, "chart": 2})
    assert 'for "Plot pageviews by browser"' in text(second)  # the follow-up's chart, not the first


async def test_a_chart_compared_with_the_period_before_keeps_both_periods_apart(
    mcp: Client, max_client: AsyncMaxClient
) -> None:
    asked = await mcp.call_tool(
        "max_chat", {"message": "Plot pageviews compared to the previous period"}
    )
    cid = data(asked)["conversation_id"]

    table = await mcp.call_tool("max_get_chart", {"conversation_id": cid, "chart": 1})

    _, truth = await max_client.chart_data(cid, 1)
    current, previous = truth.series or []
    lines = text(table).splitlines()
    header = next(line for line in lines if line.startswith("| day"))
    assert header == "| day | $pageview (current) | $pageview (previous) |"
    assert lines[-1] == f"| total | {current.count:.0f} | {previous.count:.0f} |"
    assert [s["compare_label"] for s in data(table)["series"]] == ["current", "previous"]
    legend = {v["series"] for v in data(table)["vega_lite"]["data"]["values"]}
    assert legend == {"$pageview (current)", "$pageview (previous)"}
