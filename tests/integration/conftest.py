from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


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
