"""Child processes for tests that run our commands, examples and snippets for real (bounded)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream
from anyio.streams.text import TextReceiveStream

from max_tools.emulator import RunningEmulator


async def read_until(stream: ByteReceiveStream | None, marker: str, timeout_s: float = 30) -> str:
    """What the process printed on `stream` up to the piece that holds `marker`."""
    assert stream is not None, "open the process with this stream piped"
    printed = ""
    with anyio.fail_after(timeout_s):
        async for text in TextReceiveStream(stream):
            printed += text
            if marker in printed:
                return printed
    raise AssertionError(f"the process ended without printing {marker!r}; it printed {printed!r}")


async def run_python(
    *args: str, emulator: RunningEmulator | None = None, cwd: Path | None = None
) -> str:
    """`python <args>` pointed at the emulator, bounded; its stdout, once it exited 0."""
    env = {**os.environ, **(emulator.env() if emulator else {})}
    with anyio.fail_after(120):
        result = await anyio.run_process([sys.executable, *args], env=env, cwd=cwd, check=False)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    return out
