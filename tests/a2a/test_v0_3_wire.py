"""What an A2A 0.3 client sends, posted as-is with httpx, and the 0.3 shapes max-a2a answers.

0.3 method names (``message/send``, ``message/stream``, ``tasks/get``, ``tasks/cancel``,
``tasks/resubscribe``) and
payloads (``kind``-tagged messages and parts, camelCase ids) as the 0.3 spec and the SDK's
compat adapter define them. tests/a2a/test_js_client.py runs a real 0.3 client (the JavaScript
SDK 0.3.14) through the same flows; these tests pin the exact wire: ``kind`` on every object,
``final`` on the last status update, the 0.3 state names and the JSON-RPC error codes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import httpx
from a2a.compat.v0_3 import types as v03

from max_tools.emulator import RunningEmulator

Json = dict[str, Any]


def _message(text: str | None = None, *, data: object = None, **ids: str) -> Json:
    parts: list[Json] = []
    if text is not None:
        parts.append({"kind": "text", "text": text})
    if data is not None:
        parts.append({"kind": "data", "data": data})
    return {
        "kind": "message",
        "messageId": str(uuid.uuid4()),
        "role": "user",
        "parts": parts,
        **ids,
    }


def _request(method: str, params: Json) -> Json:
    return {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}


async def rpc(url: str, method: str, params: Json) -> Json:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/", json=_request(method, params))
    answer: Json = response.json()
    return answer


async def stream(url: str, message: Json) -> list[Json]:
    """The results of a ``message/stream``, in order (each SSE event is one JSON-RPC response)."""
    request = _request("message/stream", {"message": message})
    results = []
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("POST", f"{url}/", json=request) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                event = json.loads(line.removeprefix("data:"))
                assert event["id"] == request["id"] and "error" not in event, event
                results.append(event["result"])
    return results


def _text(parts: list[Json]) -> str:
    return "".join(p["text"] for p in parts if p["kind"] == "text")


async def test_a_0_3_client_reads_the_card_with_its_url_version_and_transports(
    a2a_url: str,
) -> None:
    async with httpx.AsyncClient() as http:
        raw = (await http.get(f"{a2a_url}/.well-known/agent-card.json")).json()
    card = v03.AgentCard.model_validate(raw)  # the 0.3 schema: url and protocolVersion required
    assert card.url.startswith(a2a_url) and card.protocol_version == "0.3"
    assert card.preferred_transport == "JSONRPC"
    assert [i.transport for i in card.additional_interfaces or []] == ["HTTP+JSON"]


async def test_a_streamed_question_comes_as_0_3_events_ending_with_a_final_completed_status(
    a2a_url: str,
) -> None:
    with anyio.fail_after(30):
        results = await stream(a2a_url, _message("How many users signed up last week?"))

    assert [r["kind"] for r in results] == ["task", "artifact-update", "status-update"]
    task, artifact, status = results
    assert task["status"]["state"] == "working"
    assert task["history"][0]["kind"] == "message" and task["history"][0]["role"] == "user"
    assert artifact["taskId"] == status["taskId"] == task["id"]
    assert artifact["contextId"] == task["contextId"]
    assert artifact["artifact"]["artifactId"] == "answer" and artifact["lastChunk"] is True
    assert "How many users signed up last week?" in _text(artifact["artifact"]["parts"])
    assert status["final"] is True and status["status"]["state"] == "completed"


async def test_a_0_3_follow_up_in_the_context_is_a_new_task_there(a2a_url: str) -> None:
    with anyio.fail_after(30):
        first = (await stream(a2a_url, _message("How many users signed up last week?")))[0]
        sent = await rpc(
            a2a_url,
            "message/send",
            {"message": _message("And the week before?", contextId=first["contextId"])},
        )
    task = sent["result"]
    assert task["kind"] == "task" and task["contextId"] == first["contextId"]
    assert task["id"] != first["id"] and task["status"]["state"] == "completed"
    assert "And the week before?" in _text(task["artifacts"][0]["parts"])


async def test_a_0_3_approval_is_input_required_and_a_data_part_approves_it(
    a2a_url: str,
) -> None:
    with anyio.fail_after(30):
        paused = await stream(a2a_url, _message("Delete the onboarding dashboard"))
        status = paused[-1]
        task_id, context_id = status["taskId"], status["contextId"]
        refused = await rpc(a2a_url, "tasks/cancel", {"id": task_id})
        decision = _message(data={"decision": "approve"}, taskId=task_id, contextId=context_id)
        done = await rpc(a2a_url, "message/send", {"message": decision})

    assert status["kind"] == "status-update" and status["status"]["state"] == "input-required"
    said = status["status"]["message"]
    assert said["kind"] == "message" and said["role"] == "agent"
    [data] = [p["data"] for p in said["parts"] if p["kind"] == "data"]
    assert data["approvals"][0]["tool"] == "delete_dashboard"
    # A cancel would not stick (PostHog keeps the approval): refused, saying how to move on.
    assert refused["error"]["code"] == -32002, refused
    assert done["result"]["kind"] == "task" and done["result"]["status"]["state"] == "completed"
    assert "carried out" in _text(done["result"]["artifacts"][0]["parts"])


async def test_0_3_tasks_get_reads_a_task_and_an_unknown_one_is_task_not_found(
    a2a_url: str,
) -> None:
    with anyio.fail_after(30):
        asked = await stream(a2a_url, _message("How many users signed up last week?"))
        got = await rpc(a2a_url, "tasks/get", {"id": asked[0]["id"], "historyLength": 1})
        unknown = await rpc(a2a_url, "tasks/get", {"id": f"{uuid.uuid4()}~1"})

    task = got["result"]
    assert task["kind"] == "task" and task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"] == asked[1]["artifact"]["parts"]
    assert task["history"][0]["kind"] == "message"
    assert unknown["error"]["code"] == -32001 and "result" not in unknown


async def test_0_3_tasks_cancel_stops_a_running_task_and_answers_it_canceled(
    a2a_url: str, emulator: RunningEmulator
) -> None:
    seen: list[Json] = []
    started = anyio.Event()

    async def ask() -> None:
        request = _request("message/stream", {"message": _message("How many users?")})
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("POST", f"{a2a_url}/", json=request) as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line.removeprefix("data:"))["result"])
                    started.set()

    with emulator.held(), anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await started.wait()
            canceled = await rpc(a2a_url, "tasks/cancel", {"id": seen[0]["id"]})

    assert canceled["result"]["kind"] == "task"
    assert canceled["result"]["status"]["state"] == "canceled"
    assert seen[-1]["kind"] == "status-update" and seen[-1]["final"] is True
    assert seen[-1]["status"]["state"] == "canceled"


async def test_0_3_tasks_resubscribe_re_attaches_to_a_running_task_and_follows_it_to_the_end(
    a2a_url: str, emulator: RunningEmulator
) -> None:
    first: list[Json] = []
    again: list[Json] = []
    started, attached = anyio.Event(), anyio.Event()

    async def read(method: str, params: Json, into: list[Json], seen: anyio.Event) -> None:
        request = _request(method, params)
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("POST", f"{a2a_url}/", json=request) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    event = json.loads(line.removeprefix("data:"))
                    assert "error" not in event, event
                    into.append(event["result"])
                    seen.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            with emulator.held():
                message = _message("How many users signed up last week?")
                tg.start_soon(read, "message/stream", {"message": message}, first, started)
                await started.wait()
                task_id = first[0]["id"]
                tg.start_soon(read, "tasks/resubscribe", {"id": task_id}, again, attached)
                await attached.wait()  # a second 0.3 client follows the same task

    assert again[0]["kind"] == "task" and again[0]["id"] == task_id
    assert again[0]["status"]["state"] == "working"
    assert again[-1]["kind"] == "status-update" and again[-1]["final"] is True
    assert again[-1]["status"]["state"] == "completed"
    answers = [e for e in again if e["kind"] == "artifact-update"]
    assert answers and "matching events" in _text(answers[-1]["artifact"]["parts"])
    assert first[-1]["status"]["state"] == "completed"
