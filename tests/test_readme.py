"""The README's Python quickstart runs, as written, against the emulator."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio
import pytest

from max_tools.emulator import serve

pytestmark = pytest.mark.anyio

README = Path(__file__).parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


async def test_the_quickstart_runs_against_the_emulator() -> None:
    quickstart = python_blocks()[0]
    async with serve(delay_s=0) as emulator:
        env = {**os.environ, **emulator.env()}
        with anyio.fail_after(60):
            result = await anyio.run_process(
                [sys.executable, "-c", quickstart], env=env, check=False
            )

    output = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert output.startswith(
        'completed Here is what I found for "How many users signed up last week?"'
    )
    assert 'Here is what I found for "Split that by country"' in output


async def test_the_emulator_testing_example_runs() -> None:
    example = next(block for block in python_blocks() if "async def test_my_agent" in block)
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    await namespace["test_my_agent"]()  # type: ignore[operator]
