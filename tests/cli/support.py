"""What the command-line tests share: running `max-tools` against a served emulator."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from max_tools.cli import main
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


def run(
    emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """`max-tools <args>` with the emulator's settings; the exit status, stdout and stderr."""
    code = main(["--api-key", DEFAULT_KEY, "--host", emulator.url, "--project-id", "1", *args])
    out, err = capsys.readouterr()
    return code, out, err


TypeIn = Callable[[str], None]
"""The `terminal` fixture: call it with what the person types."""


class TypedInput(io.StringIO):
    """What a person types at a terminal."""

    def isatty(self) -> bool:
        return True
