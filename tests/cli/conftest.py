from __future__ import annotations

from collections.abc import Iterator

import pytest

from max_tools.emulator import RunningEmulator, serve_in_thread


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """The emulator on a background thread: the CLI runs its own event loop."""
    with serve_in_thread(delay_s=0) as running:
        yield running
