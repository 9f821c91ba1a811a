"""The emulator pinned to the reference: bytes, status codes, bodies and sequences."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator
from tests.emulator.wire import (
    UUID_RE,
    SSEReader,
    answered,
    events,
    messages,
    new_id,
    open_stream,
    send_body,
)

EXACT = [
    Rule(match="^exact$", reply="Forty-two.", chunks=2, title="The answer", visualization=False)
]


def drf(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


async def finished_conversation(api: httpx.AsyncClient, content: str = "How many signups?") -> str:
    body = send_body(content)
    response = await api.post("", json=body)
    assert response.status_code == 200
    return str(body["conversation"])


@pytest.fixture
async def held_run(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> AsyncIterator[tuple[str, SSEReader]]:
    """A new conversation's run held before its answer, read to its first event.

    Yields the conversation id and the reader; the test releases the run.
    """
    emulator.hold()
    body = send_body("Count pageviews")
    async with open_stream(api, body) as reader:
        yield body["conversation"], reader


# The stream


@pytest.mark.parametrize("emulator_options", [{"rules": EXACT}])
async def test_a_new_conversation_streams_exactly_the_reference_bytes(
    api: httpx.AsyncClient,
) -> None:
    cid, trace = new_id(), new_id()

    response = await api.post("", json={"content": "exact", "conversation": cid, "trace_id": trace})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers
    text = response.text
    ids = {value: f"<id{n}>" for n, value in enumerate(dict.fromkeys(UUID_RE.findall(text)))}
    normalized = UUID_RE.sub(lambda m: ids[m.group()], text)
    normalized = re.sub(r"toolu_[0-9a-f]{24}", "<call>", normalized)
    normalized = re.sub(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"', '"<time>"', normalized)
    user = (
        '{"id": 1, "uuid": <id1>, "distinct_id": "emulator-user-1", "first_name": "Emulator user 1", '
        '"last_name": "", "email": "user1@emulator.invalid", "is_email_verified": true, '
        '"hedgehog_config": null, "role_at_organization": "engineering"}'
    ).replace("<id1>", '"<id1>"')
    conversation = (
        '{{"id": "<id0>", "status": "in_progress", "title": {title}, "topic": null, "user": {user}, '
        '"created_at": "<time>", "updated_at": "<time>", "type": "assistant", "is_internal": false, '
        '"slack_thread_key": null, "slack_workspace_domain": null, "task": null}}'
    )
    chunk = '{{"content":"{text}","meta":{{"thinking":[]}},"server_tool_calls":[],"tool_calls":[],"type":"ai"}}'
    expected = (
        f"event: conversation\ndata: {conversation.format(title='null', user=user)}\n\n"
        'event: message\ndata: {"content":"exact","id":"<id2>","trace_id":"<id3>","type":"human"}\n\n'
        f"event: message\ndata: {chunk.format(text='Let me look')}\n\n"
        f"event: message\ndata: {chunk.format(text='Let me look into that.')}\n\n"
        'event: message\ndata: {"content":"Let me look into that.","id":"<id4>","tool_calls":'
        '[{"args":{"query_description":"exact"},"id":"<call>","name":"search","type":"tool_call"}],'
        '"type":"ai"}\n\n'
        f"event: conversation\ndata: {conversation.format(title=chr(34) + 'The answer' + chr(34), user=user)}\n\n"
        'event: update\ndata: {"content":"Searching your project\'s events","id":"<id4>",'
        '"tool_call_id":"<call>"}\n\n'
        'event: message\ndata: {"content":"Found matching events.","id":"<id5>","tool_call_id":"<call>",'
        '"type":"tool"}\n\n'
        f"event: message\ndata: {chunk.format(text='Forty')}\n\n"
        f"event: message\ndata: {chunk.format(text='Forty-two.')}\n\n"
        'event: message\ndata: {"content":"Forty-two.","id":"<id6>","tool_calls":[],"type":"ai"}\n\n'
    )
    assert normalized == expected
    assert ids[cid] == "<id0>" and ids[trace] == "<id3>"  # the echo carries the request's trace id


async def test_a_follow_up_has_no_conversation_event_and_a_fresh_echo_id(
    api: httpx.AsyncClient,
) -> None:
    cid = await finished_conversation(api)
    trace = new_id()

    response = await api.post(
        "", json={"content": "And by country?", "conversation": cid, "trace_id": trace}
    )

    kinds = [event for event, _ in events(response.content)]
    assert "conversation" not in kinds
    echo = messages(response.content)[0]
    assert (
        echo["type"] == "human"
        and echo["trace_id"] == trace
        and echo["content"] == "And by country?"
    )
    assert UUID_RE.fullmatch(echo["id"])


async def test_chart_questions_get_a_trends_visualization(api: httpx.AsyncClient) -> None:
    response = await api.post("", json=send_body("Show me a trend of signups"))

    viz = [m for m in messages(response.content) if m["type"] == "ai/viz"]
    assert len(viz) == 1
    assert (
        viz[0]["answer"]["kind"] == "TrendsQuery"
        and viz[0]["query"] == "Show me a trend of signups"
    )
    assert "null" not in json.dumps(viz[0])  # nulls are left out on the stream


async def test_the_answer_reflects_the_question_deterministically(api: httpx.AsyncClient) -> None:
    first = await api.post("", json=send_body("How many signups?"))
    second = await api.post("", json=send_body("How many signups?"))

    answer = [m["content"] for m in messages(first.content) if m["type"] == "ai" and "id" in m][-1]
    again = [m["content"] for m in messages(second.content) if m["type"] == "ai" and "id" in m][-1]
    assert answer == again and "How many signups?" in answer


async def test_the_status_moves_idle_in_progress_idle(
    emulator: RunningEmulator, held_run: tuple[str, SSEReader]
) -> None:
    cid, reader = held_run
    assert emulator.conversation(cid).status == "in_progress"
    emulator.release()
    await reader.rest()
    assert emulator.conversation(cid).status == "idle"


# Retrieve and list


async def test_retrieve_keeps_nulls_in_message_dumps_and_has_the_extra_fields(
    api: httpx.AsyncClient,
) -> None:
    cid = await finished_conversation(api)

    response = await api.get(f"{cid}/")

    assert response.status_code == 200
    body = response.json()
    assert list(body)[:11] == [
        "id", "status", "title", "topic", "user", "created_at", "updated_at", "type", "is_internal",
        "slack_thread_key", "slack_workspace_domain",
    ]  # fmt: skip
    assert {k: body[k] for k in ("has_unsupported_content", "agent_runtime", "is_sandbox", "pending_approvals", "task")} == {
        "has_unsupported_content": False, "agent_runtime": "langgraph", "is_sandbox": False,
        "pending_approvals": [], "task": None,
    }  # fmt: skip
    human = body["messages"][0]
    assert human == {
        "content": "How many signups?", "id": human["id"], "parent_tool_call_id": None,
        "trace_id": human["trace_id"], "type": "human", "ui_context": None,
    }  # fmt: skip
    assert body["messages"][-1]["meta"] is None and body["messages"][-1]["type"] == "ai"


async def test_retrieve_answers_404_for_missing_untitled_foreign_and_malformed_ids(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    not_found = drf("invalid_request", "not_found", "Not found.")
    emulator.set_faults(stall_s=30)  # the run has not titled the conversation yet
    body = send_body("untitled while running")
    async with open_stream(api, body) as response_sse:
        untitled = await api.get(f"{body['conversation']}/")
        await api.patch(f"{body['conversation']}/cancel/")
        await response_sse.rest()
    cid = await finished_conversation(api)

    assert answered(untitled) == (404, not_found)
    for path in (f"{new_id()}/", "not-a-uuid/"):
        response = await api.get(path)
        assert answered(response) == (404, not_found)
    other_team = await api.get(f"{emulator.url}/api/environments/7/conversations/{cid}/")
    assert other_team.status_code == 404
    same_team_other_user = await api.get(
        f"{cid}/", headers={"Authorization": "Bearer phx_someone_else"}
    )
    assert same_team_other_user.status_code == 200  # retrieve has no owner filter


async def test_list_is_own_titled_newest_first_in_limit_offset_pages(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    ids = [await finished_conversation(api, f"question {n}") for n in range(3)]
    await api.post(
        "", json=send_body("someone else's"), headers={"Authorization": "Bearer phx_other"}
    )

    first = await api.get("", params={"limit": 2})
    second = await api.get(first.json()["next"])
    whole = await api.get("")

    page = first.json()
    assert page["count"] == 3
    assert [c["id"] for c in page["results"]] == [ids[2], ids[1]]
    base = f"{emulator.url}/api/environments/1/conversations/"
    assert page["next"] == f"{base}?limit=2&offset=2" and page["previous"] is None
    assert [c["id"] for c in second.json()["results"]] == [ids[0]]
    assert second.json()["previous"] == f"{base}?limit=2" and second.json()["next"] is None
    assert "messages" not in page["results"][0]
    assert whole.json()["next"] is None and len(whole.json()["results"]) == 3


async def test_routes_under_projects_with_or_without_slash_and_current(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)
    headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
    for url in (
        f"{emulator.url}/api/projects/1/conversations/{cid}",
        f"{emulator.url}/api/projects/@current/conversations/{cid}/",
        f"{emulator.url}/api/environments/@current/conversations/{cid}",
    ):
        response = await api.get(url, headers=headers)
        assert response.status_code == 200, url
    assert (await api.get(f"{emulator.url}/api/environments/abc/conversations/")).status_code == 404


# Authentication and scopes


async def test_missing_and_invalid_keys_are_401_with_drf_bodies(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/conversations/"
    ) as bare:
        missing = await bare.get("")
        invalid = await bare.get("", headers={"Authorization": "Bearer phc_project_token"})
        query = await bare.get("", params={"personal_api_key": DEFAULT_KEY})

    assert answered(missing) == (
        401, drf("authentication_error", "not_authenticated", "Authentication credentials were not provided."),
    )  # fmt: skip
    assert invalid.status_code == 401 and invalid.json()["code"] == "authentication_failed"
    assert query.status_code == 200


@pytest.mark.parametrize("emulator_options", [{"scoped_keys": True}])
async def test_scoped_keys_are_refused_the_custom_actions(api: httpx.AsyncClient) -> None:
    cid = await finished_conversation(api)  # sending is allowed
    refused = drf(
        "authentication_error",
        "permission_denied",
        "This action does not support personal API key access",
    )

    for method, path in [
        ("POST", f"{cid}/append_message/"),
        ("PATCH", f"{cid}/cancel/"),
        ("GET", f"{cid}/queue/"),
        ("POST", f"{cid}/queue/"),
        ("POST", f"{cid}/queue/clear/"),
        ("DELETE", f"{cid}/queue/abc/"),
    ]:
        response = await api.request(method, path, json={"content": "x"})
        assert answered(response) == (403, refused), path
    assert (await api.get(f"{cid}/")).status_code == 200
    assert (await api.delete(f"{cid}/")).status_code == 204


# Sending: the decision table of section 4.3


@pytest.mark.parametrize(
    ("body", "code", "detail", "attr"),
    [
        ({"conversation": "c", "trace_id": "t"}, "required", "This field is required.", "content"),
        ({"content": "hi", "trace_id": new_id()}, "required", "This field is required.", "conversation"),
        ({"content": "hi", "conversation": new_id()}, "required", "This field is required.", "trace_id"),
        ({"content": "", "conversation": new_id(), "trace_id": new_id()}, "blank", "This field may not be blank.", "content"),
        ({"content": "x" * 40_001, "conversation": new_id(), "trace_id": new_id()}, "max_length",
         "Ensure this field has no more than 40000 characters.", "content"),
        ({"content": "hi", "conversation": "nope", "trace_id": new_id()}, "invalid_input", "Must be a valid UUID.", "conversation"),
        ({"content": "hi", "conversation": new_id(), "trace_id": new_id(), "agent_mode": "wizard"}, "invalid_choice",
         '"wizard" is not a valid choice.', "agent_mode"),
        ({"content": "hi", "conversation": new_id(), "trace_id": new_id(), "contextual_tools": []}, "not_a_dict",
         'Expected a dictionary of items but got type "list".', "contextual_tools"),
        ({"content": "hi", "conversation": new_id(), "trace_id": new_id(), "ui_context": {"bogus": 1}},
         "invalid_input", "Invalid message content.", None),
        ({"content": "hi", "conversation": new_id(), "trace_id": new_id(), "is_sandbox": True},
         "invalid_input", "Sandbox conversations must be opened via the open endpoint.", None),
    ],
)  # fmt: skip
async def test_invalid_sends_are_400_with_the_first_error(
    api: httpx.AsyncClient, body: dict[str, Any], code: str, detail: str, attr: str | None
) -> None:
    response = await api.post("", json=body)

    assert response.status_code == 400
    assert response.json() == drf("validation_error", code, detail, attr)


async def test_sending_decisions_in_order(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)

    other_user = await api.post(
        "", json=send_body("hi", cid), headers={"Authorization": "Bearer phx_other"}
    )
    missing = await api.post("", json=send_body(None))
    idle = await api.post("", json=send_body(None, cid))
    emulator.hold()
    async with open_stream(api, send_body("first", cid)) as running_sse:
        busy = await api.post("", json=send_body("second", cid))
        emulator.release()
        await running_sse.rest()
    await api.delete(f"{cid}/")
    deleted = await api.post("", json=send_body("again", cid))

    assert answered(other_user) == (400, {"error": "Cannot access other users' conversations"})
    assert answered(missing) == (400, {"error": "Cannot stream from non-existent conversation"})
    assert answered(idle) == (
        400, drf("validation_error", "invalid_input", "Cannot continue streaming from an idle conversation"),
    )  # fmt: skip
    assert answered(busy) == (
        409,
        drf("server_error", "conflict", "Cannot resume streaming with a new message"),
    )
    assert answered(deleted) == (404, {"error": "Conversation does not exist"})


@pytest.mark.parametrize("emulator_options", [{"quota_exceeded": True}])
async def test_quota_exceeded_is_402_before_validation(api: httpx.AsyncClient) -> None:
    response = await api.post("", json={})

    assert response.status_code == 402
    assert response.json()["code"] == "quota_limit_exceeded"
    assert response.json()["type"] == "server_error"


async def test_research_mode_creates_a_deep_research_conversation(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    body = send_body("Why did churn rise?", agent_mode="research")
    await api.post("", json=body)
    row = emulator.conversation(body["conversation"])
    assert row.type == "deep_research"

    await api.post("", json=send_body("and now?", body["conversation"]))
    row = emulator.conversation(body["conversation"])

    assert (
        row.type == "assistant"
    )  # an idle research conversation switches to chat on a new message


# Reconnects, disconnects, cancel and the queue


async def test_a_reconnect_replays_the_run_from_its_start(
    emulator: RunningEmulator, api: httpx.AsyncClient, held_run: tuple[str, SSEReader]
) -> None:
    # PostHog's runner yields the `conversation` event and the human echo inside the run, so
    # they are in the run's stream: a reconnect replays them, with the same ids.
    cid, first_sse = held_run
    async with open_stream(api, send_body(None, cid)) as replay_sse:
        emulator.release()
        replayed = events(await replay_sse.rest())
    original = events(await first_sse.rest())

    assert [kind for kind, _ in original[:2]] == ["conversation", "message"]
    assert original[1][1]["type"] == "human"
    assert replayed == original  # the same run, from its start: conversation and echo too
    assert replayed[0][1]["id"] == cid
    assert replayed[1][1]["id"] == original[1][1]["id"]


async def test_a_client_that_goes_away_does_not_stop_the_run(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    emulator.hold()
    body = send_body("Count pageviews")
    async with open_stream(api, body):
        pass  # the first event came; the client goes away
    emulator.release()

    with anyio.fail_after(5):
        async with api.stream("POST", "", json=send_body(None, body["conversation"])) as follow:
            await follow.aread()  # attaches (or is refused once idle); either way the run ends
    row = emulator.conversation(body["conversation"])
    assert row.status == "idle"
    assert row.messages[-1]["type"] == "ai" and "Count pageviews" in row.messages[-1]["content"]


async def test_cancel_is_204_idle_or_running_ends_the_stream_and_clears_the_queue(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)
    idle_cancel = await api.patch(f"{cid}/cancel/")
    emulator.hold()
    async with open_stream(api, send_body("long one", cid)) as running_sse:
        await api.post(f"{cid}/queue/", json={"content": "queued"})
        cancel = await api.patch(f"{cid}/cancel/")
        with anyio.fail_after(5):
            rest = await running_sse.rest()
    queue = await api.get(f"{cid}/queue/")

    assert idle_cancel.status_code == 204 and idle_cancel.content == b""
    assert cancel.status_code == 204
    assert not any(m["type"] == "ai/failure" for m in messages(rest))
    assert queue.json() == {"messages": [], "max_queue_messages": 2}
    assert emulator.conversation(cid).status == "idle"
    assert (await api.patch(f"{new_id()}/cancel/")).status_code == 404


async def test_queued_follow_ups_run_on_the_same_open_response(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)
    emulator.hold()
    async with open_stream(api, send_body("first", cid)) as running_sse:
        await api.post(f"{cid}/queue/", json={"content": "second"})
        await api.post(f"{cid}/queue/", json={"content": "third"})
        emulator.release()
        with anyio.fail_after(5):
            body = await running_sse.rest()

    humans = [m for m in messages(body) if m["type"] == "human"]
    assert [h["content"] for h in humans] == ["first", "second", "third"]
    assert len({h["trace_id"] for h in humans}) == 3
    answers = [
        m["content"]
        for m in messages(body)
        if m["type"] == "ai" and "id" in m and not m.get("tool_calls")
    ]
    assert ['"third"' in answers[-1], '"second"' in answers[-2]] == [True, True]
    assert (await api.get(f"{cid}/queue/")).json()["messages"] == []


async def test_the_queue_endpoints(emulator: RunningEmulator, api: httpx.AsyncClient) -> None:
    cid = await finished_conversation(api)

    empty = await api.get(f"{cid}/queue/")
    one = await api.post(
        f"{cid}/queue/", json={"content": "a"}, headers={"X-POSTHOG-SESSION-ID": "s-1"}
    )
    two = await api.post(f"{cid}/queue/", json={"content": "b", "agent_mode": "sql"})
    full = await api.post(f"{cid}/queue/", json={"content": "c"})
    first_id = one.json()["messages"][0]["id"]
    edited = await api.patch(f"{cid}/queue/{first_id}/", json={"content": "a2"})
    unknown = await api.patch(f"{cid}/queue/nope/", json={})
    blank = await api.patch(f"{cid}/queue/{first_id}/", json={"content": " "})
    deleted = await api.delete(f"{cid}/queue/{first_id}/")
    clear_item = await api.patch(f"{cid}/queue/clear/", json={"content": "x"})
    cleared = await api.post(f"{cid}/queue/clear/")

    assert empty.json() == {"messages": [], "max_queue_messages": 2}
    item = one.json()["messages"][0]
    assert list(item) == [
        "id",
        "content",
        "created_at",
        "contextual_tools",
        "ui_context",
        "billing_context",
        "agent_mode",
        "session_id",
    ]
    assert item["session_id"] == "s-1" and item["created_at"].endswith("+00:00")
    assert two.json()["messages"][1]["agent_mode"] == "sql"
    assert answered(full) == (
        409,
        {"error": "queue_full", "detail": "Only two messages can be queued at a time."},
    )
    patched = edited.json()["messages"][0]
    assert patched == {**item, "content": "a2"}
    assert answered(unknown) == (404, {"detail": "Queue message not found."})
    assert blank.status_code == 400 and blank.json()["code"] == "blank"
    assert deleted.status_code == 200 and [m["content"] for m in deleted.json()["messages"]] == [
        "b"
    ]
    assert clear_item.status_code == 405
    assert cleared.json() == {"messages": [], "max_queue_messages": 2}


async def test_queue_access_checks(emulator: RunningEmulator, api: httpx.AsyncClient) -> None:
    cid = await finished_conversation(api)

    other_user = await api.get(f"{cid}/queue/", headers={"Authorization": "Bearer phx_other"})
    other_team = await api.get(f"{emulator.url}/api/environments/9/conversations/{cid}/queue/")
    missing = await api.get(f"{new_id()}/queue/")
    malformed = await api.get("not-a-uuid/queue/")

    forbidden = {"error": "Cannot access other users' conversations"}
    assert answered(other_user) == (403, forbidden)
    assert answered(other_team) == (403, forbidden)
    assert answered(missing) == (404, {"error": "Conversation not found"})
    assert malformed.status_code == 500


@pytest.mark.parametrize("emulator_options", [{"queue_drain": True}])
async def test_with_the_drain_switch_queueing_when_nothing_runs_is_not_running(
    api: httpx.AsyncClient,
) -> None:
    fresh = new_id()
    cid = await finished_conversation(api)

    refused = await api.post(f"{cid}/queue/", json={"content": "later"})

    assert refused.status_code == 409 and refused.json()["error"] == "not_running"
    assert (await api.get(f"{cid}/queue/")).json()["messages"] == []
    assert (await api.post(f"{fresh}/queue/", json={"content": "x"})).status_code == 404


async def test_append_message_is_201_with_an_id_and_limits_its_length(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)
    before = emulator.conversation(cid).updated_at

    created = await api.post(f"{cid}/append_message/", json={"content": "Ticket #12 created."})
    too_long = await api.post(f"{cid}/append_message/", json={"content": "x" * 10_001})
    other = await api.post(
        f"{cid}/append_message/",
        json={"content": "x"},
        headers={"Authorization": "Bearer phx_other"},
    )

    assert created.status_code == 201 and list(created.json()) == ["id"]
    stored = (await api.get(f"{cid}/")).json()["messages"][-1]
    assert stored["id"] == created.json()["id"] and stored["content"] == "Ticket #12 created."
    assert emulator.conversation(cid).updated_at == before
    assert too_long.status_code == 400 and too_long.json()["code"] == "max_length"
    assert other.status_code == 404


async def test_delete_is_a_soft_delete_answering_204(
    emulator: RunningEmulator, api: httpx.AsyncClient
) -> None:
    cid = await finished_conversation(api)

    first = await api.delete(f"{cid}/")
    again = await api.delete(f"{cid}/")

    assert first.status_code == 204 and again.status_code == 404
    assert emulator.conversation(cid).deleted
    assert (await api.get(f"{cid}/")).status_code == 404
    assert (await api.get(f"{cid}/queue/")).status_code == 404
    assert (await api.get("")).json()["count"] == 0


async def test_unsupported_methods_are_405(api: httpx.AsyncClient) -> None:
    cid = await finished_conversation(api)

    response = await api.put(f"{cid}/", json={})

    assert response.status_code == 405
    assert response.json() == drf(
        "invalid_request", "method_not_allowed", 'Method "PUT" not allowed.'
    )
    assert (await api.post(f"{cid}/open/", json={})).status_code == 400
