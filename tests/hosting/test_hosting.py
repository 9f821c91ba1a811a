"""max_tools.hosting through its public API, as a server face other than max-mcp would use it.

PostHog is faked at the HTTP edge (`httpx.MockTransport` behind the shared pool): it answers
self-introspection as PostHog does. max-mcp's end-to-end use is in tests/mcp/test_hosted*.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest

import max_tools.hosting
from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.hosting import (
    CACHE_S,
    Answer,
    Caller,
    ClientStates,
    HostedAuth,
    HostedSettings,
    OAuthSettings,
    ServerKeyAuth,
    protected_resource_metadata,
    settings_from_flags,
    shared_http_client,
)

POSTHOG = "https://posthog.example.com"
RESOURCE = "https://agents.example.com/a2a"
KEY = "phx_hosting_test_key"


@dataclass
class FakePostHog:
    """PostHog's self-introspection: each token's answer, and how many times it was asked."""

    tokens: dict[str, dict[str, object]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    now: float = 1_000_000.0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/oauth/introspect/"
        token = parse_qs(request.content.decode())["token"][0]
        assert request.headers["authorization"] == f"Bearer {token}"
        self.asked.append(token)
        return httpx.Response(200, json=self.tokens.get(token, {"active": False}))


@asynccontextmanager
async def gate(
    settings: HostedSettings, answer: Callable[[httpx.Request], httpx.Response]
) -> AsyncIterator[HostedAuth]:
    """A face's `HostedAuth` over its shared pool, PostHog answering at the pool's edge."""
    async with shared_http_client(httpx.MockTransport(answer)) as pool:
        yield HostedAuth(settings, pool, realm="max-a2a")


@asynccontextmanager
async def auth_for(
    posthog: FakePostHog, *, allow_project_header: bool = False
) -> AsyncIterator[HostedAuth]:
    """A deployment that signs users in with PostHog, and takes no personal key."""
    oauth = OAuthSettings.create(
        host=POSTHOG, public_url=RESOURCE, bind="0.0.0.0", clock=lambda: posthog.now
    )
    settings = HostedSettings.create(
        host=POSTHOG, personal_keys=False, oauth=oauth, allow_project_header=allow_project_header
    )
    async with gate(settings, posthog.handle) as auth:
        yield auth


def signed_in(scope: str, *, teams: list[int] | None = None) -> dict[str, object]:
    return {"active": True, "scope": scope, "scoped_teams": teams or [], "client_id": "agent"}


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **headers}


def headers_of(answer: Answer) -> dict[str, str]:
    return dict(answer.headers)


def test_all_is_sorted_and_every_name_exists() -> None:
    names = max_tools.hosting.__all__

    def key(name: str) -> tuple[int, str]:  # constants, then classes, then functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert names == sorted(names, key=key)
    assert [name for name in names if not hasattr(max_tools.hosting, name)] == []


async def test_a_request_without_credentials_gets_a_401_that_points_at_the_metadata() -> None:
    posthog = FakePostHog()
    async with auth_for(posthog) as auth:
        answer = await auth.authenticate({}, resource=RESOURCE)

    assert isinstance(answer, Answer) and answer.status == 401
    www = headers_of(answer)["www-authenticate"]
    assert www == (
        'Bearer resource_metadata="https://agents.example.com/.well-known/oauth-protected-resource/a2a"'
    )
    assert json.loads(answer.body)["error"] == "unauthorized"
    assert posthog.asked == []  # refused before any PostHog call


async def test_an_inactive_token_gets_invalid_token_in_its_challenge() -> None:
    async with auth_for(FakePostHog()) as auth:
        answer = await auth.authenticate(bearer("pha_revoked"), resource=RESOURCE)

    assert isinstance(answer, Answer) and answer.status == 401
    www = headers_of(answer)["www-authenticate"]
    assert www.startswith('Bearer error="invalid_token", error_description="PostHog says')
    assert www.endswith(
        'resource_metadata="https://agents.example.com/.well-known/oauth-protected-resource/a2a"'
    )


async def test_without_sign_ins_a_401_names_the_faces_realm() -> None:
    async with gate(HostedSettings.create(host=POSTHOG), FakePostHog().handle) as auth:
        answer = await auth.authenticate(bearer("phc_project_token"))

    assert isinstance(answer, Answer) and answer.status == 401
    assert headers_of(answer)["www-authenticate"] == 'Bearer realm="max-a2a"'
    assert "project token" in json.loads(answer.body)["detail"]


async def test_a_personal_key_gets_a_client_for_its_host_and_the_project_it_names() -> None:
    settings = HostedSettings.create(host=POSTHOG, allow_project_header=True)
    async with gate(settings, FakePostHog().handle) as auth:
        caller = await auth.authenticate(bearer(KEY, **{"x-posthog-project-id": "42"}))

    assert isinstance(caller, Caller)
    assert (caller.client.settings.host, caller.client.settings.project_id) == (POSTHOG, "42")
    assert caller.signed_in is False and caller.read_only is False and caller.can_query is True


async def test_a_sign_in_is_introspected_once_and_then_served_from_the_cache_by_digest() -> None:
    posthog = FakePostHog(tokens={"pha_alice": signed_in("conversation:write")})
    async with auth_for(posthog) as auth:
        first = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)
        second = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)
        assert posthog.asked == ["pha_alice"]

        posthog.now += CACHE_S  # the check stands no longer
        await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)
        assert posthog.asked == ["pha_alice", "pha_alice"]

    assert isinstance(first, Caller) and isinstance(second, Caller)


async def test_a_forgotten_token_is_checked_again_on_its_next_request() -> None:
    posthog = FakePostHog(tokens={"pha_alice": signed_in("conversation:write")})
    async with auth_for(posthog) as auth:
        caller = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)
        assert isinstance(caller, Caller)
        posthog.tokens.clear()  # PostHog revoked it, and refused it on a call
        caller.forget_token()

        answer = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)

    assert isinstance(answer, Answer) and answer.status == 401
    assert posthog.asked == ["pha_alice", "pha_alice"]


@pytest.mark.parametrize(
    ("scope", "read_only", "can_query", "chat", "chart"),
    [
        ("conversation:read", True, False, False, False),
        ("conversation:read query:read", True, True, False, True),
        ("conversation:write", False, False, True, False),
        ("conversation:write query:read", False, True, True, True),
        ("*", False, True, True, True),
    ],
)
async def test_the_granted_scopes_decide_what_a_signed_in_caller_may_do(
    scope: str, read_only: bool, can_query: bool, chat: bool, chart: bool
) -> None:
    posthog = FakePostHog(tokens={"pha_alice": signed_in(scope)})
    async with auth_for(posthog) as auth:
        caller = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)

    assert isinstance(caller, Caller) and caller.signed_in
    assert (caller.read_only, caller.can_query) == (read_only, can_query)
    assert caller.allows("max_list_conversations")  # conversation:write covers :read
    assert (caller.allows("max_chat"), caller.allows("max_get_chart")) == (chat, chart)


async def test_a_token_for_one_project_uses_it_and_is_refused_another() -> None:
    posthog = FakePostHog(tokens={"pha_alice": signed_in("*", teams=[7])})
    async with auth_for(posthog, allow_project_header=True) as auth:
        caller = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)
        other = await auth.authenticate(bearer("pha_alice", **{"x-posthog-project-id": "8"}))

    assert isinstance(caller, Caller) and caller.client.settings.project_id == "7"
    assert isinstance(other, Answer) and other.status == 403


async def test_an_unreachable_posthog_is_a_503_not_a_401() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    oauth = OAuthSettings.create(host=POSTHOG, public_url=RESOURCE, bind="0.0.0.0")
    settings = HostedSettings.create(host=POSTHOG, personal_keys=False, oauth=oauth)
    async with gate(settings, down) as auth:
        answer = await auth.authenticate(bearer("pha_alice"), resource=RESOURCE)

    assert isinstance(answer, Answer) and answer.status == 503
    assert "www-authenticate" not in headers_of(answer)


async def test_the_metadata_is_served_at_the_path_inserted_well_known_url() -> None:
    async with auth_for(FakePostHog()) as auth:
        got = auth.metadata_answer(
            path="/.well-known/oauth-protected-resource/a2a", method="GET", resource=RESOURCE
        )
        posted = auth.metadata_answer(
            path="/.well-known/oauth-protected-resource", method="POST", resource=RESOURCE
        )
        elsewhere = auth.metadata_answer(path="/a2a", method="GET", resource=RESOURCE)

    assert got is not None and got.status == 200
    document = json.loads(got.body)
    assert (document["resource"], document["authorization_servers"]) == (RESOURCE, [POSTHOG])
    assert headers_of(got)["access-control-allow-origin"] == "*"
    assert posted is not None and posted.status == 405
    assert elsewhere is None


def test_each_user_keeps_one_memory_and_the_least_recent_is_forgotten_first() -> None:
    states = ClientStates(limit=2)
    alice = states.state_of(POSTHOG, "1", "phx_alice")
    bob = states.state_of(POSTHOG, "1", "phx_bob")

    assert states.state_of(POSTHOG, "1", "phx_alice") is alice
    assert states.state_of(POSTHOG, "2", "phx_alice") is not alice  # another project
    assert len(states) == 2
    assert states.state_of(POSTHOG, "1", "phx_bob") is not bob  # bob was the least recent


async def test_the_servers_own_key_serves_only_requests_with_the_deployments_token() -> None:
    async with AsyncMaxClient(api_key=KEY, host=POSTHOG) as client:
        auth = ServerKeyAuth(client, auth_token="team-secret", bind="0.0.0.0", realm="max-a2a")
        served = await auth.authenticate(bearer("team-secret"))
        refused = await auth.authenticate(bearer("guess"))

    assert isinstance(served, Caller) and served.client is client
    assert isinstance(refused, Answer) and refused.status == 401
    assert headers_of(refused)["www-authenticate"] == 'Bearer realm="max-a2a"'


async def test_the_servers_own_key_is_not_served_off_loopback_without_a_token() -> None:
    async with AsyncMaxClient(api_key=KEY, host=POSTHOG) as client:
        with pytest.raises(ConfigurationError, match="without a token"):
            ServerKeyAuth(client, bind="0.0.0.0")
        loopback = ServerKeyAuth(client)

    assert loopback.metadata_answer(path="/", method="GET", resource=None) is None


@pytest.mark.parametrize(
    "given",
    [
        "https://mcp.example.com/mcp",
        "https://mcp.example.com:443/mcp",
        "HTTPS://MCP.Example.com/mcp/",
    ],
)
def test_the_public_url_is_published_as_hosts_compare_it(given: str) -> None:
    settings = OAuthSettings.create(host=POSTHOG, public_url=given, bind="0.0.0.0")

    document = protected_resource_metadata(settings, settings.resource("http", "x", "/mcp"))

    assert document["resource"] == "https://mcp.example.com/mcp"


def test_a_public_url_with_its_own_port_keeps_it() -> None:
    settings = OAuthSettings.create(
        host=POSTHOG, public_url="https://mcp.example.com:8443/mcp", bind="0.0.0.0"
    )

    assert settings.resource("http", "x", "/mcp") == "https://mcp.example.com:8443/mcp"


@dataclass(frozen=True)
class SignInFlags:
    """A face's own flags object, not argparse's: `HostedFlags` asks only for these names."""

    host: str = "127.0.0.1"
    per_request_keys: bool = False
    oauth: bool = True
    oauth_issuer: str | None = None
    public_url: str | None = None
    oauth_client_ids: str | None = " web , cli,"
    allow_project_header: bool = True


def test_settings_from_flags_fill_in_the_host_and_project_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTHOG_HOST", "eu")
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "42")

    settings = settings_from_flags(
        SignInFlags(), posthog_host=None, project_id=None, allowed_hosts="us,"
    )

    assert settings == HostedSettings(
        host="https://eu.posthog.com",
        project_id="42",
        allow_project_header=True,
        allowed_hosts=frozenset({"https://eu.posthog.com", "https://us.posthog.com"}),
        personal_keys=False,
        oauth=OAuthSettings.create(host="eu", client_ids=["web", "cli"]),
    )
