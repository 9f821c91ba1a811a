"""max-a2a driven by the official A2A JavaScript SDK, from outside Python, over loopback.

``tests/a2a/js/client.mjs`` runs the SDK's own client: ``@a2a-js/sdk`` 1.3.0 speaks A2A 1.0
(JSON-RPC and HTTP+JSON), and 0.3.14, the last release before 1.0, is an older client that
speaks 0.3 (its method names and ``kind``-tagged shapes) and reads the card as 0.3 clients do.
It prints each event and answer as a JSON line; these tests assert on what the client saw.

The SDKs come from ``tests/a2a/js/package-lock.json``: ``tests/a2a/js/install.sh`` installs them
into a cache folder (``scripts/check`` runs it). Without Node.js or that folder these tests
fail under CI and are skipped, saying what is missing, elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
from a2a.types import TaskState

from max_tools.emulator import RunningEmulator

JS = Path(__file__).parent / "js"
SDKS = [("1.3", "JSONRPC"), ("1.3", "HTTP+JSON"), ("0.3", "JSONRPC"), ("0.3", "HTTP+JSON")]

Line = dict[str, Any]


def _sdk_folder() -> Path:
    """Where install.sh put the SDKs: named by the lock's hash, as install.sh names it."""
    digest = hashlib.sha256((JS / "package-lock.json").read_bytes()).hexdigest()[:16]
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "max-tools" / f"a2a-js-{digest}"


@pytest.fixture
def js_client() -> Path:
    """The client script, beside the installed SDKs (Node resolves packages from the script)."""
    folder = _sdk_folder()
    missing = []
    if shutil.which("node") is None:
        missing.append("Node.js is not installed (apt-get install -y nodejs npm)")
    if not (folder / ".installed").exists():
        missing.append(f"the A2A JavaScript SDKs are not installed in {folder}")
    if missing:
        reason = (
            "; ".join(missing) + ": run tests/a2a/js/install.sh (scripts/check does), "
            "or the JavaScript client cannot be run."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    script = folder / "client.mjs"
    shutil.copyfile(JS / "client.mjs", script)
    return script


async def run_js(script: Path, url: str, sdk: str, binding: str, scenario: str) -> list[Line]:
    with anyio.fail_after(30):
        done = await anyio.run_process(
            ["node", str(script), url, sdk, binding, scenario], check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in done.stdout.decode().splitlines()]


def values(lines: list[Line], step: str) -> list[Any]:
    return [line["value"] for line in lines if line["step"] == step]


def one(lines: list[Line], step: str) -> Any:
    [value] = values(lines, step)
    return value


def _state(status: dict[str, Any]) -> str:
    """A status's state in 0.3's spelling, from either SDK (1.3 gives the proto's number)."""
    state = status["state"]
    if isinstance(state, int):
        name = str(TaskState.Name(state))
        return name.removeprefix("TASK_STATE_").lower().replace("_", "-")
    return str(state)


def _text(parts: list[dict[str, Any]]) -> str:
    return "".join(p.get("text") or p.get("content", {}).get("value", "") for p in parts)


def _data(parts: list[dict[str, Any]]) -> list[Any]:
    found = [p["data"] for p in parts if p.get("kind") == "data"]
    return found + [
        p["content"]["value"] for p in parts if p.get("content", {}).get("$case") == "data"
    ]


def events(lines: list[Line], step: str) -> list[tuple[str, dict[str, Any]]]:
    """A streamed step's events as (kind, object) in 0.3's names, from either SDK."""
    names = {"statusUpdate": "status-update", "artifactUpdate": "artifact-update"}
    seen = []
    for value in values(lines, step):
        if "payload" in value:
            seen.append(
                (
                    names.get(value["payload"]["$case"], value["payload"]["$case"]),
                    value["payload"]["value"],
                )
            )
        else:
            seen.append((value["kind"], value))
    return seen


def last_status(lines: list[Line], step: str) -> dict[str, Any]:
    return [e for kind, e in events(lines, step) if kind == "status-update"][-1]


def answer(lines: list[Line], step: str) -> str:
    return "".join(
        _text(e["artifact"]["parts"])
        for kind, e in events(lines, step)
        if kind == "artifact-update"
    )


@pytest.mark.parametrize(("sdk", "binding"), SDKS)
async def test_the_javascript_sdk_asks_follows_up_approves_and_reads_tasks(
    js_client: Path, a2a_url: str, sdk: str, binding: str
) -> None:
    lines = await run_js(js_client, a2a_url, sdk, binding, "talk")

    assert one(lines, "card")["name"] == "PostHog AI"
    if sdk == "1.3":
        assert one(lines, "transport")["protocolName"] == binding

    ask = events(lines, "ask")
    assert ask[0][0] == "task"
    asked = ask[0][1]
    assert _state(last_status(lines, "ask")["status"]) == "completed"
    assert "How many users signed up last week?" in answer(lines, "ask")
    if sdk == "0.3":  # 0.3 marks the stream's last status update
        assert [e.get("final") for kind, e in ask if kind == "status-update"] == [True]

    followed = events(lines, "follow-up")[0][1]
    assert followed["contextId"] == asked["contextId"] and followed["id"] != asked["id"]
    assert "And the week before?" in answer(lines, "follow-up")

    paused = last_status(lines, "approval")
    assert _state(paused["status"]) == "input-required"
    [data] = _data(paused["status"]["message"]["parts"])
    assert data["approvals"][0]["tool"] == "delete_dashboard"
    refused = one(lines, "cancel-waiting")
    # 0.3.14's HTTP+JSON client reads only its own error body, so it names no class (see README)
    assert "TaskNotCancelable" in refused["error"] or "TASK_NOT_CANCELABLE" in refused["message"]
    assert _state(last_status(lines, "approve")["status"]) == "completed"
    assert "carried out" in answer(lines, "approve")

    got = one(lines, "get")["result"]
    assert got["id"] == asked["id"] and _state(got["status"]) == "completed"
    assert _text(got["artifacts"][0]["parts"]) == answer(lines, "ask")

    unknown = one(lines, "unknown")
    assert "TaskNotFound" in unknown["error"] or "NOT_FOUND" in unknown["message"], unknown


@pytest.mark.parametrize(("sdk", "binding"), SDKS)
async def test_the_javascript_sdk_cancels_a_running_task_and_reads_it_canceled(
    js_client: Path, a2a_url: str, emulator: RunningEmulator, sdk: str, binding: str
) -> None:
    with emulator.held():
        lines = await run_js(js_client, a2a_url, sdk, binding, "cancel")

    canceled = one(lines, "cancel")["result"]
    assert _state(canceled["status"]) == "canceled"
    assert _state(last_status(lines, "ask")["status"]) == "canceled"
    assert _state(one(lines, "get")["result"]["status"]) == "canceled"
    assert emulator.running() == []
