"""The numbers behind PostHog AI's charts: `query`, `Reply.charts`, `chart_data` on the emulator."""

from __future__ import annotations

import pytest

from max_tools import (
    AsyncMaxClient,
    BadRequestError,
    InvalidArgumentsError,
    PermissionDeniedError,
)
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


async def test_a_charts_numbers_come_from_the_query_api(client: AsyncMaxClient) -> None:
    reply = await client.ask("Show me a trend of signups")
    [chart] = reply.charts
    assert (chart.index, chart.kind) == (1, "TrendsQuery")

    result = await client.query(chart.query)

    [series] = result.series or []
    assert series.label == "$pageview"
    assert len(series.data) == len(series.days) == len(series.labels) == 8  # -7d, daily
    assert series.count == sum(series.data)
    assert (await client.query(chart.query)).series == result.series  # deterministic


async def test_chart_data_works_from_the_conversation_id_alone(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    reply = await client.ask("Show me a trend of signups by country")
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as other:
        chart, result = await other.chart_data(reply.conversation_id, 1)

    assert chart.query == reply.charts[0].query
    assert [s.breakdown_value for s in result.series or []] == [
        "United States",
        "Germany",
        "United Kingdom",
    ]
    with pytest.raises(InvalidArgumentsError, match="chart must be from 1 to 1"):
        await client.chart_data(reply.conversation_id, 2)


async def test_hogql_gives_columns_types_and_rows(client: AsyncMaxClient) -> None:
    result = await client.query(
        {"kind": "HogQLQuery", "query": "select event, count() as total from events group by event"}
    )

    assert result.columns == ["event", "total"]
    assert result.types == ["String", "UInt64"]
    assert result.rows and all(isinstance(row[1], int) for row in result.rows)
    assert result.rows[0][0] == "$pageview"


async def test_query_errors_map_into_the_tree(client: AsyncMaxClient) -> None:
    with pytest.raises(InvalidArgumentsError, match="query must be a query node"):
        await client.query({"query": "select 1"})
    with pytest.raises(BadRequestError, match="Field required"):
        await client.query({"kind": "TrendsQuery"})
    with pytest.raises(BadRequestError, match="Syntax error"):
        await client.query({"kind": "HogQLQuery", "query": "drop table events"})


@pytest.mark.parametrize("emulator_options", [{"scoped_keys": True}])
async def test_a_key_without_query_read_is_told_which_scope_is_missing(
    client: AsyncMaxClient,
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await client.query({"kind": "HogQLQuery", "query": "select 1"})

    assert "The key lacks the query:read scope" in str(caught.value)
