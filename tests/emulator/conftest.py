from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from max_tools.emulator import DEFAULT_KEY, RunningEmulator, serve


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Options for the `emulator` fixture; override in a module or a test to change them."""
    return {}


@pytest.fixture
async def emulator(emulator_options: dict[str, Any]) -> AsyncIterator[RunningEmulator]:
    options: dict[str, Any] = {"delay_s": 0, "keepalive_s": 15.0}
    options.update(emulator_options)
    async with serve(**options) as running:
        yield running


@pytest.fixture
async def api(emulator: RunningEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the emulator's project 1 conversations URL, with the key."""
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/api/environments/1/conversations/",
        headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
        timeout=10,
    ) as client:
        yield client
