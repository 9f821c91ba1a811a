"""max-mcp and max-a2a check hosted settings taken from the environment as they check the flags.

Both build their settings with `max_tools.hosting.settings_from_flags`; each case runs through
the face's own entry point on a taken port, so a setting that slips through exits 1, never 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from a2a_server.cli import main as a2a_main
from mcp_server.cli import main as mcp_main

FACES: dict[str, tuple[Callable[[Sequence[str]], int], list[str], str]] = {
    "max-mcp": (mcp_main, ["--transport", "http"], "MAX_MCP_"),
    "max-a2a": (a2a_main, [], "MAX_A2A_"),
}
HOSTED = (  # each face's variables, FACE_ standing for its prefix in the cases
    "AUTH_TOKEN",
    "PER_REQUEST_KEYS",
    "OAUTH",
    "PUBLIC_URL",
    "OAUTH_ISSUER",
    "OAUTH_CLIENT_IDS",
    "ALLOW_PROJECT_HEADER",
    "ALLOWED_HOSTS",
)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(
    ("env", "argv", "says"),
    [
        ({"POSTHOG_PROJECT_ID": "abc"}, ["--per-request-keys"], "'abc' is not a project id"),
        ({"POSTHOG_PROJECT_ID": "abc"}, ["--oauth"], "'abc' is not a project id"),
        ({}, ["--per-request-keys", "--project-id", "abc"], "'abc' is not a project id"),
        ({"POSTHOG_HOST": "ftp://posthog.example.com"}, ["--oauth"], "ftp://posthog.example.com"),
        ({"FACE_OAUTH": "1"}, ["--host", "0.0.0.0"], "needs the server's public URL"),
        ({"FACE_OAUTH_CLIENT_IDS": "a,b"}, [], "only apply with --oauth"),
        ({"FACE_PER_REQUEST_KEYS": "yes", "FACE_AUTH_TOKEN": "t0ken"}, [], "do not mix"),
    ],
)
def test_hosted_settings_from_the_environment_are_checked_like_the_flags(
    face: str,
    env: dict[str, str],
    argv: list[str],
    says: str,
    port_in_use: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    main, before, prefix = FACES[face]
    for name in HOSTED:
        monkeypatch.delenv(prefix + name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name.replace("FACE_", prefix), value)

    code = main([*before, "--port", str(port_in_use), *argv])

    errors = capsys.readouterr().err
    assert (code, says in errors, "Traceback" in errors) == (2, True, False), errors
