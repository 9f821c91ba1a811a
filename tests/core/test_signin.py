"""A stored sign-in (`max-tools login`) in use: refreshed, refused, outranked, and in every face.

The sign-ins are real: `max_tools.login` runs the code flow against the emulator's OAuth
server with the stand-in browser (`tests/standin_browser.py`). No key is set anywhere unless a
test sets one.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from langchain_integration import MaxTool, MaxToolkit
from max_tools import (
    AsyncMaxClient,
    ConfigurationError,
    MaxClient,
    PermissionDeniedError,
    SignIn,
    SignInExpiredError,
    SignInStore,
    login,
)
from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from mcp_server import build_server
from tests.signin import Browser, browser, stored, tokens

__all__ = ["browser"]  # the fixture

DAY_S = 86_400


async def signed_in(emulator: RunningEmulator) -> SignIn:
    emulator.set_oauth(auto_consent=True)
    with anyio.fail_after(30):
        return await login(host=emulator.url, wait_s=20)


def set_stored_expiry(when: datetime) -> None:
    """Move the stored access token's end, as time passing on this computer would."""
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    record = stored()
    for sign_in in record["sign_ins"].values():
        sign_in["expires_at"] = when.isoformat()
    path.write_text(json.dumps(record))


# The Python client


@pytest.mark.anyio
async def test_the_client_uses_the_sign_in_when_no_key_is_given(
    emulator: RunningEmulator, browser: Browser
) -> None:
    sign_in = await signed_in(emulator)

    async with AsyncMaxClient.from_env() as client:
        reply = await client.ask("How many signups?")

    assert client.settings.sign_in is not None
    assert client.settings.host == emulator.url and client.settings.project_id == "1"
    assert sign_in.scopes == [
        "openid",
        "email",
        "conversation:read",
        "conversation:write",
        "query:read",
    ]
    assert reply.status == "completed"
    assert sign_in.access_token.get_secret_value() not in repr(sign_in) + repr(client.settings)


@pytest.mark.anyio
async def test_an_expired_access_token_is_refreshed_after_posthog_refuses_it(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    [before, refresh] = tokens()
    emulator.set_oauth(advance_clock_s=8 * DAY_S)  # PostHog's clock: the 7 days are over

    async with AsyncMaxClient() as client:
        page = await client.list_conversations()

    [after, refresh_after] = tokens()
    assert page.results == []
    assert after != before and refresh_after == refresh  # DCR refresh tokens do not rotate
    assert emulator.oauth_state()["access_tokens"] == 2  # the emulator issued one refresh


@pytest.mark.anyio
async def test_a_token_that_ends_within_a_minute_is_refreshed_once_before_use(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    [before, _] = tokens()
    set_stored_expiry(datetime.now(UTC) + timedelta(seconds=30))

    async with AsyncMaxClient() as client, anyio.create_task_group() as requests:
        for _ in range(5):  # at once: they take turns, and only the first refreshes
            requests.start_soon(client.list_conversations)

    [after, _] = tokens()
    assert after != before
    assert emulator.oauth_state()["access_tokens"] == 2
    assert datetime.fromisoformat(stored()["sign_ins"][emulator.url]["expires_at"]) > (
        datetime.now(UTC) + timedelta(days=6)
    )


@pytest.mark.anyio
async def test_a_revoked_sign_in_says_to_run_max_tools_login_again(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    async with AsyncMaxClient() as client, httpx.AsyncClient(base_url=emulator.url) as http:
        await client.list_conversations()
        await http.post("/_emulator/oauth/revoke", json={})  # as in PostHog's settings

        with pytest.raises(SignInExpiredError) as raised:
            await client.list_conversations()

    assert str(raised.value) == (
        "Could not list conversations: 401. Your PostHog sign-in has expired or was revoked: "
        "run max-tools login in a terminal again (or use a personal API key in "
        "POSTHOG_PERSONAL_API_KEY)."
    )
    assert raised.value.status_code == 401


@pytest.mark.anyio
async def test_a_key_in_the_environment_wins_over_the_sign_in(
    emulator: RunningEmulator, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in(emulator)
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", DEFAULT_KEY)

    async with AsyncMaxClient.from_env(host=emulator.url, project_id=1) as client:
        await client.list_conversations()

    assert client.settings.sign_in is None
    assert client.settings.api_key.get_secret_value() == DEFAULT_KEY
    async with AsyncMaxClient(api_key="phx_explicit", host=emulator.url) as explicit:
        assert explicit.settings.sign_in is None


@pytest.mark.anyio
async def test_an_explicit_project_wins_over_the_one_signed_in_for(
    emulator: RunningEmulator, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in(emulator)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "2")

    client = AsyncMaxClient()

    assert client.settings.project_id == "2" and client.settings.sign_in is not None
    await client.aclose()


def test_without_key_or_sign_in_the_error_says_to_log_in() -> None:
    with pytest.raises(ConfigurationError) as raised:
        AsyncMaxClient(host="eu")

    assert str(raised.value).startswith(
        "No PostHog personal API key, and no sign-in for https://eu.posthog.com. Sign in with "
        "PostHog (run max-tools login), or set POSTHOG_PERSONAL_API_KEY"
    )


@pytest.mark.anyio
async def test_cancel_with_a_sign_in_says_what_works_instead(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    async with AsyncMaxClient() as client:
        reply = await client.ask("How many signups?")

        with pytest.raises(PermissionDeniedError) as raised:
            await client.cancel(reply.conversation_id)

    message = str(raised.value)
    assert "and to a PostHog sign-in (max-tools login, an OAuth token)" in message
    assert "set POSTHOG_PERSONAL_API_KEY to a personal API key without scopes" in message


# The other faces


def cli_login(emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.set_oauth(auto_consent=True)
    assert main(["login", "--host", emulator.url, "--wait-s", "30"]) == 0, capsys.readouterr().err
    capsys.readouterr()


def test_the_sync_client_uses_the_sign_in(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    cli_login(emulator, capsys)

    with MaxClient() as client:
        reply = client.ask("How many signups?")

    assert reply.status == "completed" and client.settings.sign_in is not None


def test_the_langchain_toolkit_and_a_lone_tool_use_the_sign_in(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], browser: Browser
) -> None:
    cli_login(emulator, capsys)
    emulator.set_oauth(advance_clock_s=8 * DAY_S)  # and it must refresh on the way

    tools = {tool.name: tool for tool in MaxToolkit().get_tools()}
    asked = tools["max_chat"].invoke({"message": "How many signups?"})
    listed = MaxTool(action="max_list_conversations").invoke({})

    assert "status: completed" in asked
    assert "How many signups" in listed or "conversation" in listed
    assert emulator.oauth_state()["access_tokens"] == 2


@pytest.mark.anyio
async def test_stdio_max_mcp_uses_the_sign_in_without_any_key(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server.cli"], env=env)

    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool("max_chat", {"message": "How many signups?"})

    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"


@pytest.mark.anyio
async def test_a_token_refused_again_after_a_refresh_is_not_retried_forever() -> None:
    store = SignInStore()
    store.save(
        SignIn(
            host="https://us.posthog.com",
            issuer="https://us.posthog.com",
            client_id="max-tools-client",
            token_endpoint="https://us.posthog.com/oauth/token/",
            access_token=SecretStr("pha_first"),
            refresh_token=SecretStr("phr_refresh"),
            expires_at=datetime.now(UTC) + timedelta(days=7),
            posthog_base_url="https://us.posthog.com",
            signed_in_at=datetime.now(UTC),
        )
    )
    seen: list[tuple[str, str]] = []

    def posthog(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization", "")))
        if request.url.path == "/oauth/token/":
            return httpx.Response(200, json={"access_token": "pha_second", "expires_in": 604800})
        detail = "User associated with access token is disabled."
        body = {"type": "authentication_error", "code": "authentication_failed", "detail": detail}
        return httpx.Response(401, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(posthog)) as http:
        client = AsyncMaxClient(http_client=http, max_retries=0)
        with pytest.raises(SignInExpiredError) as raised:
            await client.list_conversations()

    conversations = "/api/environments/@current/conversations/"
    assert seen == [
        (conversations, "Bearer pha_first"),
        ("/oauth/token/", ""),
        (conversations, "Bearer pha_second"),
    ]
    assert "run max-tools login in a terminal again" in str(raised.value)
    assert "pha_" not in str(raised.value)


@pytest.mark.anyio
async def test_an_mcp_tool_on_a_revoked_sign_in_tells_the_model_who_must_sign_in_again(
    emulator: RunningEmulator, browser: Browser
) -> None:
    await signed_in(emulator)
    async with (
        AsyncMaxClient() as client,
        Client(build_server(client)) as mcp,
        httpx.AsyncClient(base_url=emulator.url) as http,
    ):
        await http.post("/_emulator/oauth/revoke", json={})
        result = await mcp.call_tool("max_list_conversations", {})

    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]  # a text block
    assert "ask the person running this server to run max-tools login in a terminal again" in text
