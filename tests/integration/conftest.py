from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator, serve


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def emulator(emulator_options: dict[str, Any]) -> AsyncIterator[RunningEmulator]:
    options: dict[str, Any] = {"delay_s": 0}
    options.update(emulator_options)
    async with serve(**options) as running:
        yield running


class RecordedSleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
async def client(
    emulator: RunningEmulator, sleeps: RecordedSleeps
) -> AsyncIterator[AsyncMaxClient]:
    async with AsyncMaxClient(
        api_key=DEFAULT_KEY, host=emulator.url, project_id=1, sleep=sleeps
    ) as max_client:
        yield max_client
