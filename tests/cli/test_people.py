"""`max-tools` when PostHog AI asks a person: the card and exit 3 in a pipe, prompts on a terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from max_tools.emulator import RunningEmulator
from tests.cli.support import TypeIn, run


def test_in_a_pipe_the_card_and_the_commands_go_out_and_the_exit_status_is_3(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(emulator, capsys, "chat", "Delete the onboarding dashboard")

    assert code == 3
    approve = re.search(r"approve: (max-tools approve (\S+) (\S+))$", out, re.M)
    assert approve, out
    assert "delete_dashboard" in out and "reject:  max-tools reject" in out
    cid, proposal = approve.group(2), approve.group(3)

    code, out, _ = run(
        emulator, capsys, "approve", cid, proposal, "--payload", '{"dashboard_id": 7}'
    )

    assert code == 0
    assert "carried out" in out and f"conversation: {cid}" in out
    code, _, err = run(emulator, capsys, "approve", cid, proposal)
    assert code == 1 and "already approved; nothing was sent" in err


def test_showing_a_conversation_that_waits_for_a_person_says_how_to_see_and_answer_it(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = {
        "an approval": "Delete the onboarding dashboard",
        "answers to a form": "Make me a chart",
    }
    for what, message in asked.items():
        code, out, _ = run(emulator, capsys, "chat", message, "--json")
        assert code == 3
        cid = json.loads(out)["conversation_id"]

        code, out, err = run(emulator, capsys, "conversations", "show", cid)

        assert code == 0 and f"conversation_id: {cid}" in out
        assert f"(waits for {what}: max-tools wait {cid} shows it and how to answer)" in err
        code, out, _ = run(emulator, capsys, "wait", cid)
        assert (
            code == 3
            and f"max-tools {'approve' if what == 'an approval' else 'answer'} {cid}" in out
        )

    code, out, _ = run(emulator, capsys, "chat", "How many signups?", "--json")
    cid = json.loads(out)["conversation_id"]
    assert "waits for" not in run(emulator, capsys, "conversations", "show", cid)[2]


def test_answer_and_dismiss_a_form_from_the_command_line(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(emulator, capsys, "chat", "Make me a chart", "--json")
    assert code == 3
    reply = json.loads(out)
    cid = reply["conversation_id"]
    assert [q["id"] for q in reply["form"]["questions"]] == ["time_range", "breakdown"]

    code, _, err = run(emulator, capsys, "answer", cid, "breakdown=Colour")
    assert code == 2 and "'Colour' is not one of the options" in err

    code, out, _ = run(
        emulator,
        capsys,
        "answer",
        cid,
        "time_range=Last 30 days",
        "breakdown=Country",
        "breakdown=Browser",
    )
    assert code == 0 and out.startswith("Thanks for the answers.")

    run(emulator, capsys, "chat", "Make me a chart", "--conversation", cid)
    code, out, _ = run(emulator, capsys, "answer", cid, "--dismiss")
    assert code == 0 and "No problem" in out


def test_answers_written_after_an_option_are_answers_too(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(emulator, capsys, "chat", "Make me a chart", "--json")
    assert code == 3
    cid = json.loads(out)["conversation_id"]

    code, out, err = run(
        emulator,
        capsys,
        "answer",
        cid,
        "time_range=Last 7 days",
        "--wait-s",
        "30",
        "breakdown=Country",
        "breakdown=Browser",
    )

    assert code == 0 and out.startswith("Thanks for the answers."), err
    tool = next(m for m in emulator.conversation(cid).messages if m["type"] == "tool")
    assert form_answers(tool) == {"time_range": "Last 7 days", "breakdown": ["Country", "Browser"]}


def test_no_input_never_prompts(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], terminal: TypeIn
) -> None:
    terminal("y\n")

    code, _, err = run(emulator, capsys, "chat", "Make me a chart", "--no-input")

    assert code == 3
    assert "empty skips" not in err  # no question was put to the person


def rejection_feedback(tool: dict[str, Any]) -> str:
    return str(tool["content"]).split("feedback: ", 1)[1].split(". ", 1)[0]


def form_answers(tool: dict[str, Any]) -> Any:
    return tool["ui_payload"]["create_form"]["answers"]


@pytest.mark.parametrize(
    ("question", "typed", "prompts", "goes_on", "recorded", "posthog_got"),
    [
        pytest.param(
            "Delete the onboarding dashboard",
            "n\nkeep it, it is used weekly\n",
            ["Approve? [y/N] ", "Feedback for PostHog AI"],
            "left everything as it was",
            rejection_feedback,
            "keep it, it is used weekly",
            id="approval",
        ),
        pytest.param(
            "Make me a chart",
            "2\n1, 3\n",
            ["1. Last 7 days", "(numbers, comma-separated; empty skips)"],
            "Thanks for the answers.",
            form_answers,
            {"time_range": "Last 30 days", "breakdown": ["Country", "Device type"]},
            id="form-question-by-question",
        ),
    ],
)
def test_on_a_terminal_the_person_is_asked_and_the_reply_goes_on_with_the_answer(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    terminal: TypeIn,
    question: str,
    typed: str,
    prompts: list[str],
    goes_on: str,
    recorded: Callable[[dict[str, Any]], Any],
    posthog_got: Any,
) -> None:
    terminal(typed)

    code, out, err = run(emulator, capsys, "chat", question)

    assert code == 0, err
    assert all(prompt in err for prompt in prompts), err
    assert goes_on in out
    cid = re.search(r"conversation: (\S+)", out)
    assert cid
    tool = next(m for m in emulator.conversation(cid.group(1)).messages if m["type"] == "tool")
    assert recorded(tool) == posthog_got


def test_on_a_terminal_a_number_past_the_options_is_asked_again(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], terminal: TypeIn
) -> None:
    terminal("7\n2\n1, 9\n1, 3\n")

    code, out, err = run(emulator, capsys, "chat", "Make me a chart")

    assert code == 0 and "Thanks for the answers." in out, err
    assert "7 is not one of the options: they are numbered 1 to 3." in err
    assert "9 is not one of the options" in err
    assert err.count("Which time range should I use? (a number") == 2
    assert err.count("Break the chart down by? (numbers") == 2
    cid = re.search(r"conversation: (\S+)", out)
    assert cid
    tool = next(m for m in emulator.conversation(cid.group(1)).messages if m["type"] == "tool")
    assert form_answers(tool) == {
        "time_range": "Last 30 days",
        "breakdown": ["Country", "Device type"],
    }


def test_on_a_terminal_an_empty_form_dismisses_and_approval_yes_approves(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], terminal: TypeIn
) -> None:
    terminal("\n\n")
    code, out, _ = run(emulator, capsys, "chat", "Make me a chart")
    assert code == 0 and "No problem" in out

    terminal("y\n")
    code, out, _ = run(emulator, capsys, "chat", "Delete the onboarding dashboard")
    assert code == 0 and "carried out" in out

    terminal("")  # input ended: nothing decided
    code, out, _ = run(emulator, capsys, "chat", "Delete the onboarding dashboard")
    assert code == 3 and "approve: max-tools approve" in out


def test_on_a_terminal_a_chart_shows_as_sparklines(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], terminal: TypeIn
) -> None:

    code, out, _ = run(emulator, capsys, "chat", "Plot weekly signups by country")

    assert code == 0
    rows = [line for line in out.splitlines() if "United States" in line and "│" in line]
    assert rows and any(bar in rows[0] for bar in "▁▂▃▄▅▆▇█")  # the table's row, not the text
    assert "latest" in out and "total" in out  # a table: series, trend, latest, total
    assert "(every number: max-tools chart" in out
