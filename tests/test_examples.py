"""The scripts in examples/ run, as written, against the emulator."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from max_tools.emulator import serve

EXAMPLES = Path(__file__).parent.parent / "examples"


async def run_example(name: str, *args: str) -> str:
    async with serve(delay_s=0) as emulator:
        env = {**os.environ, **emulator.env()}
        env.pop("MAX_AGENT_MODEL", None)
        with anyio.fail_after(120):
            result = await anyio.run_process(
                [sys.executable, *args, str(EXAMPLES / name)], env=env, check=False
            )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return result.stdout.decode()


async def test_ask_and_stream() -> None:
    out = await run_example("ask_and_stream.py")
    assert 'Here is what I found for "Show me a trend of weekly signups"' in out
    assert "status: completed; visualizations: 1" in out
    assert 'follow-up: Here is what I found for "Split that by country"' in out


async def test_sync_client() -> None:
    out = await run_example("sync_client.py")
    assert out.startswith("completed Here is what I found")


async def test_mcp_client_session() -> None:
    out = await run_example("mcp_client_session.py")
    assert "tools: max_chat" in out and "progress" in out and "status: completed" in out


async def test_langgraph_agent() -> None:
    out = await run_example("langgraph_agent.py")
    assert "progress:" in out
    assert "ToolMessage: conversation_id:" in out and "status: completed" in out
    assert "PostHog AI has answered" in out


async def test_langgraph_approval() -> None:
    out = await run_example("langgraph_approval.py")
    assert "paused: needs_approval" in out
    assert "PostHog AI asks: delete_dashboard: Delete dashboard" in out
    assert "ToolMessage: conversation_id:" in out and "status: completed" in out
    assert "carried out" in out
    assert "questions sent to PostHog AI: 1" in out  # the re-run of the node sent nothing again


async def test_chart_in_jupyter(tmp_path: Path) -> None:
    async with serve(delay_s=0) as emulator:
        env = {**os.environ, **emulator.env()}
        with anyio.fail_after(120):
            result = await anyio.run_process(
                [sys.executable, str(EXAMPLES / "chart_in_jupyter.py")],
                env=env,
                cwd=tmp_path,
                check=False,
            )
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "| day | United States | Germany | United Kingdom |" in out
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_pytest_fixture_example_passes() -> None:
    with anyio.fail_after(120):
        result = await anyio.run_process(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(EXAMPLES / "test_my_agent.py"),
            ],
            check=False,
        )
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert "3 passed" in out


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_is_exercised(name: str) -> None:
    tested = Path(__file__).read_text()
    assert f'"{name}"' in tested or name == "test_my_agent.py"
