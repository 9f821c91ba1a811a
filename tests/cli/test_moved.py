"""`max-tools` on a conversation that moved to PostHog AI's sandbox runtime (reference 16)."""

from __future__ import annotations

import json

import pytest

from max_tools import MaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.cli.support import run


def moved(emulator: RunningEmulator, *, title: str = "Show me a trend of signups") -> str:
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        cid = client.ask(title).conversation_id
    emulator.move_to_sandbox(cid)
    return cid


def test_chat_to_a_moved_conversation_is_one_line_and_exit_1(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = moved(emulator)

    code, out, err = run(emulator, capsys, "chat", "More?", "--conversation", cid)

    assert code == 1 and out == ""
    assert err == (
        f"max-tools: Could not send a message to conversation {cid}: the conversation moved to "
        "PostHog AI's newer runtime, which this API cannot continue with a personal API key or a "
        "PostHog sign-in: "
        "continue it in PostHog's web app, or start a new conversation with "
        'max-tools chat "..." without --conversation.\n'
    )


def test_conversations_show_says_the_conversation_moved(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = moved(emulator)

    code, shown, _ = run(emulator, capsys, "conversations", "show", cid)

    assert code == 0 and "\nruntime: sandbox (it moved to PostHog AI's newer runtime" in shown


def listed(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str, int]:
    """`max-tools conversations list <args>`; exit status, stdout, stderr and requests spent."""
    before = emulator.stats().requests
    code, out, err = run(emulator, capsys, "conversations", "list", *args)
    return code, out, err, emulator.stats().requests - before


def line_of(out: str, cid: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith(cid)]
    return line


def test_conversations_list_is_one_request_however_many_conversations_have_tasks(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_faults(mirror_tasks=True)  # every chat has a task, as at PostHog since 2026
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        stayed = [client.ask(f"How many signups in week {n}?").conversation_id for n in (1, 2)]
    cid = moved(emulator)

    code, out, err, requests = listed(emulator, capsys)

    assert code == 0 and err == "" and requests == 1
    assert {line.split()[0] for line in out.splitlines()} == {cid, *stayed}
    assert "runtime" not in out  # a list item does not say (reference 3.1): --runtime reads it


def test_conversations_list_with_runtime_reads_each_conversation_and_says_which_moved(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_faults(mirror_tasks=True)
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        stayed = client.ask("How many signups?").conversation_id
    cid = moved(emulator)

    code, out, err, requests = listed(emulator, capsys, "--runtime")

    assert code == 0 and requests == 1 + 2
    assert err == "(reading 2 conversations for their runtime: one request each)\n"
    assert line_of(out, cid).endswith(
        "Show me a trend of signups  [runtime: sandbox (it moved to PostHog AI's newer runtime: "
        "it can be read here but not continued; continue it in PostHog's web app, or start a "
        "new conversation)]"
    )
    assert line_of(out, stayed).endswith("  [runtime: langgraph]")


def test_conversations_list_json_with_runtime_adds_each_agent_runtime(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        stayed = client.ask("How many signups?").conversation_id
    cid = moved(emulator)

    plain_code, plain, _, plain_requests = listed(emulator, capsys, "--json")
    code, out, err, requests = listed(emulator, capsys, "--json", "--runtime")

    assert err == "(reading 1 conversation for its runtime: one request)\n"
    assert plain_code == 0 and plain_requests == 1
    assert all("agent_runtime" not in item for item in json.loads(plain)["results"])
    runtimes = {item["id"]: item["agent_runtime"] for item in json.loads(out)["results"]}
    # the chat that never got a task cannot have moved (16.3): known without reading it
    assert code == 0 and requests == 1 + 1
    assert runtimes == {cid: "sandbox", stayed: "langgraph"}
