"""OAuth access tokens on the emulated API, through the client: PostHog's 401s and 403s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from max_tools import AsyncMaxClient, AuthenticationError, PermissionDeniedError
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from tests.emulator.oauth import refresh, register, sign_in

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}


@pytest.fixture
async def http(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    emulator.set_oauth(auto_consent=True)
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        yield client


async def _token(
    http: httpx.AsyncClient, scope: str = "conversation:read conversation:write"
) -> str:
    client = await register(http)
    return str((await sign_in(http, client["client_id"], scope=scope))["access_token"])


def _client(emulator: RunningEmulator, token: str, project_id: int = 1) -> AsyncMaxClient:
    return AsyncMaxClient(api_key=token, host=emulator.url, project_id=project_id)


async def test_a_signed_in_user_lists_and_creates_conversations_with_the_access_token(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    async with _client(emulator, await _token(http)) as client:
        reply = await client.ask("How many signups?")
        assert reply.status == "completed"
        listed = await client.list_conversations()
        assert [item.id for item in listed.results] == [reply.conversation_id]


async def test_the_token_signs_in_the_key_holder_so_both_see_the_same_conversations(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as by_key:
        made = await by_key.ask("Hello")
    async with _client(emulator, await _token(http)) as by_token:
        assert made.conversation_id in [c.id for c in (await by_token.list_conversations()).results]


async def test_two_users_signed_in_at_once_each_see_only_their_own(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    first = await _token(http)
    emulator.set_oauth(user_key="phx_second_person")
    second = await _token(http)
    async with _client(emulator, first) as one, _client(emulator, second) as two:
        mine = await one.ask("First person's question")
        theirs = await two.ask("Second person's question")
        assert [c.id for c in (await one.list_conversations()).results] == [mine.conversation_id]
        assert [c.id for c in (await two.list_conversations()).results] == [theirs.conversation_id]


async def test_an_unknown_token_is_refused_with_posthogs_401(emulator: RunningEmulator) -> None:
    async with _client(emulator, "pha_" + "2" * 44) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.list_conversations()
    assert refused.value.body == {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Invalid access token.",
        "attr": None,
    }


async def test_an_expired_token_is_refused_until_it_is_refreshed(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_oauth(access_token_ttl_s=60)
    registered = await register(http)
    tokens = await sign_in(http, registered["client_id"], scope="conversation:read")
    assert tokens["expires_in"] == 60
    emulator.set_oauth(advance_clock_s=61)
    async with _client(emulator, tokens["access_token"]) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.list_conversations()
    assert refused.value.detail == "Access token has expired."
    refreshed = await refresh(http, registered["client_id"], tokens["refresh_token"])
    async with _client(emulator, refreshed.json()["access_token"]) as client:
        assert (await client.list_conversations()).results == []


async def test_a_revoked_token_is_refused_at_once(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    token = await _token(http)
    async with _client(emulator, token) as client:
        await client.list_conversations()
        assert (await http.post("/_emulator/oauth/revoke", json={})).json()["revoked"] >= 2
        with pytest.raises(AuthenticationError, match="Invalid access token"):
            await client.list_conversations()


async def test_custom_actions_refuse_oauth_tokens_as_posthog_does(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    async with _client(emulator, await _token(http)) as client:
        reply = await client.ask("Hello")
        with pytest.raises(PermissionDeniedError) as refused:
            await client.cancel(reply.conversation_id)
        with pytest.raises(PermissionDeniedError):
            await client.get_queue(reply.conversation_id)
    assert refused.value.detail == "This action does not support personal API key access"


async def test_a_read_only_token_reads_but_cannot_write_or_query(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    async with _client(emulator, await _token(http, "conversation:read")) as client:
        assert (await client.list_conversations()).results == []
        with pytest.raises(PermissionDeniedError) as refused:
            await client.ask("Hello")
        assert refused.value.detail == "API key missing required scope 'conversation:write'"
        with pytest.raises(PermissionDeniedError) as no_query:
            await client.query(TRENDS)
        assert no_query.value.detail == "API key missing required scope 'query:read'"


async def test_a_token_with_query_read_runs_queries(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    async with _client(emulator, await _token(http, "query:read")) as client:
        assert (await client.query(TRENDS)).series


@pytest.mark.parametrize("emulator_options", [{"project_ids": [1, 2]}])
async def test_a_token_for_one_project_is_refused_in_another(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    token = await _token(http)
    async with _client(emulator, token, project_id=2) as client:
        with pytest.raises(PermissionDeniedError) as refused:
            await client.list_conversations()
    assert refused.value.detail == "API key does not have access to the requested project: ID 2."
    emulator.set_oauth(project="all")
    async with _client(emulator, await _token(http), project_id=2) as client:
        assert (await client.list_conversations()).results == []
