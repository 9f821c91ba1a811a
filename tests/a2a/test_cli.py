"""max-a2a's command line refuses deployments that would expose a key or cannot sign anyone in."""

from __future__ import annotations

import os
import signal
import sys

import anyio
import httpx
import pytest

from a2a_server.cli import main
from tests.processes import read_until

HOSTED_ENV = (
    "MAX_A2A_OAUTH",
    "MAX_A2A_PUBLIC_URL",
    "MAX_A2A_OAUTH_ISSUER",
    "MAX_A2A_OAUTH_CLIENT_IDS",
    "MAX_A2A_PER_REQUEST_KEYS",
    "MAX_A2A_ALLOW_PROJECT_HEADER",
)


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*HOSTED_ENV, "POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "MAX_A2A_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--host", "0.0.0.0"], "--auth-token"),
        (["--per-request-keys", "--auth-token", "t0ken"], "do not mix"),
        (["--oauth", "--host", "0.0.0.0"], "public URL"),
        (["--oauth-issuer", "https://oauth.posthog.com"], "only apply with --oauth"),
        (["--allow-project-header"], "only applies with"),
    ],
)
def test_a_deployment_that_does_not_hold_together_is_refused_before_serving(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_per_request_keys_refuse_a_key_of_the_servers_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTHOG_PERSONAL_API_KEY", "phx_server_key_1234")
    assert main(["--per-request-keys"]) == 2
    err = capsys.readouterr().err
    assert "POSTHOG_PERSONAL_API_KEY" in err and "phx_server_key_1234" not in err


async def test_a_sign_in_deployment_set_up_by_the_environment_publishes_where_users_sign_in() -> (
    None
):
    env = {
        **os.environ,
        "POSTHOG_HOST": "https://posthog.example.com",
        "MAX_A2A_OAUTH": "1",
        "MAX_A2A_PUBLIC_URL": "https://agents.example.com/a2a",
        "MAX_A2A_OAUTH_CLIENT_IDS": "client-a,client-b",
    }
    for name in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "MAX_A2A_OAUTH_ISSUER"):
        env.pop(name, None)
    command = [sys.executable, "-m", "a2a_server", "--port", "0"]
    process = await anyio.open_process(command, env=env)
    try:
        printed = await read_until(process.stderr, "/\n")
        url = printed.split("serving PostHog AI at ", 1)[1].split()[0]
        async with httpx.AsyncClient(timeout=10) as client:
            metadata = await client.get(f"{url}.well-known/oauth-protected-resource/a2a")
            card = (await client.get(f"{url}.well-known/agent-card.json")).json()
    finally:
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()

    assert metadata.status_code == 200
    assert metadata.json()["resource"] == "https://agents.example.com/a2a"
    assert metadata.json()["authorization_servers"] == ["https://posthog.example.com"]
    [(name, scheme)] = card["securitySchemes"].items()
    flow = scheme["oauth2SecurityScheme"]["flows"]["authorizationCode"]
    assert (name, flow["authorizationUrl"]) == (
        "posthog_sign_in",
        "https://posthog.example.com/oauth/authorize/",
    )
