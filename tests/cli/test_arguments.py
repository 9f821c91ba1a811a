"""Bad arguments on the command line: the client's one check, reported with the flag, exit 2."""

from __future__ import annotations

import httpx
import pytest

from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.cli.support import run

CID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"


def conversations(emulator: RunningEmulator) -> list[object]:
    answer = httpx.get(
        f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
    )
    results: list[object] = answer.json()["results"]
    return results


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("chat", "Hi", "--conversation", "6a3e"),
            "max-tools chat: argument --conversation: '6a3e'",
        ),
        (("chat", "\n "), "max-tools chat: argument message: the message is empty"),
        (("chat", "Hi", "--wait-s", "-0.5"), "argument --wait-s: -0.5 is not a number of seconds"),
        (("chat", "Hi", "--wait-s", "soon"), "argument --wait-s: 'soon' is not a number"),
        (("queue", "add", CID, " "), "max-tools queue add: argument MESSAGE: the message is empty"),
        (("queue", "rm", CID, "../x"), "argument QUEUE_ID: '../x' is not the id of a queued"),
        (("conversations", "list", "--limit", "2.5"), "--limit: 2.5 is not a whole number of 1"),
    ],
)
def test_a_refused_argument_names_its_flag_exits_2_and_sends_nothing(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    said: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(emulator, capsys, *args)
    err = capsys.readouterr().err

    assert exited.value.code == 2
    assert said in err and err.count("\n") == 1, err
    assert "Traceback" not in err and "usage:" not in err
    assert conversations(emulator) == []  # refused before anything reached PostHog


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("answer", CID, "--dismiss", "x"),
            "max-tools answer: argument QUESTION=ANSWER: 'x' is not question_id=answer",
        ),
        (
            ("answer", CID, "--dismiss", "time_range=Last 7 days"),
            "max-tools answer: give answers or --dismiss, not both",
        ),
        (("answer", CID), "max-tools answer: give answers as question_id=answer"),
        (("answer", CID, "--bogus"), "max-tools answer: unrecognized arguments: --bogus"),
        (
            ("answer", CID, "time_range=Last 7 days", "--debug"),
            "max-tools answer: --debug is an option of max-tools: put it before answer",
        ),
        (
            ("conversations", "list", "--limit=3", "--host=eu"),
            "max-tools conversations list: --host is an option of max-tools: put it before",
        ),
        (("chat", "Hi", "there"), "max-tools chat: unrecognized arguments: there"),
    ],
)
def test_a_misused_command_names_the_mistake_and_its_own_help(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    said: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(emulator, capsys, *args)
    err = capsys.readouterr().err

    assert exited.value.code == 2
    assert said in err and err.count("\n") == 1, err
    command = said.split(":", 1)[0]
    assert err.rstrip().endswith(f"See: {command} --help"), err
    assert conversations(emulator) == []  # refused before anything reached PostHog


def test_a_missing_key_is_named_as_the_command_line_takes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["conversations", "list"])
    err = capsys.readouterr().err

    assert code == 2
    assert "POSTHOG_PERSONAL_API_KEY (or pass --api-key)" in err
    assert "api_key=" not in err


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (("login",), ["--host HOST", "--project-id PROJECT_ID"]),
        (("whoami",), ["--host HOST", "--project-id PROJECT_ID"]),
        (("approve",), ["ID the conversation id", "PROPOSAL_ID the proposal id"]),
        (("conversations", "show"), ["ID the conversation id"]),
        (("chart",), ["N which chart of the conversation, from 1 (default: 1)"]),
        (("queue", "edit"), ["QUEUE_ID the queued follow-up's id", "MESSAGE the follow-up's text"]),
    ],
)
def test_help_names_each_argument_as_a_user_types_it_and_says_what_it_is(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], shown: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse pads to the terminal's width

    assert exited.value.code == 0
    assert "COMMAND_" not in out  # argparse's internal names stay internal
    for text in shown:
        assert text in out, out


def test_a_mode_posthog_refuses_names_the_flag_and_exits_2(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(emulator, capsys, "chat", "Hi", "--mode", "bogus")
    err = capsys.readouterr().err

    assert exited.value.code == 2
    assert err == (
        'max-tools chat: argument --mode: PostHog refused it: "bogus" is not a valid choice. '
        "See: max-tools chat --help\n"
    )
