"""max-a2a's command line refuses deployments that would expose a key or cannot sign anyone in."""

from __future__ import annotations

import pytest

from a2a_server.cli import main


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "MAX_A2A_AUTH_TOKEN"):
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
