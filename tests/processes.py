"""Reading what a child process prints, bounded, for tests that run our commands for real."""

from __future__ import annotations

import anyio
from anyio.abc import ByteReceiveStream
from anyio.streams.text import TextReceiveStream


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
