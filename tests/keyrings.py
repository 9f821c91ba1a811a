"""Keyring backends for the tests: real `keyring` backends at the OS edge, in a file of the test's.

`FolderKeyring` keeps its entries in a JSON file named by ``TEST_KEYRING_FILE``, so a child
process (the CLI run as a command) sees what the test's own process stored. `LockedKeyring`
answers every call as a locked Secret Service collection does; `ReadOnlyKeyring` reads and
refuses writes. Both are picked the way people
pick a backend: ``keyring.set_keyring`` in this process, ``PYTHON_KEYRING_BACKEND`` in children.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

FILE_ENV_VAR = "TEST_KEYRING_FILE"
FAIL = "keyring.backends.fail.Keyring"


class FolderKeyring(KeyringBackend):
    """A keyring whose entries live in one JSON file (``TEST_KEYRING_FILE``)."""

    priority = 1  # keyring declares a classproperty; a number does as well

    def _entries(self) -> dict[str, str]:
        path = Path(os.environ[FILE_ENV_VAR])
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def _keep(self, entries: dict[str, str]) -> None:
        Path(os.environ[FILE_ENV_VAR]).write_text(json.dumps(entries))

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._keep({**self._entries(), f"{service}/{username}": password})

    def delete_password(self, service: str, username: str) -> None:
        entries = self._entries()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("No such password!")
        self._keep(entries)


class ReadOnlyKeyring(FolderKeyring):
    """A keyring that gives what it holds and takes nothing new."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("read-only")


class LockedKeyring(KeyringBackend):
    """A keyring that stays locked: every call fails as the Secret Service's does."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class Keyring:
    """The test's keyring: which backend is in use, and what it holds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self._monkeypatch = monkeypatch
        self.path = path
        monkeypatch.setenv(FILE_ENV_VAR, str(path))
        self.use(FolderKeyring)

    def use(self, backend: type[KeyringBackend]) -> None:
        """Make `backend` the keyring, here and in child processes."""
        keyring.set_keyring(backend())
        self._monkeypatch.setenv(
            "PYTHON_KEYRING_BACKEND", f"{backend.__module__}.{backend.__qualname__}"
        )

    def entries(self) -> dict[str, Any]:
        """Every entry, by ``service/username``, the JSON passwords decoded."""
        if not self.path.exists():
            return {}
        return {
            name: json.loads(value) for name, value in json.loads(self.path.read_text()).items()
        }


@pytest.fixture
def system_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Keyring]:
    """A usable keyring (`FolderKeyring`), as on a desktop with the keyring extra installed."""
    yield Keyring(monkeypatch, tmp_path / "keyring.json")
    keyring.set_keyring(keyring.core.load_keyring(FAIL))


def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """No usable keyring, as on a server or in CI: keyring's own fail backend."""
    keyring.set_keyring(keyring.core.load_keyring(FAIL))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    monkeypatch.delenv("MAX_TOOLS_KEYRING", raising=False)
