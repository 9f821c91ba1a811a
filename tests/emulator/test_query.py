"""The emulator's query endpoint at the HTTP edge: asynchronous queries (reference section 15.3)."""

from __future__ import annotations

import httpx
import pytest

from max_tools.emulator import RunningEmulator

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
