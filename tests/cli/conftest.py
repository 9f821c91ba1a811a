from __future__ import annotations

import pytest

from tests.cli.support import TypedInput, TypeIn


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> TypeIn:
    """`max-tools` on a terminal: rich draws and prompts ask. Call it with what the person types."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")

    def type_in(text: str) -> None:
        monkeypatch.setattr("sys.stdin", TypedInput(text))

    return type_in
