"""Emulator switches: throttling, keep-alives, fault injection, rules files, state files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from max_tools.emulator import EmulatorApp, Rule, RulesError, RunningEmulator, load_rules, serve
from tests.emulator.wire import SSEReader, answered, events, messages, send_body


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("emulator_options", [{"throttle": True, "clock": FakeClock()}])
async def test_throttling_allows_ten_a_minute_then_429_with_retry_after(
    api: httpx.AsyncClient, emulator_options: dict[str, Any]
) -> None:
    clock = emulator_options["clock"]
    statuses = [(await api.post("", json=send_body("hi"))).status_code for _ in range(10)]
    clock.now += 20
    throttled = await api.post("", json=send_body("hi"))
    other_user = await api.post("", json=send_body("hi"), headers={"Authorization": "Bearer phx_b"})
    reads = await api.get("")
    clock.now += 41
    again = await api.post("", json=send_body("hi"))

    assert statuses == [200] * 10
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "40"
    assert throttled.json() == {
        "type": "throttled_error",
        "code": "throttled",
        "detail": "You've reached PostHog AI's usage limit for the moment. Please try again in 40 seconds. "
        "Expected available in 40 seconds.",
        "attr": None,
    }
    assert other_user.status_code == 200  # limits are per user
    assert reads.status_code == 200  # only sending is throttled
    assert again.status_code == 200


@pytest.mark.parametrize("emulator_options", [{"throttle": True, "clock": FakeClock()}])
async def test_research_is_throttled_at_three_a_minute_with_its_own_text(
    api: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        assert (
            await api.post("", json=send_body("why?", agent_mode="research"))
        ).status_code == 200
    throttled = await api.post("", json=send_body("why?", agent_mode="research"))
    chat = await api.post("", json=send_body("plain chat"))

    assert throttled.status_code == 429
    assert throttled.json()["detail"].startswith("You've reached the usage limit for Research mode")
    assert chat.status_code == 200


async def test_throttling_is_off_by_default(api: httpx.AsyncClient) -> None:
    statuses = [(await api.post("", json=send_body("hi"))).status_code for _ in range(12)]
    assert statuses == [200] * 12


@pytest.mark.parametrize("emulator_options", [{"keepalive_s": 0.02}])
async def test_silence_is_filled_with_keepalive_comments(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    emulator.hold()
    async with api.stream("POST", "", json=send_body("slow")) as response:
        chunks = response.aiter_bytes()
        seen = b""
        with anyio.fail_after(5):
            while b": keepalive\n\n" not in seen:
                seen += await anext(chunks)
        emulator.release()
        async for chunk in chunks:
            seen += chunk

    assert b"\n\n: keepalive\n\n" in seen
    assert messages(seen)[-1]["type"] == "ai"  # comments never break the framing


async def control(emulator: RunningEmulator, method: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        return await client.request(method, "/_emulator/faults", json=body)


async def test_health_and_fault_control_endpoints(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        health = await client.get("/_emulator/health")
    bad = await control(emulator, "POST", {"status": 418})
    unknown = await control(emulator, "POST", {"explode": True})
    state = await control(emulator, "POST", {"status": 503, "count": 2, "retry_after": 1})
    reset = await control(emulator, "DELETE")

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert bad.status_code == 400 and "429, 500, 502, 503 or 504" in bad.json()["detail"]
    assert unknown.status_code == 400 and "explode" in unknown.json()["detail"]
    assert state.json()["pending_statuses"] == [{"status": 503, "retry_after": 1.0}] * 2
    assert reset.json()["pending_statuses"] == []


async def test_status_faults_fail_the_next_n_requests(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    await control(emulator, "POST", {"status": 429, "retry_after": 3, "count": 1})
    await control(emulator, "POST", {"status": 502, "count": 1})

    throttled = await api.get("")
    bad_gateway = await api.get("")
    fine = await api.get("")

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()["type"] == "throttled_error"
    assert bad_gateway.status_code == 502 and "text/html" in bad_gateway.headers["content-type"]
    assert fine.status_code == 200


async def test_drop_after_events_cuts_the_connection_but_not_the_run(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    await control(emulator, "POST", {"drop_after_events": 3})
    body = send_body("Count pageviews")

    with pytest.raises(httpx.RemoteProtocolError):
        await api.post("", json=body)
    with anyio.fail_after(5):
        while emulator.conversation(body["conversation"]).status != "idle":
            await anyio.lowlevel.checkpoint()

    stored = (await api.get(f"{body['conversation']}/")).json()["messages"]
    assert stored[-1]["type"] == "ai" and "Count pageviews" in stored[-1]["content"]


@pytest.mark.parametrize("emulator_options", [{"keepalive_s": 0.01}])
async def test_a_stall_sends_only_keepalives_first(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    await control(emulator, "POST", {"stall_s": 0.1})

    response = await api.post("", json=send_body("hi"))

    body = response.content
    after_echo = body.split(b'"type":"human"}\n\n', 1)[1]
    assert after_echo.startswith(b": keepalive\n\n")
    assert messages(body)[-1]["type"] == "ai"


async def test_unknown_event_and_message_types_on_request(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    await control(emulator, "POST", {"unknown_events": True})

    first = await api.post("", json=send_body("hi"))
    second = await api.post("", json=send_body("hi"))

    kinds = [kind for kind, _ in events(first.content)]
    assert "emulator_probe" in kinds
    assert any(m["type"] == "ai/emulator_probe" for m in messages(first.content))
    assert "emulator_probe" not in [kind for kind, _ in events(second.content)]  # once only


async def test_scoped_keys_and_quota_can_be_switched_at_run_time(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    await control(emulator, "POST", {"scoped_keys": True, "quota_exceeded": True})

    cancel = await api.patch("00000000-0000-4000-8000-000000000000/cancel/")
    send = await api.post("", json=send_body("hi"))

    assert cancel.status_code == 403 and send.status_code == 402


def test_rules_load_from_json_and_toml_files(tmp_path: Path) -> None:
    json_file = tmp_path / "rules.json"
    json_file.write_text(
        json.dumps(
            {"rules": [{"match": "revenue", "reply": "MRR is $1M ({message})", "chunks": 3}]}
        )
    )
    toml_file = tmp_path / "rules.toml"
    toml_file.write_text(
        '[[rules]]\nmatch = "fail"\nfail = true\ntitle = "Broken"\ndelay_s = 0.5\n'
    )

    assert load_rules(json_file) == [
        Rule(match="revenue", reply="MRR is $1M ({message})", chunks=3)
    ]
    assert load_rules(toml_file) == [Rule(match="fail", fail=True, title="Broken", delay_s=0.5)]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('[{"reply": "x"}]', "needs 'match'"),
        ('[{"match": "(", "reply": "x"}]', "not a valid regular expression"),
        ('[{"match": "a", "chunks": -1}]', "'chunks'"),
        ('[{"match": "a", "delay": 1}]', "unknown keys ['delay']"),
        ('[{"match": "a", "fail": "yes"}]', "'fail' must be true or false"),
        ('{"rules": 3}', "must hold a list"),
        ("{not json", "not valid json"),
    ],
)
def test_bad_rules_files_say_what_is_wrong(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(content)
    with pytest.raises(
        RulesError, match=says.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
    ):
        load_rules(path)


def test_a_missing_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="Cannot read the rules file"):
        load_rules(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "emulator_options",
    [
        {
            "rules": [
                Rule(match="revenue", reply="MRR is $1M for {message}", title="Revenue", chunks=1),
                Rule(match="boom", fail=True),
            ]
        }
    ],
)
async def test_rules_are_tried_in_order_first_match_wins(api: httpx.AsyncClient) -> None:
    revenue = await api.post("", json=send_body("What is our revenue?"))
    boom = await api.post("", json=send_body("boom please"))
    other = await api.post("", json=send_body("anything else"))

    assert messages(revenue.content)[-1]["content"] == "MRR is $1M for What is our revenue?"
    assert [e for k, e in events(revenue.content) if k == "conversation"][-1]["title"] == "Revenue"
    assert messages(boom.content)[-1] == {
        "content": "Oops! Something went wrong. Please try again.",
        "id": messages(boom.content)[-1]["id"],
        "type": "ai/failure",
    }
    assert messages(other.content)[-1]["content"].startswith(
        'Here is what I found for "anything else"'
    )


async def test_a_state_file_keeps_conversations_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    body = send_body("remember me")
    headers = {"Authorization": "Bearer phx_keep"}
    async with (
        serve(EmulatorApp(delay_s=0, state_file=state)) as first,
        httpx.AsyncClient() as client,
    ):
        await client.post(
            f"{first.url}/api/environments/1/conversations/", json=body, headers=headers
        )
    assert "phx_keep" not in state.read_text()  # keys are stored as hashes only

    async with (
        serve(EmulatorApp(delay_s=0, state_file=state)) as second,
        httpx.AsyncClient() as client,
    ):
        listed = await client.get(
            f"{second.url}/api/environments/1/conversations/", headers=headers
        )
        other = await client.get(
            f"{second.url}/api/environments/1/conversations/",
            headers={"Authorization": "Bearer phx_x"},
        )

    assert [c["id"] for c in listed.json()["results"]] == [body["conversation"]]
    assert other.json()["count"] == 0


def test_a_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{}")
    with pytest.raises(ValueError, match="cannot be read"):
        EmulatorApp(state_file=state)


async def test_a_stream_can_be_followed_event_by_event(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    emulator.hold()
    async with api.stream("POST", "", json=send_body("step by step")) as response:
        reader = SSEReader(response)
        first = await reader.next_event()
        second = await reader.next_event()
        emulator.release()
        rest = events(await reader.rest())

    assert first[0] == "conversation" and second[1]["type"] == "human"
    assert rest[-1][1]["type"] == "ai"


async def test_action_failure_makes_the_next_append_or_cancel_422(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = (await api.post("", json=send_body("hi"))).request.content
    conversation = json.loads(cid)["conversation"]
    await control(emulator, "POST", {"action_failure": True})
    failed_append = await api.post(f"{conversation}/append_message/", json={"content": "x"})
    await control(emulator, "POST", {"action_failure": True})
    failed_cancel = await api.patch(f"{conversation}/cancel/")
    fine = await api.patch(f"{conversation}/cancel/")

    assert answered(failed_append) == (422, {"error": "Failed to append message"})
    assert answered(failed_cancel) == (422, {"error": "Failed to cancel conversation"})
    assert fine.status_code == 204
    assert emulator.conversation(conversation).status == "idle"


async def test_every_fault_switch_shows_in_the_state_and_delete_clears_it(
    emulator: RunningEmulator,
) -> None:
    every_switch = {
        "drop_after_events": 3,
        "stall_s": 0.5,
        "unknown_events": True,
        "action_failure": True,
        "garble_utf8": True,
        "scoped_keys": True,
        "quota_exceeded": True,
        "throttle": True,
        "trim_on_disconnect": True,
        "hold": True,
    }
    await control(emulator, "POST", {"status": 503, "count": 1})
    await control(emulator, "POST", every_switch)
    state = (await control(emulator, "GET")).json()
    cleared = (await control(emulator, "DELETE")).json()

    assert {key: state[key] for key in every_switch} == every_switch
    assert state["pending_statuses"] == [{"status": 503, "retry_after": None}]
    assert set(cleared) == set(state)
    assert cleared["pending_statuses"] == [] and not any(cleared[key] for key in every_switch)
    assert emulator.fault_state() == cleared


async def test_a_deleted_key_is_refused_from_the_next_request_while_its_open_stream_runs_on(
    api: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    body = send_body("How many users signed up last week?")
    with anyio.fail_after(10):
        with emulator.held():
            async with api.stream("POST", "", json=body) as response:
                reader = SSEReader(response)
                await reader.next_event()  # the run is going: its stream is open
                emulator.delete_key(api.headers["authorization"].removeprefix("Bearer "))
                emulator.release()
                rest = await reader.rest()
        refused = await api.get(f"{body['conversation']}/")
    assert response.status_code == 200
    assert any(m["type"] == "ai" and m.get("id") and m["content"] for m in messages(rest))
    assert answered(refused) == (
        401,
        {
            "type": "authentication_error",
            "code": "authentication_failed",
            "detail": "Personal API key found in request Authorization header is invalid.",
            "attr": None,
        },
    )
