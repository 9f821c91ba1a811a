"""Settings: env resolution, regions, and the mistakes people make with hosts and keys."""

from __future__ import annotations

import pytest

from max_tools import APIKey, AsyncMaxClient, ConfigurationError, MaxClient
from tests.fake_posthog import KEY


async def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", KEY)
    monkeypatch.setenv("POSTHOG_HOST", "eu")
    monkeypatch.setenv("POSTHOG_PROJECT_ID", "12345")

    async with AsyncMaxClient.from_env() as client:
        assert client.settings.host == "https://eu.posthog.com"
        assert client.settings.project_id == "12345"
        assert client.settings.api_key.get_secret_value() == KEY
        assert (
            client.settings.api_base
            == "https://eu.posthog.com/api/environments/12345/conversations/"
        )


async def test_the_older_key_variable_is_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_API_KEY", KEY)

    async with AsyncMaxClient() as client:
        assert client.settings.api_key.get_secret_value() == KEY
        assert client.settings.host == "https://us.posthog.com"
        assert client.settings.project_id == "@current"


async def test_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", "phx_from_env")
    monkeypatch.setenv("POSTHOG_HOST", "eu")

    async with AsyncMaxClient(api_key=KEY, host="us", project_id=7) as client:
        assert client.settings.api_key.get_secret_value() == KEY
        assert client.settings.host == "https://us.posthog.com"
        assert client.settings.project_id == "7"


def test_a_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="POSTHOG_PERSONAL_API_KEY"):
        AsyncMaxClient()


def test_a_project_token_is_refused_with_what_to_use_instead() -> None:
    with pytest.raises(ConfigurationError, match=r"personal API key \(phx_"):
        AsyncMaxClient(api_key="phc_abcdef")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("us", "https://us.posthog.com"),
        ("EU", "https://eu.posthog.com"),
        ("https://eu.posthog.com/", "https://eu.posthog.com"),
        ("posthog.example.com", "https://posthog.example.com"),
        ("https://posthog.example.com/sub/", "https://posthog.example.com/sub"),
        ("https://posthog.example.com:8443", "https://posthog.example.com:8443"),
        ("http://127.0.0.1:8010", "http://127.0.0.1:8010"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_hosts_are_normalized(host: str, expected: str) -> None:
    client = AsyncMaxClient(api_key=KEY, host=host)
    assert client.settings.host == expected


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("https://us.i.posthog.com", "POSTHOG_HOST to https://us.posthog.com"),
        ("eu.i.posthog.com", "POSTHOG_HOST to https://eu.posthog.com"),
        ("http://posthog.example.com", "Refusing plain http://"),
        ("http://10.0.0.5", "Refusing plain http://"),
        ("ftp://posthog.example.com", "not a web address"),
        ("https://posthog.example.com/?x=1", "query or fragment"),
        ("https://posthog.example.com:abc", "not a web address"),
        ("https://posthog.example.com:99999", "not a web address"),
        ("https://[::1", "not a web address"),
    ],
)
def test_wrong_hosts_say_what_to_use(host: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says.replace("(", r"\(").replace(".", r"\.")):
        AsyncMaxClient(api_key=KEY, host=host)


@pytest.mark.parametrize("project", ["abc", "12a", "-1", "@me", True])
def test_bad_project_ids_are_refused(project: object) -> None:
    with pytest.raises(ConfigurationError, match="project"):
        AsyncMaxClient(api_key=KEY, project_id=project)  # type: ignore[arg-type]  # wrong on purpose


def test_a_key_with_spaces_inside_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="spaces"):
        AsyncMaxClient(api_key="phx_abc def")


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        AsyncMaxClient(api_key=KEY, max_retries=-1)


def test_the_key_never_shows_in_reprs() -> None:
    client = AsyncMaxClient(api_key=KEY, host="eu", project_id=3)
    key = APIKey(KEY)
    shown = [
        repr(client),
        str(client),
        repr(client.settings),
        str(client.settings),
        repr(key),
        f"{key}",
    ]
    assert all(KEY not in text for text in shown)
    assert repr(client) == "AsyncMaxClient(host='https://eu.posthog.com', project_id='3')"
    assert key == APIKey(KEY) and hash(key) == hash(APIKey(KEY))
    with MaxClient(api_key=KEY) as sync_client:
        assert KEY not in repr(sync_client)


async def test_an_explicit_timeout_applies_to_injected_clients() -> None:
    import httpx

    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"count": 0, "results": []})

    http_client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncMaxClient(api_key=KEY, timeout=5, http_client=http_client) as client:
        await client.list_conversations()
    assert seen[0]["read"] == 5
    assert not http_client.is_closed  # not ours to close
    await http_client.aclose()
