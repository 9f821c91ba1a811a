"""The numbers behind PostHog AI's charts: `query`, `Reply.charts`, `chart_data` on the emulator."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from max_tools import (
    APIStatusError,
    APITimeoutError,
    AsyncMaxClient,
    BadRequestError,
    InternalServerError,
    InvalidArgumentsError,
    MaxClient,
    PermissionDeniedError,
    QueryResult,
)
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.fake_posthog import FakePostHog, Route, json_response


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


async def test_a_follow_ups_charts_carry_the_numbers_chart_data_counts(
    client: AsyncMaxClient,
) -> None:
    first = await client.ask("Plot weekly signups by country")
    follow_up = await client.ask("Plot pageviews by browser", conversation_id=first.conversation_id)
    waited = await client.wait(first.conversation_id)

    [chart] = follow_up.charts
    assert (first.charts[0].index, chart.index) == (1, 2)
    found, _ = await client.chart_data(first.conversation_id, chart.index)
    assert found.query == chart.query and found.message_id == chart.message_id
    assert [c.index for c in waited.charts] == [2]  # read again later: the same number


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
    with pytest.raises(InvalidArgumentsError, match="wait_s must be a number of seconds"):
        await client.query({"kind": "HogQLQuery", "query": "select 1"}, wait_s=-1)
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
    # a sign-in's token meets the same 403: the advice says how to grant the scope there too
    assert "run max-tools login in a terminal again and allow query:read" in str(caught.value)


# Queries PostHog computes in the background (reference section 15.3): 202, then status reads


@pytest.fixture
async def patient(emulator: RunningEmulator) -> AsyncIterator[tuple[AsyncMaxClient, list[float]]]:
    """A client on the emulator whose pauses between status reads are recorded, not slept."""
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    async with AsyncMaxClient(
        api_key=DEFAULT_KEY, host=emulator.url, project_id=1, sleep=pause
    ) as client:
        yield client, pauses


TRENDS = {
    "kind": "TrendsQuery",
    "series": [{"kind": "EventsNode", "event": "$pageview"}],
    "dateRange": {"date_from": "-14d"},
}


@pytest.mark.parametrize("refresh", ["async", "force_async", "lazy_async"])
async def test_an_async_query_is_followed_to_its_result(
    patient: tuple[AsyncMaxClient, list[float]], emulator: RunningEmulator, refresh: str
) -> None:
    client, pauses = patient
    emulator.set_faults(query_polls=3)

    result = await client.query(TRENDS, refresh=refresh)

    assert result.series == (await client.query(TRENDS)).series  # the same numbers, blocking
    [series] = result.series or []
    assert len(series.data) == 15
    assert len(pauses) == 4  # three reads found it running, the fourth complete
    assert pauses == sorted(pauses) and pauses[0] < 1  # soon at first, then backing off


async def test_a_failed_async_query_says_what_posthog_said(
    patient: tuple[AsyncMaxClient, list[float]],
) -> None:
    client, _ = patient

    with pytest.raises(BadRequestError, match="Syntax error at line 1") as caught:
        await client.query({"kind": "HogQLQuery", "query": "drop table events"}, refresh="async")

    assert caught.value.status_code == 400


async def test_an_async_query_that_outlasts_the_budget_is_a_clear_timeout(
    patient: tuple[AsyncMaxClient, list[float]], emulator: RunningEmulator
) -> None:
    client, pauses = patient
    emulator.set_faults(query_polls=1_000)

    with pytest.raises(APITimeoutError, match=r"still computing it after 5 s \(query id \w+\)"):
        await client.query(TRENDS, refresh="force_async", wait_s=5)

    assert sum(pauses) == pytest.approx(5)  # the budget, spent in pauses that back off
    assert max(pauses) == 2


async def test_the_sync_client_follows_an_async_query_too(emulator: RunningEmulator) -> None:
    def run() -> QueryResult:
        with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
            return client.query(
                {"kind": "HogQLQuery", "query": "select event, count() from events group by event"},
                refresh="force_async",
            )

    result = await anyio.to_thread.run_sync(run)  # the emulator serves on this event loop

    assert result.columns == ["event", "count()"] and result.rows


def status_body(complete: bool, **fields: Any) -> dict[str, Any]:
    """PostHog's `QueryStatusResponse`: every field present, nulls kept."""
    status = {
        "complete": complete,
        "end_time": None,
        "error": False,
        "error_message": None,
        "expiration_time": None,
        "id": "0193f0c2a1b27c3d9e8f",
        "query_async": True,
        "query_progress": None,
        "results": None,
        "start_time": "2025-06-02T09:14:03.512345Z",
        "task_id": None,
        "team_id": 2,
    }
    return {"query_status": {**status, **fields}}


def on_query(posthog: FakePostHog, method: str, path: str, *answers: Any) -> None:
    pattern = re.compile(re.escape(f"/api/environments/2/query/{path}") + "$")
    posthog.routes.append(Route(method, pattern, list(answers)))


async def test_at_the_http_edge_a_202_is_read_until_complete(posthog: FakePostHog) -> None:
    hogql = {"kind": "HogQLQuery", "query": "select 1 as one"}
    done = {"columns": ["one"], "types": [["one", "UInt8"]], "results": [[1]], "hasMore": False}
    on_query(posthog, "POST", "", json_response(202, {"cache_key": "c", **status_body(False)}))
    on_query(
        posthog,
        "GET",
        "0193f0c2a1b27c3d9e8f/",
        json_response(202, status_body(False)),
        json_response(503, {"detail": "busy"}),  # a status read is safe to repeat
        json_response(200, status_body(True, results=done)),
    )
    async with posthog.client() as client:
        result = await client.query(hogql, refresh="force_async")

    assert (result.columns, result.rows) == (["one"], [[1]])
    sent = [(r.method, r.url.path) for r in posthog.requests]
    assert (
        sent
        == [("POST", "/api/environments/2/query/")]
        + [("GET", "/api/environments/2/query/0193f0c2a1b27c3d9e8f/")] * 3
    )
    assert json.loads(posthog.requests[0].content)["refresh"] == "force_async"


@pytest.mark.parametrize(
    ("status", "fields", "error", "says"),
    [
        (400, {"error_message": "Unknown table `evnts`."}, BadRequestError, "Unknown table"),
        (500, {}, InternalServerError, ": 500."),
    ],
)
async def test_at_the_http_edge_a_failed_async_query_maps_into_the_tree(
    posthog: FakePostHog,
    status: int,
    fields: dict[str, Any],
    error: type[APIStatusError],
    says: str,
) -> None:
    on_query(posthog, "POST", "", json_response(202, {"cache_key": "c", **status_body(False)}))
    failed = status_body(True, error=True, **fields)
    on_query(posthog, "GET", "0193f0c2a1b27c3d9e8f/", json_response(status, failed))
    async with posthog.client(max_retries=0) as client:
        with pytest.raises(error, match=says):
            await client.query({"kind": "HogQLQuery", "query": "select 1"}, refresh="async")
