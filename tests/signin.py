"""What the sign-in tests share: a stand-in browser, and the stored sign-in file as PostHog left it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

STANDIN = Path(__file__).with_name("standin_browser.py")


class Browser:
    """The person's browser, played by `standin_browser.py` (``webbrowser`` runs it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
        self._monkeypatch = monkeypatch
        self._log = log
        # The same command every time: `webbrowser` reads BROWSER once per process.
        monkeypatch.setenv("BROWSER", f"{sys.executable} {STANDIN} %s")
        monkeypatch.setenv("STANDIN_BROWSER_LOG", str(log))
        self.will("follow")

    def will(self, mode: str) -> None:
        """What the browser does with the next link: follow, allow, deny, forge-state or away."""
        self._monkeypatch.setenv("STANDIN_BROWSER", mode)

    def opened(self) -> list[str]:
        """Every link it was asked to open."""
        return self._log.read_text().splitlines() if self._log.exists() else []


def stored() -> dict[str, Any]:
    """The sign-in file, as written (the tokens in clear)."""
    path = Path(os.environ["MAX_TOOLS_CONFIG_DIR"]) / "sign-in.json"
    return dict(json.loads(path.read_text()))


def tokens() -> list[str]:
    """Every token in the sign-in file."""
    found = []
    for sign_in in stored()["sign_ins"].values():
        found += [sign_in["access_token"], sign_in["refresh_token"]]
    return [token for token in found if token]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Browser:
    return Browser(monkeypatch, tmp_path / "opened.txt")
