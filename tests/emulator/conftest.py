from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from max_tools.emulator import DEFAULT_KEY, RunningEmulator


def project_client(emulator: RunningEmulator, path: str = "") -> httpx.AsyncClient:
    """A plain httpx client on the emulator's project 1 (plus `path`), with the key."""
    return httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/{path}",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
        timeout=10,
    )


@pytest.fixture
async def api(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the emulator's project 1 conversations URL, with the key."""
    async with project_client(emulator, "conversations/") as client:
        yield client


@pytest.fixture
async def query_api(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the emulator's project 1 URL (``query/``...), with the key."""
    async with project_client(emulator) as client:
        yield client


@pytest.fixture
async def http(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the emulator's root URL, without a key: the OAuth endpoints."""
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        yield client
