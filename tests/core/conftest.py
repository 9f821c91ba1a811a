from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


@pytest.fixture
async def client(emulator: RunningEmulator) -> AsyncIterator[AsyncMaxClient]:
    """An `AsyncMaxClient` on the shared emulator (over loopback HTTP)."""
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        yield client
