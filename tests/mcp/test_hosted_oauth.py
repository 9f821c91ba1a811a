"""Hosted max-mcp signs its users in with PostHog: the official MCP client's OAuth, end to end.

max-mcp is served over real streamable HTTP on loopback with sign-ins on (`--oauth`); the
emulator plays PostHog, both as the authorization server and as the API. The official client's
`OAuthClientProvider` meets the 401, reads the protected-resource metadata, registers (DCR),
follows the authorization link over HTTP (the emulator consents by itself, as the user and
project the test picks), exchanges the code and calls the tools with the token. What max-mcp
sends PostHog is recorded at its connection pool's transport (the HTTP edge).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.lowlevel
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull
from mcp_types import CallToolResult
from pydantic import AnyUrl

from max_tools import AsyncMaxClient
from max_tools.emulator import RunningEmulator
from max_tools.hosting import CACHE_S, HostedSettings, OAuthSettings
from mcp_server import build_server
from mcp_server._http import serve_http
from mcp_server.cli import main
from tests.emulator.oauth_sdk import HOST_REDIRECT, Browser, MemoryStorage, sdk_provider
from tests.mcp.results import data, text

pytestmark = pytest.mark.anyio

ALICE = "phx_secret_value_123"  # the emulator's users: each key is one person
BOB = "phx_unit_key"
SCOPES = ["conversation:read", "conversation:write", "query:read"]
MCP_ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class Sent:
    method: str
    path: str
    authorization: str | None


class Recorder(httpx.AsyncBaseTransport):
    """max-mcp's pool sends PostHog requests through this: it notes each, then sends it on."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(
            Sent(request.method, request.url.path, request.headers.get("authorization"))
        )
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()

    def api(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.path.startswith("/api/")]

    def introspections(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.path == "/oauth/introspect/"]


@dataclass
class Clock:
    """PostHog's clock as max-mcp reads it; moved together with the emulator's."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Deployment:
    url: str
    recorder: Recorder
    clock: Clock

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")


@asynccontextmanager
async def signed_in_server(
    emulator: RunningEmulator,
    *,
    personal_keys: bool = False,
    regions: tuple[str, ...] | None = None,
    **options: Any,
) -> AsyncIterator[Deployment]:
    clock, recorder = Clock(), Recorder()
    project = options.pop("project_id", None)
    allow_header = options.pop("allow_project_header", False)
    oauth = OAuthSettings.create(host=emulator.url, clock=clock, **options)
    if regions is not None:  # where tokens are checked, as for PostHog Cloud's two regions
        oauth = dataclasses.replace(oauth, api_hosts=regions)
    rules = HostedSettings.create(
        host=emulator.url,
        project_id=project,
        allow_project_header=allow_header,
        personal_keys=personal_keys,
        oauth=oauth,
    )
    async with serve_http(build_server(None), port=0, hosted=rules, transport=recorder) as url:
        yield Deployment(url, recorder, clock)


@dataclass
class Host:
    """An MCP host's side of the sign-in: its token storage, browser and OAuth provider."""

    url: str
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    browser: Browser = field(default_factory=Browser)
    provider: OAuthClientProvider = field(init=False)

    def __post_init__(self) -> None:
        self.provider = sdk_provider(
            self.url, self.storage, self.browser, client_name="An MCP host"
        )

    @property
    def token(self) -> str:
        assert self.storage.tokens is not None
        return self.storage.tokens.access_token

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(auth=self.provider, timeout=30)
        async with http, Client(streamable_http_client(self.url, http_client=http)) as client:
            yield client


async def signed_in_host(url: str) -> Host:
    """A host that signed in with its first request (tools/list), and closed its connection."""
    host = Host(url)
    with anyio.fail_after(30):
        async with host.connect() as mcp:
            await mcp.list_tools()
    return host


@asynccontextmanager
async def with_token(url: str, token: str) -> AsyncIterator[Client]:
    """A client that sends a token it already holds, and does not sign in by itself."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def post(url: str, token: str | None = None) -> httpx.Response:
    """A tools/list POST to /mcp, raw, with this bearer token or none."""
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient() as raw:
        return await raw.post(url, headers={**MCP_ACCEPT, **auth}, content=json.dumps(body))


def conversation_ids(listed: CallToolResult) -> set[str]:
    return {item["id"] for item in data(listed)["conversations"]}


async def own_conversations(emulator: RunningEmulator, key: str, project: int = 1) -> set[str]:
    """What a user's own personal key lists: whose the conversations max-mcp made are."""
    async with AsyncMaxClient(api_key=key, host=emulator.url, project_id=project) as client:
        return {item.id for item in (await client.list_conversations()).results}


async def test_the_official_client_signs_in_with_posthog_and_calls_tools_with_that_users_token(
    emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    async with signed_in_server(emulator) as server:
        host = Host(server.url)
        with anyio.fail_after(30):
            async with host.connect() as mcp:
                tools = await mcp.list_tools()
                chat = await mcp.call_tool("max_chat", {"message": "How many signups?"})
                listed = await mcp.call_tool("max_list_conversations", {})

    token = host.token
    asked = parse_qs(urlsplit(host.browser.opened[0]).query)
    assert token.startswith("pha_")
    assert asked["scope"][0].split() == SCOPES and asked["resource"] == [server.url]
    assert len(tools.tools) == 15  # every scope granted: every tool
    assert data(chat)["status"] == "completed"
    cid = data(chat)["conversation_id"]
    assert conversation_ids(listed) == {cid}
    assert await own_conversations(emulator, ALICE) == {cid}  # made as Alice
    sent = server.recorder.sent
    assert len(server.recorder.api()) >= 2
    assert all(request.authorization == f"Bearer {token}" for request in sent)
    assert len(server.recorder.introspections()) == 1  # checked once, then cached
    assert not any(token in record.getMessage() for record in caplog.records)
    access = [r.getMessage() for r in caplog.records if r.name == "mcp_server.access"]
    assert any(line.startswith("POST /mcp 401 ") for line in access)


async def test_the_protected_resource_metadata_is_served_at_both_well_known_paths(
    emulator: RunningEmulator,
) -> None:
    async with signed_in_server(emulator) as server, httpx.AsyncClient() as raw:
        root = await raw.get(f"{server.base}/.well-known/oauth-protected-resource")
        inserted = await raw.get(f"{server.base}/.well-known/oauth-protected-resource/mcp")

    assert root.status_code == inserted.status_code == 200
    assert root.json() == inserted.json()
    document = inserted.json()
    assert document["resource"] == server.url
    assert document["authorization_servers"] == [emulator.url]
    assert document["scopes_supported"] == SCOPES
    assert document["bearer_methods_supported"] == ["header"]


async def test_a_request_without_a_token_gets_401_pointing_at_the_metadata_before_any_posthog_call(
    emulator: RunningEmulator,
) -> None:
    before = emulator.stats().connections
    async with signed_in_server(emulator) as server:
        answer = await post(server.url)
        personal_key = await post(server.url, ALICE)

    metadata = f"{server.base}/.well-known/oauth-protected-resource/mcp"
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}"'
    assert "Sign in with PostHog" in answer.json()["detail"]
    assert personal_key.status_code == 401  # sign-ins only: a personal key is not taken
    assert personal_key.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert f'resource_metadata="{metadata}"' in personal_key.headers["www-authenticate"]
    assert server.recorder.sent == []
    assert emulator.stats().connections == before


async def test_a_token_posthog_does_not_know_gets_401_invalid_token_and_no_api_call(
    emulator: RunningEmulator,
) -> None:
    async with signed_in_server(emulator) as server:
        answer = await post(server.url, "pha_" + "x" * 44)
        again = await post(server.url, "pha_" + "x" * 44)

    www = answer.headers["www-authenticate"]
    assert answer.status_code == again.status_code == 401
    assert www.startswith('Bearer error="invalid_token", error_description="PostHog says')
    assert www.endswith(
        f'resource_metadata="{server.base}/.well-known/oauth-protected-resource/mcp"'
    )
    assert server.recorder.api() == []
    assert len(server.recorder.introspections()) == 1  # the inactive answer stands a while


async def test_a_token_is_checked_at_each_region_until_one_knows_it(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    other_region = "http://127.0.0.1:9"  # the discard port: a region that cannot be reached
    async with signed_in_server(emulator, regions=(emulator.url,)) as server:
        host = await signed_in_host(server.url)
    async with signed_in_server(emulator, regions=(other_region, emulator.url)) as server:
        with anyio.fail_after(30):
            async with with_token(server.url, host.token) as mcp:
                listed = await mcp.call_tool("max_list_conversations", {})
        unknown = await post(server.url, "pha_" + "y" * 44)

    assert not listed.is_error
    assert {sent.path for sent in server.recorder.api()} == {"/api/environments/1/conversations/"}
    # A region that cannot be asked may be the user's: 503, not a 401 that signs them in again.
    assert unknown.status_code == 503 and "could not be asked" in unknown.json()["detail"]


async def test_a_deployment_of_personal_keys_only_refuses_a_sign_in_token_with_a_sentence(
    emulator: RunningEmulator,
) -> None:
    rules = HostedSettings.create(host=emulator.url)
    async with serve_http(build_server(None), port=0, hosted=rules) as url:
        answer = await post(url, "pha_" + "z" * 44)

    assert answer.status_code == 401
    assert "does not accept PostHog sign-in tokens (pha_...)" in answer.json()["detail"]


async def test_both_modes_take_a_personal_key_and_a_sign_in_side_by_side(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=BOB, project=1)
    async with signed_in_server(emulator, personal_keys=True) as server:
        host = Host(server.url)
        with anyio.fail_after(30):
            async with host.connect() as signed_in:
                chat = await signed_in.call_tool("max_chat", {"message": "hi", "wait_s": 0})
            async with with_token(server.url, ALICE) as keyed:
                alices = await keyed.call_tool("max_list_conversations", {})
        bare = await post(server.url)

    assert conversation_ids(alices) == set()  # Bob's conversation is not Alice's
    assert await own_conversations(emulator, BOB) == {data(chat)["conversation_id"]}
    assert bare.status_code == 401 and "or a personal API key" in bare.json()["detail"]


async def test_an_expired_token_is_refreshed_by_the_client_and_no_longer_served(
    emulator: RunningEmulator,
) -> None:
    # Tokens that live 2 minutes: less than max-mcp's cache window, which must not outlive them.
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1, access_token_ttl_s=120)
    async with signed_in_server(emulator) as server:
        host = Host(server.url)
        with anyio.fail_after(30):
            async with host.connect() as mcp:
                await mcp.call_tool("max_list_conversations", {})
                first = host.token
                refresh = host.storage.tokens.refresh_token if host.storage.tokens else None
                # 200 seconds pass, for PostHog, for max-mcp and for the host.
                emulator.set_oauth(advance_clock_s=200)
                server.recorder.sent.clear()
                server.clock.offset += 200
                host.provider.context.token_expiry_time = time.time() - 1
                after = await mcp.call_tool("max_list_conversations", {})
            expired = await post(server.url, first)

    assert not after.is_error
    assert host.token != first and host.token.startswith("pha_")
    assert host.storage.tokens is not None and host.storage.tokens.refresh_token == refresh
    assert len(host.browser.opened) == 1  # refreshed, not signed in again
    assert server.recorder.api()
    assert all(sent.authorization == f"Bearer {host.token}" for sent in server.recorder.api())
    assert expired.status_code == 401 and "not active" in expired.json()["detail"]


async def test_a_revoked_token_stops_working_within_the_cache_window(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    async with signed_in_server(emulator) as server, httpx.AsyncClient() as control:
        host = await signed_in_host(server.url)
        with anyio.fail_after(30):
            revoked = await control.post(f"{emulator.url}/_emulator/oauth/revoke", json={})
            cached = await post(server.url, host.token)  # no PostHog call: still served
            server.clock.offset += CACHE_S
            later = await post(server.url, host.token)

    assert revoked.json()["revoked"] >= 1
    assert cached.status_code == 200
    assert later.status_code == 401
    assert later.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_a_token_posthog_refuses_mid_window_is_a_tool_error_and_then_a_401(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    async with signed_in_server(emulator) as server, httpx.AsyncClient() as control:
        host = await signed_in_host(server.url)
        with anyio.fail_after(30):
            await control.post(f"{emulator.url}/_emulator/oauth/revoke", json={})
            async with with_token(server.url, host.token) as stale:
                refused = await stale.call_tool("max_list_conversations", {})
            next_request = await post(server.url, host.token)

    assert refused.is_error and "no longer accepts the user's sign-in" in text(refused)
    assert host.token not in text(refused)
    assert next_request.status_code == 401


async def _read_only_app(emulator: RunningEmulator) -> OAuthClientInformationFull:
    """An app registered in PostHog that may only read conversations: a read-only sign-in."""
    async with httpx.AsyncClient() as control:
        made = await control.post(
            f"{emulator.url}/_emulator/oauth/apps",
            json={
                "redirect_uris": [HOST_REDIRECT],
                "client_name": "Read-only host",
                "token_endpoint_auth_method": "none",
                "scope": "conversation:read",
            },
        )
    return OAuthClientInformationFull(
        client_id=made.json()["client_id"],
        redirect_uris=[AnyUrl(HOST_REDIRECT)],
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
    )


async def test_a_sign_in_that_may_only_read_lists_only_reading_tools_and_refuses_writing(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    app = await _read_only_app(emulator)
    async with signed_in_server(emulator) as server:
        host = Host(server.url, storage=MemoryStorage(app))
        with anyio.fail_after(30):
            async with host.connect() as mcp:
                tools = await mcp.list_tools()
                chat = await mcp.call_tool("max_chat", {"message": "hi"})
                chart = await mcp.call_tool("max_get_chart", {"conversation_id": "x" * 36})

    names = {tool.name for tool in tools.tools}
    assert "max_list_conversations" in names and "max_wait" in names
    assert "max_chat" not in names and "max_get_chart" not in names  # no write, no query:read
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.tools)
    assert chat.is_error and "needs the conversation:write scope" in text(chat)
    assert chart.is_error and "needs the query:read scope" in text(chart)
    assert emulator.stats().conversations == 0


async def test_two_users_signed_in_at_once_each_use_their_own_token(
    emulator: RunningEmulator,
) -> None:
    started: dict[str, list[str]] = {ALICE: [], BOB: []}
    listed: dict[str, set[str]] = {}
    async with signed_in_server(emulator) as server:
        alice, bob = Host(server.url), Host(server.url)
        with anyio.fail_after(60):
            async with AsyncExitStack() as stack:
                # Each connects (and signs in) as the user the emulator consents for then.
                emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
                as_alice = await stack.enter_async_context(alice.connect())
                emulator.set_oauth(auto_consent=True, user_key=BOB, project=1)
                as_bob = await stack.enter_async_context(bob.connect())

                async def user(key: str, mcp: Client) -> None:
                    for round_ in range(3):
                        chat = await mcp.call_tool(
                            "max_chat", {"message": f"round {round_}", "wait_s": 0}
                        )
                        started[key].append(data(chat)["conversation_id"])
                        await anyio.lowlevel.checkpoint()  # the other user's call in between
                    listed[key] = conversation_ids(
                        await mcp.call_tool("max_list_conversations", {})
                    )

                with emulator.held():
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(user, ALICE, as_alice)
                        tg.start_soon(user, BOB, as_bob)

    assert alice.token != bob.token
    assert listed[ALICE] == set(started[ALICE]) and len(listed[ALICE]) == 3
    assert listed[BOB] == set(started[BOB]) and len(listed[BOB]) == 3
    assert await own_conversations(emulator, BOB) == set(started[BOB])
    tokens = {sent.authorization for sent in server.recorder.sent}
    assert tokens == {f"Bearer {alice.token}", f"Bearer {bob.token}"}


@pytest.mark.parametrize("emulator_options", [{"project_ids": [1, 2]}])
async def test_a_token_for_another_project_works_in_that_project_only(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=2)
    async with signed_in_server(emulator, project_id="1", allow_project_header=True) as server:
        host = Host(server.url)
        with anyio.fail_after(30):
            async with host.connect() as mcp:
                chat = await mcp.call_tool("max_chat", {"message": "hi", "wait_s": 0})
        async with httpx.AsyncClient() as raw:
            elsewhere = await raw.post(
                server.url,
                headers={"Authorization": f"Bearer {host.token}", "x-posthog-project-id": "1"},
            )

    assert await own_conversations(emulator, ALICE, project=2) == {data(chat)["conversation_id"]}
    assert await own_conversations(emulator, ALICE, project=1) == set()
    assert all("/environments/2/" in sent.path for sent in server.recorder.api())
    assert elsewhere.status_code == 403
    assert "covers project 2 only, not project 1" in elsewhere.json()["detail"]


async def test_actions_posthog_refuses_to_tokens_say_so_in_a_sentence(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    async with signed_in_server(emulator) as server:
        host = Host(server.url)
        with anyio.fail_after(30):
            async with host.connect() as mcp:
                chat = await mcp.call_tool("max_chat", {"message": "hi", "wait_s": 0})
                cid = data(chat)["conversation_id"]
                refused = [
                    await mcp.call_tool("max_cancel", {"conversation_id": cid}),
                    await mcp.call_tool("max_list_queue", {"conversation_id": cid}),
                    await mcp.call_tool(
                        "max_append_message", {"conversation_id": cid, "message": "note"}
                    ),
                ]

    for result in refused:
        assert result.is_error
        assert "refuses this action" in text(result), text(result)
        assert "\n" not in text(result).strip()


async def test_only_tokens_of_the_allowed_clients_are_accepted(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True, user_key=ALICE, project=1)
    app = await _read_only_app(emulator)
    # A token the user gave another application, signed in at PostHog directly.
    other = Host(f"{emulator.url}/api/environments/1/conversations/")
    async with httpx2.AsyncClient(auth=other.provider) as elsewhere:
        with anyio.fail_after(30):
            assert (await elsewhere.get(other.url)).status_code == 200
    assert app.client_id is not None
    async with signed_in_server(emulator, client_ids=[app.client_id]) as server:
        mine = Host(server.url, storage=MemoryStorage(app))
        with anyio.fail_after(30):
            async with mine.connect() as mcp:
                listed = await mcp.call_tool("max_list_conversations", {})
        foreign = await post(server.url, other.token)

    assert not listed.is_error
    assert foreign.status_code == 401
    assert foreign.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert "issued to another application" in foreign.json()["detail"]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--oauth"], "--oauth needs --transport http"),
        (["--transport", "http", "--oauth", "--auth-token", "t0ken"], "do not mix"),
        (["--transport", "http", "--oauth", "--host", "0.0.0.0"], "--public-url"),
        (
            ["--transport", "http", "--oauth", "--public-url", "http://max.example.com/mcp"],
            "uses http off loopback",
        ),
        (["--transport", "http", "--public-url", "https://x.example/mcp"], "only apply with"),
    ],
)
def test_bad_sign_in_settings_are_one_sentence_and_exit_2(
    flags: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(flags)

    errors = capsys.readouterr().err
    assert code == 2
    assert says in errors and "Traceback" not in errors


def test_the_issuer_is_posthogs_cross_region_server_for_cloud_and_the_host_otherwise() -> None:
    us = OAuthSettings.create(host="us")
    eu = OAuthSettings.create(host="https://eu.posthog.com")
    pinned = OAuthSettings.create(host="eu", issuer="https://eu.posthog.com")
    own = OAuthSettings.create(host="https://posthog.example.com")

    assert (us.issuer, us.api_hosts) == (
        "https://oauth.posthog.com",
        ("https://us.posthog.com", "https://eu.posthog.com"),
    )
    assert eu.api_hosts == ("https://eu.posthog.com", "https://us.posthog.com")
    assert (pinned.issuer, pinned.api_hosts) == (
        "https://eu.posthog.com",
        ("https://eu.posthog.com",),
    )
    assert (own.issuer, own.api_hosts) == (
        "https://posthog.example.com",
        ("https://posthog.example.com",),
    )
