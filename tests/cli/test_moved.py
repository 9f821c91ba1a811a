"""`max-tools` on a conversation that moved to PostHog AI's sandbox runtime (reference 16)."""

from __future__ import annotations

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


def test_conversations_show_and_list_say_which_conversation_moved(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_faults(mirror_tasks=True)  # every chat has a task: only the runtime tells
    with MaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        stayed = client.ask("How many signups?").conversation_id
    cid = moved(emulator)

    shown_code, shown, _ = run(emulator, capsys, "conversations", "show", cid)
    listed_code, listed, _ = run(emulator, capsys, "conversations", "list")

    assert shown_code == 0 and "\nruntime: sandbox (it moved to PostHog AI's newer runtime" in shown
    [moved_line] = [line for line in listed.splitlines() if line.startswith(cid)]
    [stayed_line] = [line for line in listed.splitlines() if line.startswith(stayed)]
    assert listed_code == 0 and "[runtime: sandbox (it moved" in moved_line
    assert "runtime" not in stayed_line
