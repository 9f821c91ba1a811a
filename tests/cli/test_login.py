"""`max-tools login`, `logout` and `whoami` end to end: a stand-in browser, the emulator's OAuth.

The browser is `standin_browser.py`, which `webbrowser` runs through ``BROWSER``: it opens the
authorize link over real HTTP, the emulator consents at once and redirects it to max-tools'
loopback listener, exactly as a person's browser would travel.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.processes import read_until
from tests.signin import Browser, browser, stored, tokens

__all__ = ["browser"]  # the fixture

CLI = [sys.executable, "-m", "max_tools.cli"]


def login(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = main(["login", "--host", emulator.url, "--wait-s", "30", *args])
    out, err = capsys.readouterr()
    return code, out, err


def introspect(emulator: RunningEmulator, token: str) -> bool:
    """Whether the emulator still takes `token` (self-introspection)."""
    answer = httpx.post(
        f"{emulator.url}/oauth/introspect/",
        data={"token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    return bool(answer.json()["active"])


def test_login_signs_in_through_the_browser_and_chat_then_needs_no_key(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)

    code, out, err = login(emulator, capsys)

    assert code == 0, err
    [link] = browser.opened()
    params = {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["redirect_uri"].startswith("http://127.0.0.1:")
    assert params["redirect_uri"].endswith("/callback")
    assert f"Signed in to PostHog at {emulator.url}." in out
    assert "user: user1@emulator.invalid" in out and "project: 1" in out
    assert "scopes: openid email conversation:read conversation:write query:read" in out
    assert link in err  # the link is shown too, in case the browser does not open

    code = main(["chat", "How many signups?"])
    answer, chat_err = capsys.readouterr()
    assert code == 0, chat_err
    assert 'Here is what I found for "How many signups?"' in answer
    for token in tokens():
        assert token.startswith(("pha_", "phr_"))
        assert token not in out + err + answer


def test_the_stored_sign_in_is_readable_by_its_user_alone(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0

    folder = Path(os.environ["MAX_TOOLS_CONFIG_DIR"])
    assert stat.S_IMODE((folder / "sign-in.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [path.name for path in folder.iterdir()] == ["sign-in.json"]  # no temporary left


def test_a_second_login_reuses_the_client_registered_the_first_time(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0
    first = stored()["clients"]

    assert login(emulator, capsys)[0] == 0

    assert emulator.oauth_state()["apps"] == 1
    assert stored()["clients"] == first == {emulator.url: first[emulator.url]}
    [client_id] = first.values()
    assert all(f"client_id={client_id}" in link for link in browser.opened())


def test_declining_in_the_browser_is_one_line_and_stores_nothing(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    browser.will("deny")  # the consent page, answered with Deny

    code, out, err = login(emulator, capsys)

    assert code == 1
    assert err.splitlines()[-1] == (
        "max-tools: You declined the sign-in in the browser, so nothing was stored."
    )
    assert out == "" and stored()["sign_ins"] == {}


@pytest.mark.parametrize("command", ["login", "logout", "whoami"])
def test_the_emulator_flag_on_a_sign_in_command_says_how_to_sign_in_to_an_emulator(
    capsys: pytest.CaptureFixture[str], browser: Browser, command: str
) -> None:
    code = main(["--emulator", command])
    out, err = capsys.readouterr()

    assert code == 2 and out == ""
    assert err == (
        f"max-tools: --emulator does not apply to {command}: serve an emulator that stays up "
        "with max-tools emulator, then run max-tools login --host http://127.0.0.1:8010\n"
    )
    assert browser.opened() == []


def test_allowing_on_the_consent_page_as_it_stands_signs_in(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    browser.will("allow")  # the emulator's HTML consent page, Allow pressed on its defaults

    code, out, err = login(emulator, capsys)

    assert code == 0, err
    assert f"Signed in to PostHog at {emulator.url}." in out
    assert "conversation:write" in out
    assert main(["chat", "How many signups?"]) == 0
    assert 'Here is what I found for "How many signups?"' in capsys.readouterr().out


def test_a_return_with_another_state_is_refused(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    browser.will("forge-state")

    code, _, err = login(emulator, capsys)

    assert code == 1
    assert "the state does not match" in err.splitlines()[-1]
    assert stored()["sign_ins"] == {}
    assert emulator.oauth_state()["access_tokens"] == 0  # the code was never exchanged


def test_login_refuses_plain_http_off_loopback_for_the_sign_in_itself(
    capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    code = main(["login", "--host", "http://posthog.example.com", "--wait-s", "5"])
    err = capsys.readouterr().err

    assert code == 2
    assert "the API key or sign-in would travel unencrypted" in err
    assert browser.opened() == []


def test_login_stops_waiting_for_a_browser_that_does_not_come_back(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    browser.will("away")

    code, _, err = login(emulator, capsys, "--wait-s", "0.2")

    assert code == 1
    assert "The browser did not come back within 0.2 s, so nothing was stored" in err


def test_no_browser_says_how_a_browser_on_another_machine_comes_back(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = login(emulator, capsys, "--no-browser", "--wait-s", "0.2")

    assert code == 1  # nobody opened the link
    [link] = [line for line in err.splitlines() if line.startswith("http")]
    back = urlsplit(parse_qs(urlsplit(link).query)["redirect_uri"][0])
    assert f"It returns to http://127.0.0.1:{back.port} on this computer." in err
    assert f"ssh -L {back.port}:127.0.0.1:{back.port} <this computer>" in err


async def test_no_browser_prints_the_link_and_waits_for_the_person_to_open_it(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True)
    command = [*CLI, "login", "--host", emulator.url, "--no-browser"]
    async with await anyio.open_process(command) as process:
        printed = await read_until(process.stderr, "Waiting for the browser")
        [link] = [line for line in printed.splitlines() if line.startswith("http")]
        assert "Open this link in a browser to sign in to PostHog:" in printed
        with anyio.fail_after(30):
            async with httpx.AsyncClient(follow_redirects=True) as person:
                page = await person.get(link)
            assert process.stdout is not None
            out = (await process.stdout.receive()).decode()
            assert await process.wait() == 0
    assert "max-tools is signed in. You can close this tab." in page.text
    assert "Signed in to PostHog" in out


def test_logout_revokes_the_sign_in_at_posthog_and_forgets_it(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0
    access, _ = tokens()
    assert introspect(emulator, access)

    code = main(["logout"])
    out = capsys.readouterr().out

    assert code == 0
    assert (
        out == f"Signed out of PostHog at {emulator.url}: the sign-in was revoked and forgotten.\n"
    )
    assert not introspect(emulator, access)
    assert emulator.oauth_state()["refresh_tokens"] == 0
    assert stored()["sign_ins"] == {}
    assert main(["conversations", "list"]) == 2
    assert "run max-tools login" in capsys.readouterr().err


def test_logout_forgets_the_sign_in_even_when_posthog_cannot_be_reached(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    record = stored()
    [sign_in] = record["sign_ins"].values()
    sign_in["revocation_endpoint"] = "http://127.0.0.1:9/oauth/revoke/"  # nobody listens
    path.write_text(json.dumps(record))

    code = main(["logout"])
    out, err = capsys.readouterr()

    assert code == 1
    assert "the sign-in was forgotten on this computer" in out
    assert "PostHog did not confirm the revocation" in err
    assert stored()["sign_ins"] == {}


def test_whoami_says_which_credential_host_project_and_scopes_are_used(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0

    code = main(["whoami"])
    out, err = capsys.readouterr()

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"credential: PostHog sign-in (max-tools login) at {emulator.url}"
    assert lines[1:4] == ["user: user1@emulator.invalid", f"API host: {emulator.url}", "project: 1"]
    assert lines[4] == "scopes: openid email conversation:read conversation:write query:read"
    assert lines[5].startswith("access token until: ")
    assert "(refreshed automatically before then)" in lines[5]
    file = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    assert lines[6] == f"stored in: {file} (readable by you alone)"
    assert not any(token in out for token in tokens())

    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("POSTHOG_HOST", emulator.url)
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "credential: personal API key from POSTHOG_PERSONAL_API_KEY"
    assert DEFAULT_KEY not in out


def test_a_key_in_the_environment_is_said_to_win_over_the_sign_in(
    emulator: RunningEmulator,
    capsys: pytest.CaptureFixture[str],
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.set_oauth(auto_consent=True)
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("POSTHOG_HOST", emulator.url)

    code, out, err = login(emulator, capsys)
    assert code == 0, err
    assert "POSTHOG_PERSONAL_API_KEY is set, and a key wins over the sign-in" in err

    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "credential: personal API key from POSTHOG_PERSONAL_API_KEY"
    assert f"not used: the PostHog sign-in stored for {emulator.url}" in out
    assert DEFAULT_KEY not in out + err


def test_a_revoked_sign_in_says_to_log_in_again(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    assert login(emulator, capsys)[0] == 0
    httpx.post(f"{emulator.url}/_emulator/oauth/revoke", json={})  # revoked in PostHog's settings

    code = main(["conversations", "list"])
    err = capsys.readouterr().err

    assert code == 1
    assert err == (
        "max-tools: Could not list conversations: 401. Your PostHog sign-in has expired or was "
        "revoked: run max-tools login again (or use a personal API key in "
        "POSTHOG_PERSONAL_API_KEY).\n"
    )


def test_a_client_id_posthog_no_longer_knows_is_registered_again(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    emulator.set_oauth(auto_consent=True)
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    forgotten = {"version": 1, "sign_ins": {}, "clients": {emulator.url: "deleted-app"}}
    path.write_text(json.dumps(forgotten))  # as after the emulator restarted, or the app went

    code, _, err = login(emulator, capsys)

    assert code == 0, err
    [client_id] = stored()["clients"].values()
    assert client_id != "deleted-app" and emulator.oauth_state()["apps"] == 1
    assert f"client_id={client_id}" in browser.opened()[0]
    assert emulator.oauth_state()["codes"] == 0  # the check issued no code
