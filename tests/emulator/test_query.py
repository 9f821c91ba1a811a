"""The emulator's query endpoint at the HTTP edge: shapes, errors, async queries (reference 15)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from max_tools.emulator import RunningEmulator
from tests.emulator.conftest import project_client
from tests.emulator.wire import messages, send_body

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}


async def test_an_async_query_answers_202_then_its_status_until_complete(
    query_api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(query_polls=2)
    blocking = await query_api.post("query/", json={"query": TRENDS})

    started = await query_api.post("query/", json={"query": TRENDS, "refresh": "force_async"})

    assert started.status_code == 202
    body = started.json()
    status = body["query_status"]
    assert set(body) == {"cache_key", "query_status"}
    assert (status["complete"], status["query_async"], status["team_id"]) == (False, True, 1)
    assert status["error"] is False and status["results"] is None
    reads = [await query_api.get(f"query/{status['id']}/") for _ in range(3)]
    assert [r.status_code for r in reads] == [202, 202, 200]
    done = reads[-1].json()["query_status"]
    assert done["complete"] is True and done["end_time"] is not None
    assert done["results"]["results"] == blocking.json()["results"]


async def test_the_legacy_async_flag_is_async_too(query_api: httpx.AsyncClient) -> None:
    started = await query_api.post("query/", json={"query": TRENDS, "async": True})
    blocking = await query_api.post("query/", json={"query": TRENDS, "refresh": "blocking"})

    assert started.status_code == 202 and blocking.status_code == 200
    assert blocking.json()["query_status"] is None


async def test_a_failing_async_query_reads_400_with_its_message(
    query_api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(query_polls=0)
    bad = {"kind": "HogQLQuery", "query": "drop table events"}

    started = await query_api.post("query/", json={"query": bad, "refresh": "async"})
    read = await query_api.get(f"query/{started.json()['query_status']['id']}/")

    assert started.status_code == 202  # found out only when it runs, as at PostHog
    assert read.status_code == 400
    status = read.json()["query_status"]
    assert status["error"] is True and status["error_message"].startswith("Syntax error")


async def test_a_canceled_or_unknown_query_is_gone(query_api: httpx.AsyncClient) -> None:
    started = await query_api.post("query/", json={"query": TRENDS, "refresh": "force_async"})
    query_id = started.json()["query_status"]["id"]

    canceled = await query_api.delete(f"query/{query_id}/")
    after = await query_api.get(f"query/{query_id}/")

    assert canceled.status_code == 200 and "message" in canceled.json()
    assert after.status_code == 404 and after.json()["code"] == "not_found"


async def test_a_query_is_read_in_its_own_project_only(
    query_api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    started = await query_api.post("query/", json={"query": TRENDS, "refresh": "force_async"})
    query_id = started.json()["query_status"]["id"]

    elsewhere = await query_api.get(f"{emulator.url}/api/projects/2/query/{query_id}/")
    here = await query_api.get(f"{emulator.url}/api/projects/1/query/{query_id}/")

    assert elsewhere.status_code == 404 and here.status_code == 202


async def test_bad_refresh_values_and_methods_are_refused(query_api: httpx.AsyncClient) -> None:
    bad = await query_api.post("query/", json={"query": TRENDS, "refresh": "sometimes"})
    listed = await query_api.get("query/")

    assert bad.status_code == 400 and bad.json()["code"] == "parse_error"
    assert "refresh" in bad.json()["detail"]
    assert listed.status_code == 405


async def test_query_polls_is_a_fault_switch_with_a_reset(emulator: RunningEmulator) -> None:
    assert emulator.set_faults(query_polls=4)["query_polls"] == 4
    assert emulator.reset_faults()["query_polls"] == 1
    with pytest.raises(ValueError, match="'query_polls' must be a whole number"):
        emulator.set_faults(query_polls=-1)


# Conformance to reference 15.3 and 15.4: exact statuses, bodies and keys

ACTION_KEYS = {
    "days",
    "id",
    "type",
    "order",
    "name",
    "custom_name",
    "math",
    "math_property",
    "math_hogql",
    "math_group_type_index",
    "properties",
}
PAGEVIEWS = {
    "kind": "TrendsQuery",
    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}],
    "interval": "day",
    "dateRange": {"date_from": "-7d"},
}


async def test_a_trends_result_item_carries_every_key_of_posthogs_runner(
    query_api: httpx.AsyncClient,
) -> None:
    response = await query_api.post("query/", json={"query": PAGEVIEWS})

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert set(item) == {"data", "labels", "days", "count", "label", "filter", "action"}
    assert set(item["action"]) == ACTION_KEYS
    assert (item["action"]["id"], item["action"]["order"], item["action"]["math"]) == (
        "$pageview",
        0,
        "total",
    )
    assert len(item["action"]["days"]) == len(item["days"]) == 8
    legacy = item["filter"]
    assert (legacy["insight"], legacy["interval"], legacy["entity_type"]) == (
        "TRENDS",
        "day",
        "events",
    )
    assert legacy["date_from"].startswith(item["days"][0])
    assert legacy["date_to"].startswith(item["days"][-1])
    assert item["count"] == float(sum(item["data"])) and item["label"] == "$pageview"


@pytest.mark.parametrize(
    ("extra", "keys"),
    [
        (
            {"breakdownFilter": {"breakdown": "$browser", "breakdown_type": "event"}},
            {"data", "labels", "days", "count", "label", "filter", "action", "breakdown_value"},
        ),
        (
            {"compareFilter": {"compare": True}},
            {"data", "labels", "days", "count", "label", "filter", "action", "compare"}
            | {"compare_label"},
        ),
        (
            {"trendsFilter": {"display": "BoldNumber"}},
            {"data", "days", "count", "label", "filter", "action", "aggregated_value"},
        ),
    ],
    ids=["breakdown", "compare", "total-value"],
)
async def test_trends_variants_add_their_keys(
    query_api: httpx.AsyncClient, extra: dict[str, Any], keys: set[str]
) -> None:
    response = await query_api.post("query/", json={"query": {**PAGEVIEWS, **extra}})

    items = response.json()["results"]
    assert response.status_code == 200 and items
    assert all(set(item) == keys for item in items)
    if "compare" in keys:
        assert [i["compare_label"] for i in items] == ["current", "previous"]
        assert items[0]["labels"][:2] == ["day 0", "day 1"]
        assert items[1]["days"][-1] < items[0]["days"][0]  # the period before, its own dates
    if "aggregated_value" in keys:
        assert (items[0]["data"], items[0]["days"], items[0]["count"]) == ([], [], 0)
    if "breakdown_value" in keys:
        assert [i["label"] for i in items] == [i["breakdown_value"] for i in items]
        assert items[0]["filter"]["breakdown"] == "$browser"


def parse_error(lines: str) -> dict[str, Any]:
    return {
        "type": "invalid_request",
        "code": "parse_error",
        "detail": f"JSON parse error - 1 validation error for QueryRequest\n{lines}",
        "attr": None,
    }


def without_links(body: dict[str, Any]) -> dict[str, Any]:
    """The body with pydantic's "For further information visit ..." lines left out."""
    kept = [line for line in body["detail"].split("\n") if "errors.pydantic.dev" not in line]
    return {**body, "detail": "\n".join(kept)}


async def test_a_query_of_unknown_kind_is_400_parse_error_in_pydantics_words(
    query_api: httpx.AsyncClient,
) -> None:
    response = await query_api.post("query/", json={"query": {"kind": "MadeUpQuery"}})

    assert response.status_code == 400
    body = without_links(response.json())
    expected = parse_error(
        "query\n  Input tag 'MadeUpQuery' found using 'kind' does not match any of the expected "
        "tags: "
    )
    assert set(body) == {"type", "code", "detail", "attr"}
    assert body["detail"].startswith(expected["detail"])
    assert "'TrendsQuery'" in body["detail"] and "'HogQLQuery'" in body["detail"]
    assert body["detail"].endswith(
        "[type=union_tag_invalid, input_value={'kind': 'MadeUpQuery'}, input_type=dict]"
    )
    assert {k: body[k] for k in ("type", "code", "attr")} == {
        "type": "invalid_request",
        "code": "parse_error",
        "attr": None,
    }


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        ({}, "query\n  Field required [type=missing, input_value={}, input_type=dict]"),
        (
            [1, 2],
            "  Input should be a valid dictionary or instance of QueryRequest [type=model_type, "
            "input_value=[1, 2], input_type=list]",
        ),
        (
            {"query": TRENDS, "colour": "red"},
            "colour\n  Extra inputs are not permitted [type=extra_forbidden, input_value='red', "
            "input_type=str]",
        ),
        (
            {"query": {"series": []}},
            "query\n  Unable to extract tag using discriminator 'kind' [type=union_tag_not_found, "
            "input_value={'series': []}, input_type=dict]",
        ),
        (
            {"query": {"kind": "HogQLQuery"}},
            "query.HogQLQuery.query\n  Field required [type=missing, input_value={'kind': "
            "'HogQLQuery'}, input_type=dict]",
        ),
    ],
    ids=["no-query", "not-an-object", "unknown-key", "no-kind", "no-hogql"],
)
async def test_malformed_bodies_are_400_parse_error_in_pydantics_words(
    query_api: httpx.AsyncClient, body: Any, lines: str
) -> None:
    response = await query_api.post("query/", json=body)

    assert (response.status_code, without_links(response.json())) == (400, parse_error(lines))


@pytest.mark.parametrize(
    ("hogql", "code", "detail"),
    [
        ("select foo from events", "hogql_query_error", "Unable to resolve field: foo"),
        (
            "select event, count() from events where nope = 1 group by event",
            "hogql_query_error",
            "Unable to resolve field: nope",
        ),
        ("select e.colour from events e", "hogql_query_error", "Unable to resolve field: colour"),
        ("select event from evnts", "hogql_query_error", "Unknown table `evnts`."),
        (
            "drop table events",
            "hogql_syntax_error",
            "Syntax error at line 1, column 0: mismatched input 'drop' expecting SELECT",
        ),
    ],
)
async def test_hogql_that_posthog_cannot_run_is_400_validation_error_with_its_code(
    query_api: httpx.AsyncClient, hogql: str, code: str, detail: str
) -> None:
    response = await query_api.post(
        "query/", json={"query": {"kind": "HogQLQuery", "query": hogql}}
    )

    assert (response.status_code, response.json()) == (
        400,
        {"type": "validation_error", "code": code, "detail": detail, "attr": None},
    )


async def test_hogql_naming_existing_fields_answers_every_key_of_the_cached_response(
    query_api: httpx.AsyncClient,
) -> None:
    hogql = (
        "select event, count() as total from events where properties.$browser = 'Chrome' "
        "and timestamp > now() - interval 7 day group by event order by total desc"
    )
    response = await query_api.post(
        "query/", json={"query": {"kind": "HogQLQuery", "query": hogql}}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "cache_key", "clickhouse", "columns", "error", "explain", "hasMore", "hogql",
        "is_cached", "last_refresh", "limit", "metadata", "modifiers",
        "next_allowed_client_refresh", "offset", "query", "query_status", "results",
        "timezone", "timings", "types",
    }  # fmt: skip
    assert (body["columns"], body["error"], body["limit"]) == (["event", "total"], None, 100)
    assert body["types"] == [["event", "String"], ["total", "UInt64"]]
    assert body["hogql"] == f"{hogql} LIMIT 100"


@pytest.mark.parametrize(
    ("hogql", "columns"),
    [
        (
            "SELECT event, count() FROM events WHERE timestamp > now() - INTERVAL 7 DAY "
            "GROUP BY event ORDER BY count() DESC LIMIT 10 -- the top events",
            ["event", "count()"],
        ),
        (
            "WITH signups AS (SELECT person_id, min(timestamp) AS first_seen FROM events "
            "WHERE event = 'signed_up' GROUP BY person_id) "
            "SELECT toStartOfWeek(first_seen) AS week, count() FROM signups GROUP BY week",
            ["week", "count()"],
        ),
        (
            "SELECT event, count() c FROM events GROUP BY event ORDER BY c DESC",
            ["event", "c"],
        ),
        (
            'SELECT event, count() AS "Total" FROM events GROUP BY event ORDER BY "Total" DESC',
            ["event", "Total"],
        ),
        ("SELECT count() AS total FROM events WHERE {filters}", ["total"]),
        (
            "SELECT event, count() FROM events GROUP BY event "
            "UNION ALL SELECT 'all', count() FROM events",
            ["event", "count()"],
        ),
        (
            "SELECT event, row_number() OVER (PARTITION BY event ORDER BY timestamp) AS rn "
            "FROM events LIMIT 5",
            ["event", "rn"],
        ),
        ("SELECT arrayMap(x -> x * 2, [1, 2]) AS doubled", ["doubled"]),
        (
            "SELECT distinct_id FROM events WHERE person_id IN "
            "(SELECT id FROM persons WHERE properties.email ILIKE '%@example.com')",
            ["distinct_id"],
        ),
    ],
)
async def test_hogql_that_posthog_runs_is_not_refused(
    query_api: httpx.AsyncClient, hogql: str, columns: list[str]
) -> None:
    response = await query_api.post(
        "query/", json={"query": {"kind": "HogQLQuery", "query": hogql}}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["columns"] == columns


@pytest.mark.parametrize(
    ("hogql", "column", "descending"),
    [
        ("select event, count() as total from events group by event order by total desc", 1, True),
        ("SELECT event, count() FROM events GROUP BY event ORDER BY count() DESC", 1, True),
        ("SELECT event, count() c FROM events GROUP BY event ORDER BY event", 0, False),
    ],
)
async def test_hogql_rows_come_in_the_order_the_query_asks_for(
    query_api: httpx.AsyncClient, hogql: str, column: int, descending: bool
) -> None:
    response = await query_api.post(
        "query/", json={"query": {"kind": "HogQLQuery", "query": hogql}}
    )

    keys = [row[column] for row in response.json()["results"]]
    assert len(keys) > 1 and keys == sorted(keys, reverse=descending)


async def test_the_kind_in_the_path_is_checked_before_the_body(
    query_api: httpx.AsyncClient,
) -> None:
    hogql_without_text = {"query": {"kind": "HogQLQuery"}}

    mismatch = await query_api.post("query/TrendsQuery/", json=hogql_without_text)
    no_query = await query_api.post("query/TrendsQuery/", json={})
    not_a_kind = await query_api.post("query/trends/", json={"query": TRENDS})
    read_a_kind = await query_api.get("query/TrendsQuery/")

    assert (mismatch.status_code, mismatch.json()) == (
        400,
        {
            "type": "validation_error",
            "code": "invalid_input",
            "detail": 'Query kind mismatch: path kind "TrendsQuery" does not match body kind '
            '"HogQLQuery".',
            "attr": None,
        },
    )
    assert no_query.json()["detail"].endswith('does not match body kind "None".')
    assert not_a_kind.status_code == 405 and read_a_kind.status_code == 405


# The chat's numbers are the chart's numbers


async def chart_and_text(
    emulator: RunningEmulator, query_api: httpx.AsyncClient, question: str
) -> tuple[dict[str, Any], str]:
    """Ask `question`; the query endpoint's answer for its chart, and the answer's text."""
    async with project_client(emulator, "conversations/") as api:
        response = await api.post("", json=send_body(question))
    sent = messages(response.content)
    [viz] = [m for m in sent if m["type"] == "ai/viz"]
    text = [m for m in sent if m["type"] == "ai" and "id" in m][-1]["content"]
    data = await query_api.post("query/", json={"query": viz["answer"]})
    assert data.status_code == 200
    return data.json(), text


async def test_the_total_the_chat_states_is_the_series_count_of_its_chart(
    emulator: RunningEmulator, query_api: httpx.AsyncClient
) -> None:
    data, text = await chart_and_text(emulator, query_api, "Show me a trend of signups")

    [series] = data["results"]
    stated = re.search(
        r"(\d+) \$pageview events from (\S+) to (\S+), peaking at (\d+) on (\S+)\.", text
    )
    assert stated is not None, text
    assert float(stated[1]) == series["count"]
    assert (stated[2], stated[3]) == (series["days"][0], series["days"][-1])
    assert int(stated[4]) == max(series["data"])
    assert series["data"][series["days"].index(stated[5])] == max(series["data"])


async def test_a_breakdowns_text_quotes_each_values_count_and_their_sum(
    emulator: RunningEmulator, query_api: httpx.AsyncClient
) -> None:
    data, text = await chart_and_text(emulator, query_api, "Plot pageviews by browser")

    series = data["results"]
    parts = ", ".join(f"{s['label']} {s['count']:.0f}" for s in series)
    assert f"{sum(s['count'] for s in series):.0f} events from " in text
    assert text.endswith(f": {parts}.")


async def test_a_sql_answers_text_quotes_the_first_row_of_its_table(
    emulator: RunningEmulator, query_api: httpx.AsyncClient
) -> None:
    data, text = await chart_and_text(emulator, query_api, "Top events in SQL please")

    first = ", ".join(f"{c} {v}" for c, v in zip(data["columns"], data["results"][0], strict=True))
    assert text.endswith(f"{len(data['results'])} rows; the first is {first}.")


async def test_an_mcp_client_gets_formatted_results_holding_the_same_numbers(
    query_api: httpx.AsyncClient,
) -> None:
    plain = await query_api.post("query/", json={"query": PAGEVIEWS})
    mcp = await query_api.post(
        "query/", json={"query": PAGEVIEWS}, headers={"X-POSTHOG-CLIENT": "mcp"}
    )

    assert "formatted_results" not in plain.json()
    [series] = mcp.json()["results"]
    lines = mcp.json()["formatted_results"].split("\n")
    assert lines[0] == "Date|$pageview"
    assert lines[1:] == [f"{d}|{v}" for d, v in zip(series["days"], series["data"], strict=True)]


async def test_a_client_query_id_names_the_async_query(query_api: httpx.AsyncClient) -> None:
    body = {"query": TRENDS, "refresh": "force_async", "client_query_id": "my-query-1"}

    started = await query_api.post("query/", json=body)
    read = await query_api.get("query/my-query-1/")

    assert started.json()["query_status"]["id"] == "my-query-1"
    assert read.status_code == 202 and read.json()["query_status"]["id"] == "my-query-1"


async def test_a_compared_charts_text_quotes_each_periods_count_and_dates(
    emulator: RunningEmulator, query_api: httpx.AsyncClient
) -> None:
    data, text = await chart_and_text(
        emulator, query_api, "Plot pageviews compared to the previous period"
    )

    current, previous = data["results"]
    assert (current["compare_label"], previous["compare_label"]) == ("current", "previous")
    assert text.endswith(
        f"$pageview (current period) {current['count']:.0f} from {current['days'][0]} to "
        f"{current['days'][-1]}; $pageview (previous period) {previous['count']:.0f} from "
        f"{previous['days'][0]} to {previous['days'][-1]}."
    )
