"""`max-tools emulator` as a real process: it serves, prints where, and refuses bad input."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from tests.emulator.wire import messages, send_body
from tests.processes import read_until

COMMAND = [sys.executable, "-m", "max_tools.cli", "emulator"]


async def test_the_emulator_command_serves_a_session_on_a_free_port(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps([{"match": "revenue", "reply": "MRR is $1M.", "chunks": 2, "delay_s": 0}])
    )
    process = await anyio.open_process([*COMMAND, "--port", "0", "--rules", str(rules)])
    try:
        printed = await read_until(process.stdout, "POSTHOG_PROJECT_ID")
        env = dict(
            line.removeprefix("  export ").split("=", 1)
            for line in printed.splitlines()
            if line.startswith("  export ")
        )
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{env['POSTHOG_HOST']}/api/environments/{env['POSTHOG_PROJECT_ID']}/conversations/",
                json=send_body("What is our revenue?"),
                headers={"Authorization": f"Bearer {env['POSTHOG_PERSONAL_API_KEY']}"},
            )
    finally:
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()

    assert env["POSTHOG_HOST"].startswith("http://127.0.0.1:")
    assert response.status_code == 200
    assert messages(response.content)[-1]["content"] == "MRR is $1M."


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rules", "/nonexistent/rules.json"], "Cannot read the rules file"),
        (["--port", "notaport"], "invalid int value"),
    ],
)
async def test_bad_emulator_arguments_exit_2_with_one_clear_line(
    args: list[str], says: str
) -> None:
    with anyio.fail_after(30):
        result = await anyio.run_process([*COMMAND, *args], check=False)

    assert result.returncode == 2
    assert says in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


async def test_the_emulator_command_plays_an_eu_authorization_server_that_consents_itself() -> None:
    process = await anyio.open_process(
        [*COMMAND, "--port", "0", "--region", "eu", "--oauth-auto-consent"]
    )
    try:
        printed = await read_until(process.stdout, "Sign in with PostHog")
        host = printed.split("serving on ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=host, timeout=10) as client:
            document = (await client.get("/.well-known/oauth-authorization-server")).json()
            state = (await client.get("/_emulator/oauth")).json()
    finally:
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()

    assert document["issuer"] == host
    assert document["posthog_region"] == "eu"
    assert state["auto_consent"] is True
