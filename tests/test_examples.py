"""The scripts in examples/ run, as written, against the emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from max_tools.emulator import RunningEmulator
from tests.processes import run_python

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(autouse=True)
def _scripted_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The LangGraph examples play their scripts, whatever model this shell names."""
    monkeypatch.delenv("MAX_AGENT_MODEL", raising=False)


async def test_ask_and_stream(emulator: RunningEmulator) -> None:
    out = await run_python(str(EXAMPLES / "ask_and_stream.py"), emulator=emulator)
    assert 'Here is what I found for "Show me a trend of weekly signups"' in out
    assert "status: completed; visualizations: 1" in out
    assert 'follow-up: Here is what I found for "Split that by country"' in out


async def test_sync_client(emulator: RunningEmulator) -> None:
    out = await run_python(str(EXAMPLES / "sync_client.py"), emulator=emulator)
    assert out.startswith("completed Here is what I found")


async def test_mcp_client_session(emulator: RunningEmulator) -> None:
    out = await run_python(str(EXAMPLES / "mcp_client_session.py"), emulator=emulator)
    assert "tools: max_chat" in out and "progress" in out and "status: completed" in out


async def test_langgraph_agent(emulator: RunningEmulator) -> None:
    out = await run_python(str(EXAMPLES / "langgraph_agent.py"), emulator=emulator)
    assert "progress:" in out
    assert "ToolMessage: conversation_id:" in out and "status: completed" in out
    assert "PostHog AI has answered" in out


async def test_langgraph_approval(emulator: RunningEmulator) -> None:
    out = await run_python(str(EXAMPLES / "langgraph_approval.py"), emulator=emulator)
    assert "paused: needs_approval" in out
    assert "PostHog AI asks: delete_dashboard: Delete dashboard" in out
    assert "ToolMessage: conversation_id:" in out and "status: completed" in out
    assert "carried out" in out
    assert "questions sent to PostHog AI: 1" in out  # the re-run of the node sent nothing again


async def test_chart_in_jupyter(emulator: RunningEmulator, tmp_path: Path) -> None:
    out = await run_python(str(EXAMPLES / "chart_in_jupyter.py"), emulator=emulator, cwd=tmp_path)
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
    assert f'"{name}"' in tested or name in ("test_my_agent.py", "scripted_model.py")
