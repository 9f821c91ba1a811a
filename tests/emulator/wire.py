"""Helpers to read what the emulator sends: SSE frames and message bodies."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    return str(uuid.uuid4())


def send_body(content: str | None, conversation: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "content": content,
        "conversation": conversation or new_id(),
        "trace_id": new_id(),
        **extra,
    }


def answered(response: httpx.Response) -> tuple[int, Any]:
    """The status and JSON body of an answer, to compare with the reference's in one go."""
    return response.status_code, response.json()


def events(raw: bytes) -> list[tuple[str, Any]]:
    """(event, parsed data) pairs of an SSE body; comments are left out."""
    out: list[tuple[str, Any]] = []
    for block in raw.decode().split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        assert (
            lines[0].startswith("event: ") and lines[1].startswith("data: ") and len(lines) == 2
        ), block
        out.append((lines[0][7:], json.loads(lines[1][6:])))
    return out


def messages(raw: bytes) -> list[dict[str, Any]]:
    return [data for event, data in events(raw) if event == "message"]


class SSEReader:
    """Reads an open SSE response bit by bit, then the rest, keeping every line."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.lines: list[str] = []

    async def next_event(self) -> tuple[str, Any]:
        """Read up to the end of the next event and return it."""
        block: list[str] = []
        async for line in self._lines:
            self.lines.append(line)
            if line:
                block.append(line)
            elif block and not block[0].startswith(":"):
                return events(("\n".join(block) + "\n\n").encode())[0]
            else:
                block = []
        raise AssertionError("the stream ended before another event")

    async def rest(self) -> bytes:
        """Read to the end of the body and return everything read, this part included."""
        async for line in self._lines:
            self.lines.append(line)
        return ("\n".join(self.lines) + "\n").encode()


@asynccontextmanager
async def open_stream(api: httpx.AsyncClient, body: dict[str, Any]) -> AsyncIterator[SSEReader]:
    """POST `body` to the conversations endpoint and read its first event; read on from there."""
    async with api.stream("POST", "", json=body) as response:
        reader = SSEReader(response)
        await reader.next_event()
        yield reader
