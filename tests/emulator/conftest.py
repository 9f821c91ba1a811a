from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from max_tools.emulator import DEFAULT_KEY, RunningEmulator


@pytest.fixture
async def api(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the emulator's project 1 conversations URL, with the key."""
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
        timeout=10,
    ) as client:
        yield client
