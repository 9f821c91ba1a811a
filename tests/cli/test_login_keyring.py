"""Where `max-tools login` keeps the sign-in: the system keyring when there is one, else the file.

The keyrings are real `keyring` backends at the OS edge (`tests/keyrings.py`): `FolderKeyring`
as on a desktop, `LockedKeyring` as a Secret Service that will not unlock, keyring's own fail
backend as on a server. The sign-ins are real: the CLI signs in at the emulator's OAuth server
through the stand-in browser, and refreshes there.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from max_tools import AsyncMaxClient
from max_tools.cli import main
from max_tools.emulator import RunningEmulator
from tests.keyrings import FolderKeyring, Keyring, LockedKeyring, ReadOnlyKeyring, system_keyring
from tests.signin import Browser, browser, stored

__all__ = ["browser", "system_keyring"]  # the fixtures

ROOT = Path(__file__).parents[2]
CLI = [sys.executable, "-m", "max_tools.cli"]
DAY_S = 86_400
NO_KEYRING = (
    "(no usable system keyring here: that needs max-tools[keyring] and a Keychain, "
    "Credential Manager, Secret Service or KWallet)"
)


def login(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    emulator.set_oauth(auto_consent=True)
    code = main(["login", "--host", emulator.url, "--wait-s", "30", *args])
    out, err = capsys.readouterr()
    return code, out, err


async def login_in_a_child(emulator: RunningEmulator, *args: str) -> tuple[int, str, str]:
    """`max-tools login` as its own process, as a person runs it: its status, stdout, stderr."""
    emulator.set_oauth(auto_consent=True)
    command = [*CLI, *args, "login", "--host", emulator.url, "--wait-s", "30"]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, cwd=ROOT, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def file_entry() -> dict[str, Any]:
    [entry] = stored()["sign_ins"].values()
    return dict(entry)


def kept_tokens(keyring: Keyring) -> dict[str, Any]:
    """The one sign-in's tokens in the keyring."""
    [(name, tokens)] = keyring.entries().items()
    assert name.startswith("max-tools/")
    return dict(tokens)


def make_expiring() -> None:
    """Bring the stored access token's end within the minute, as time passing would."""
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    record = stored()
    for entry in record["sign_ins"].values():
        entry["expires_at"] = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    path.write_text(json.dumps(record))


def test_login_keeps_the_tokens_in_the_system_keyring_and_the_rest_in_the_file(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
) -> None:
    code, out, err = login(emulator, capsys)

    assert code == 0, err
    entry = file_entry()
    [client_id] = stored()["clients"].values()
    tokens = system_keyring.entries()[f"max-tools/{emulator.url} {client_id}"]
    assert tokens["access_token"].startswith("pha_")
    assert tokens["refresh_token"].startswith("phr_")
    assert "access_token" not in entry and "refresh_token" not in entry
    assert entry["kept_in"] == "keyring" and entry["scopes"]
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    assert f"stored in: the system keyring (keyrings FolderKeyring); the rest in {file}" in out

    assert main(["chat", "How many signups?"]) == 0
    chatted = capsys.readouterr()
    assert 'Here is what I found for "How many signups?"' in chatted.out
    assert main(["whoami"]) == 0
    said = capsys.readouterr().out
    assert "stored in: the system keyring (keyrings FolderKeyring)" in said
    for token in tokens.values():
        assert token not in out + err + chatted.out + chatted.err + said


@pytest.mark.anyio
async def test_the_python_client_uses_a_sign_in_kept_in_the_keyring_and_refreshes_it_there(
    emulator: RunningEmulator, browser: Browser, system_keyring: Keyring
) -> None:
    code, _, err = await login_in_a_child(emulator)
    assert code == 0, err
    before = kept_tokens(system_keyring)

    async with AsyncMaxClient.from_env() as client:
        reply = await client.ask("How many signups?")
        emulator.set_oauth(advance_clock_s=8 * DAY_S)  # PostHog's clock: the 7 days are over
        page = await client.list_conversations()

    after = kept_tokens(system_keyring)
    assert reply.status == "completed" and len(page.results) == 1
    assert emulator.oauth_state()["access_tokens"] == 2  # one refresh, after PostHog's 401
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]  # DCR refresh tokens do not rotate
    entry = file_entry()
    assert entry["kept_in"] == "keyring" and "access_token" not in entry
    assert datetime.fromisoformat(entry["expires_at"]) > datetime.now(UTC) + timedelta(days=6)


def test_logout_clears_the_keyring_and_the_file(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
) -> None:
    assert login(emulator, capsys)[0] == 0
    assert system_keyring.entries()

    code = main(["logout"])
    out = capsys.readouterr().out

    assert code == 0
    assert "the sign-in was revoked and forgotten" in out
    assert system_keyring.entries() == {}
    assert stored()["sign_ins"] == {}
    assert emulator.oauth_state()["refresh_tokens"] == 0


@pytest.mark.parametrize("choice", ["--no-keyring", "MAX_TOOLS_KEYRING=0"])
def test_the_file_can_be_chosen_over_a_usable_keyring_and_a_refresh_keeps_it_there(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    choice: str,
) -> None:
    if choice.startswith("MAX_TOOLS_KEYRING"):
        monkeypatch.setenv("MAX_TOOLS_KEYRING", "0")
        code, out, err = login(emulator, capsys)
        monkeypatch.delenv("MAX_TOOLS_KEYRING")  # the refresh below follows the sign-in alone
    else:
        code, out, err = login(emulator, capsys, choice)

    assert code == 0, err
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    assert f"stored in: {file} (readable by you alone)" in out
    assert "no usable system keyring" not in out  # chosen, not missing
    before = file_entry()
    assert before["kept_in"] == "file" and before["access_token"].startswith("pha_")
    assert system_keyring.entries() == {}

    make_expiring()
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err

    after = file_entry()
    assert after["kept_in"] == "file" and after["access_token"] != before["access_token"]
    assert system_keyring.entries() == {}


def test_a_sign_in_stored_by_the_previous_version_moves_to_the_keyring_at_its_next_refresh(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert login(emulator, capsys)[0] == 0  # no keyring yet: the tokens go to the file
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    record = stored()
    for entry in record["sign_ins"].values():
        del entry["kept_in"]  # as the previous version wrote it
    path.write_text(json.dumps(record))
    old = file_entry()["access_token"]
    keyring = Keyring(monkeypatch, tmp_path / "keyring.json")  # the keyring extra, installed

    assert main(["conversations", "list"]) == 0, capsys.readouterr().err
    assert keyring.entries() == {}  # used as it was: nothing moved without a refresh
    assert file_entry()["access_token"] == old
    make_expiring()
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err

    entry = file_entry()
    assert entry["kept_in"] == "keyring" and "access_token" not in entry
    assert kept_tokens(keyring)["access_token"] not in (old, None)
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err


@pytest.mark.anyio
async def test_a_locked_keyring_keeps_the_sign_in_in_the_file_and_says_so_once(
    emulator: RunningEmulator, browser: Browser, system_keyring: Keyring
) -> None:
    system_keyring.use(LockedKeyring)

    code, out, err = await login_in_a_child(emulator)

    assert code == 0, err
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    warning = (
        "max-tools: the system keyring (keyrings LockedKeyring) did not take the PostHog sign-in "
        "(KeyringLocked: Failed to unlock the collection!), so it is kept in "
        f"{file} (readable by you alone)."
    )
    assert [line for line in err.splitlines() if "keyring" in line] == [warning]
    assert f"stored in: {file} (readable by you alone)" in out
    assert "no usable system keyring" not in out  # there is one: it refused, as said above
    entry = file_entry()
    assert entry["kept_in"] == "file"
    async with AsyncMaxClient.from_env() as client:
        reply = await client.ask("How many signups?")
    assert reply.status == "completed"
    assert entry["access_token"] not in out + err and entry["refresh_token"] not in out + err


def test_a_keyring_locked_after_login_says_to_unlock_it_and_loses_nothing(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
) -> None:
    assert login(emulator, capsys)[0] == 0
    system_keyring.use(LockedKeyring)

    code = main(["conversations", "list"])
    err = capsys.readouterr().err

    assert code == 2
    assert err == (
        f"max-tools: Your PostHog sign-in for {emulator.url} is kept in the system keyring "
        "(keyrings LockedKeyring), which could not be read (KeyringLocked: Failed to unlock "
        "the collection!). Unlock it and try again, or run max-tools login again (with "
        "--no-keyring to keep it in a file).\n"
    )
    system_keyring.use(FolderKeyring)  # unlocked
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err


def test_a_keyring_that_refuses_a_refresh_leaves_the_new_tokens_in_the_file(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert login(emulator, capsys)[0] == 0
    old = kept_tokens(system_keyring)["access_token"]
    make_expiring()
    system_keyring.use(ReadOnlyKeyring)

    assert main(["conversations", "list"]) == 0, capsys.readouterr().err

    entry = file_entry()
    assert entry["kept_in"] == "file" and entry["access_token"] not in (old, None)
    warnings = [r.getMessage() for r in caplog.records if "did not take" in r.getMessage()]
    assert len(warnings) == 1 and "PasswordSetError: read-only" in warnings[0]
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err
    assert emulator.oauth_state()["access_tokens"] == 2  # the new token was kept, not lost


def test_without_the_keyring_extra_login_keeps_the_file(
    emulator: RunningEmulator, browser: Browser, system_keyring: Keyring
) -> None:
    emulator.set_oauth(auto_consent=True)
    script = (
        "import sys; sys.modules['keyring'] = None; from max_tools.cli import main; "
        f"sys.exit(main(['login', '--host', {emulator.url!r}, '--wait-s', '30']))"
    )
    done = anyio.run(_run, [sys.executable, "-c", script])

    assert done[0] == 0, done[2]
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    assert f"stored in: {file} (readable by you alone)" in done[1]
    assert NO_KEYRING in done[1]
    assert file_entry()["kept_in"] == "file" and system_keyring.entries() == {}


def test_on_a_server_without_a_keyring_login_says_why_the_file(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    no_keyring_here = login(emulator, capsys)  # the suite's default: keyring's fail backend

    assert no_keyring_here[0] == 0, no_keyring_here[2]
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    lines = no_keyring_here[1].splitlines()
    assert lines[lines.index(f"stored in: {file} (readable by you alone)") + 1] == NO_KEYRING


async def _run(command: list[str]) -> tuple[int, str, str]:
    with anyio.fail_after(60):
        done = await anyio.run_process(command, cwd=ROOT, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_a_refresh_in_a_process_with_the_keyring_turned_off_keeps_the_tokens_in_the_keyring(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    system_keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = login(emulator, capsys)
    assert code == 0, err
    before = kept_tokens(system_keyring)
    # MAX_TOOLS_KEYRING=0 is about new sign-ins: one kept in the keyring stays there.
    monkeypatch.setenv("MAX_TOOLS_KEYRING", "0")

    make_expiring()
    assert main(["conversations", "list"]) == 0, capsys.readouterr().err

    after = file_entry()
    assert after["kept_in"] == "keyring" and "access_token" not in after
    assert kept_tokens(system_keyring)["access_token"] != before["access_token"]
