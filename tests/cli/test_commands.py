"""`max-tools` commands against a served emulator: output, exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.streams.text import TextReceiveStream

from max_tools import NotFoundError
from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator, load_rules
from tests.cli.support import TypeIn, run
from tests.processes import read_until

CLI = [sys.executable, "-m", "max_tools.cli"]


def conversation_of(output: str) -> str:
    found = re.search(r"^conversation: (\S+)$", output, re.M)
    assert found, output
    return found.group(1)


def test_chat_stdout_is_the_reply_text_the_charts_and_the_id_and_status_goes_to_stderr(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "Show me a trend of signups"
    _, as_json, _ = run(emulator, capsys, "chat", question, "--json")
    text = json.loads(as_json)["text"]

    code, out, err = run(emulator, capsys, "chat", question)

    assert code == 0, err
    cid = conversation_of(out)
    chart = f'chart: TrendsQuery of $pageview from -7d for "{question}"'
    assert out == f"{text}\n{chart}\nconversation: {cid}\n"
    assert "  . using create_insight" in err and "  . Creating a trends insight" in err
    assert text not in err and "\x1b[" not in out  # plain output when not a terminal


MARKDOWN_RULES = [
    {
        "match": "signups",
        "reply": "There were **12** signups, up from 9.",
        "chunks": 5,
        "visualization": False,
    }
]


@pytest.mark.parametrize("emulator_options", [{"rules": load_rules(MARKDOWN_RULES)}])
def test_chat_on_a_terminal_renders_markdown_and_keeps_the_text_whole(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], terminal: TypeIn
) -> None:
    code, out, err = run(emulator, capsys, "chat", "How many signups?")

    assert code == 0, err
    assert "\x1b[" in out  # drawn by rich, not plain
    assert "There were \x1b[1m12\x1b[0m signups, up from 9." in out  # bold, not asterisks
    assert re.search(r"conversation: [0-9a-f-]{36}\n$", out)
    assert err == ""  # on a terminal status is drawn below the text, in the live area


def test_bad_arguments_are_one_sentence_and_exit_2(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        ("wait", "not-an-id"): ("argument ID", "'not-an-id' is not a conversation id"),
        ("chat", "Hi", "--conversation", "42"): ("--conversation", "expected a UUID"),
        ("chat", " "): ("argument message", "the message is empty"),
        ("conversations", "list", "--limit", "0"): ("--limit", "whole number of 1 or more"),
        ("chat", "Hi", "--wait-s", "-1"): ("--wait-s", "number of seconds, 0 or more"),
        ("emulator", "--keepalive-s", "-1"): ("--keepalive-s", "number of seconds, 0 or more"),
    }
    for args, expected in cases.items():
        with pytest.raises(SystemExit) as exited:
            run(emulator, capsys, *args)
        err = capsys.readouterr().err

        assert exited.value.code == 2, args
        assert all(part in err for part in expected), err
        assert len(err.strip().splitlines()) == 1 and "usage:" not in err, err
        assert "Traceback" not in err and "pydantic" not in err


async def test_one_stream_that_answers_a_queued_follow_up_shows_each_question_with_its_answer(
    emulator: RunningEmulator,
) -> None:
    cid = "0b7e6a52-3c1d-4f8e-9a2b-5d4c3e2f1a0b"
    target = ["--api-key", DEFAULT_KEY, "--host", emulator.url, "--project-id", "1"]
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        await http.post("/_emulator/faults", json={"hold": True})
        chat = [*CLI, *target, "chat", "First question", "--conversation", cid]
        process = await anyio.open_process(chat)
        assert process.stdout is not None and process.stderr is not None
        err = await read_until(process.stderr, "using search")  # the first run is under way
        with anyio.fail_after(30):
            await anyio.run_process([*CLI, *target, "queue", "add", cid, "Second question"])
            await http.post("/_emulator/faults", json={"hold": False})
            out = "".join([text async for text in TextReceiveStream(process.stdout)])
            code = await process.wait()
        await process.aclose()

    first = 'Here is what I found for "First question"'
    second = 'Here is what I found for "Second question"'
    assert code == 0, err
    assert out.splitlines()[0] == "> First question" and first in out
    assert out.index(first) < out.index("> Second question") < out.index(second)
    assert out.endswith(f"conversation: {cid}\n")


def test_a_wait_budget_stops_following_but_the_message_was_sent(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json={"hold": True})
    code, out, err = run(emulator, capsys, "chat", "Slow question", "--wait-s", "0")
    rows = httpx.get(
        f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
    ).json()["results"]
    httpx.post(f"{emulator.url}/_emulator/faults", json={"hold": False})

    cid = conversation_of(out)
    assert code == 0, err
    assert f"still running at PostHog; follow it with: max-tools wait {cid}" in err
    assert [(row["id"], row["status"]) for row in rows] == [(cid, "in_progress")]


def test_chat_json_and_follow_ups(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = run(emulator, capsys, "chat", "How many signups?")
    cid = conversation_of(first)

    code, out, _ = run(emulator, capsys, "chat", "And by country?", "--conversation", cid, "--json")

    reply = json.loads(out)
    assert code == 0
    assert reply["conversation_id"] == cid and reply["status"] == "completed"
    assert reply["text"].startswith('Here is what I found for "And by country?"')


def test_wait_shows_the_last_reply_of_a_finished_conversation(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = run(emulator, capsys, "chat", "How many signups?")
    cid = conversation_of(first)

    code, out, _ = run(emulator, capsys, "wait", cid)

    assert code == 0
    assert 'Here is what I found for "How many signups?"' in out
    assert conversation_of(out) == cid


def test_conversations_list_and_show(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [conversation_of(run(emulator, capsys, "chat", f"Question {n}")[1]) for n in range(3)]

    code, listed, err = run(emulator, capsys, "conversations", "list", "--limit", "2")
    _, shown, _ = run(emulator, capsys, "conversations", "show", ids[0])
    _, as_json, _ = run(emulator, capsys, "conversations", "list", "--json")

    lines = listed.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == [ids[2], ids[1]]  # one line each, id first
    assert "(2 of 3; more with --limit)" in err
    assert f"conversation_id: {ids[0]}" in shown and "[user] Question 0" in shown
    assert json.loads(as_json)["count"] == 3


def test_an_empty_conversation_list_says_so_and_how_to_start_one(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(emulator, capsys, "conversations", "list")
    assert code == 0 and out == ""
    assert "(no conversations yet: start one with max-tools chat)" in err

    code = main(["--emulator", "conversations", "list"])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    assert "--emulator starts empty for each command" in err and "max-tools emulator" in err


def test_queue_commands_and_cancel(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = conversation_of(run(emulator, capsys, "chat", "Base question")[1])

    _, added, _ = run(emulator, capsys, "queue", "add", cid, "Split by country")
    queue_id = re.search(r"queue_id: (\S+)", added).group(1)  # type: ignore[union-attr]  # a miss fails the test anyway
    _, edited, _ = run(emulator, capsys, "queue", "edit", cid, queue_id, "Split by region")
    _, listed, _ = run(emulator, capsys, "queue", "list", cid)
    _, removed, _ = run(emulator, capsys, "queue", "rm", cid, queue_id)
    run(emulator, capsys, "queue", "add", cid, "Another")
    _, cleared, _ = run(emulator, capsys, "queue", "clear", cid)
    code, canceled, _ = run(emulator, capsys, "cancel", cid.upper())  # ids as typed by people

    assert "Split by region" in edited and "Split by region" in listed
    assert "The queue is empty" in removed and "The queue is empty" in cleared
    assert code == 0 and f"conversation: {cid}" in canceled


def test_errors_are_one_line_and_a_non_zero_exit(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = run(emulator, capsys, "conversations", "show", "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77")
    code = main(["conversations", "list"])
    no_key = capsys.readouterr()

    assert missing[0] == 1 and missing[2].startswith("max-tools: Could not read conversation")
    assert code == 2 and "POSTHOG_PERSONAL_API_KEY" in no_key.err
    assert "No account yet? max-tools emulator serves PostHog AI offline" in no_key.err
    for err in (missing[2], no_key.err):
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
    with pytest.raises(NotFoundError):
        main(["--debug", "--api-key", DEFAULT_KEY, "--host", emulator.url, "wait", cid])


def test_a_busy_conversation_says_how_to_queue_or_wait(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = conversation_of(run(emulator, capsys, "chat", "Base question")[1])
    httpx.post(f"{emulator.url}/_emulator/faults", json={"hold": True})
    with httpx.stream(
        "POST",
        f"{emulator.url}/api/environments/1/conversations/",
        json={
            "content": "Running",
            "conversation": cid,
            "trace_id": "22222222-2222-4222-8222-222222222222",
        },
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
    ) as running:
        next(running.iter_lines())
        code, _, err = run(emulator, capsys, "chat", "Second", "--conversation", cid)
        httpx.post(f"{emulator.url}/_emulator/faults", json={"hold": False})

    assert code == 1
    assert f"max-tools queue add {cid}" in err and f"max-tools wait {cid}" in err


def test_the_emulator_flag_runs_a_command_on_an_in_process_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--emulator", "chat", "How many signups?"])
    out, _ = capsys.readouterr()

    assert code == 0
    assert 'Here is what I found for "How many signups?"' in out


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_ctrl_c_or_sigterm_detaches_and_says_how_to_resume_or_cancel(
    emulator: RunningEmulator, stop: signal.Signals, status: int
) -> None:
    async with httpx.AsyncClient(
        base_url=emulator.url, headers={"Authorization": f"Bearer {DEFAULT_KEY}"}
    ) as http:
        await http.post("/_emulator/faults", json={"hold": True})
        args = [*CLI, "--api-key", DEFAULT_KEY, "--host", emulator.url, "chat", "Slow question"]
        process = await anyio.open_process(args)
        assert process.stdout is not None and process.stderr is not None
        err = await read_until(process.stderr, "using search")  # status lines are on stderr
        with anyio.fail_after(30):
            process.send_signal(stop)
            code = await process.wait()
            err += "".join([text async for text in TextReceiveStream(process.stderr)])
        await process.aclose()
        rows = (await http.get("/api/environments/1/conversations/")).json()["results"]
        await http.post("/_emulator/faults", json={"hold": False})

    cid = rows[0]["id"]
    assert code == status, err
    assert f"Resume with: max-tools wait {cid}" in err and f"max-tools cancel {cid}" in err
    assert rows[0]["status"] == "in_progress"  # detaching did not cancel the run
    assert "Traceback" not in err


async def test_the_demo_walks_through_every_step_and_exits_0() -> None:
    with anyio.fail_after(60):
        result = await anyio.run_process([*CLI, "demo"], check=False)

    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "All 12 steps passed" in out
    assert "| 2026-" in out and "+ 1 PNG image" in out  # the chart's numbers, and its picture
    for step in (
        "tools/list",
        "progress",
        "max_get_chart",
        "queued",
        "max_wait",
        "max_cancel",
        "max_list_conversations",
        "max-a2a: a question streamed with the A2A SDK's client",
        "answer artifact",
        "max-a2a: an approval as input-required",
    ):
        assert step in out


def test_what_to_do_is_said_in_commands_to_run(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator.held():
        code, out, _ = run(emulator, capsys, "chat", "A slow question", "--wait-s", "0")
        cid = conversation_of(out)
        run(emulator, capsys, "queue", "add", cid, "one")
        run(emulator, capsys, "queue", "add", cid, "two")
        code, _, err = run(emulator, capsys, "queue", "add", cid, "three")

    assert code == 1
    # The one advice table, in the command line's words (the client says queue_message()...).
    assert f"wait for the running reply with max-tools wait {cid}" in err
    assert f"remove one with max-tools queue rm {cid} <queue_id>" in err


def test_chart_prints_the_table_the_json_and_writes_a_png(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(emulator, capsys, "chat", "Plot weekly signups")
    cid = conversation_of(out)

    code, table, _ = run(emulator, capsys, "chart", cid)
    assert code == 0 and "| day | $pageview |" in table
    code, as_json, _ = run(emulator, capsys, "chart", cid, "1", "--json")
    data = json.loads(as_json)
    assert data["vega_lite"]["data"]["values"][0]["value"] == data["series"][0]["data"][0]
    picture = tmp_path / "chart.png"
    code, written, said = run(emulator, capsys, "chart", cid, "--png", str(picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written == "" and f"chart 1 written to {picture}" in said
    nowhere = tmp_path / "no-such-folder" / "chart.svg"
    code, _, err = run(emulator, capsys, "chart", cid, "--svg", str(nowhere))
    assert code == 2 and f"--svg: cannot write {nowhere}: No such file or directory" in err
    assert "Traceback" not in err
    code, _, err = run(emulator, capsys, "chart", cid, "2")
    assert code == 2 and "chart must be from 1 to 1" in err
