"""The system keyring, when there is one: where a sign-in's two tokens are kept, out of the file.

`keyring` (the optional extra ``max-tools[keyring]``) picks the platform's store: the Keychain
on macOS, the Credential Manager on Windows, the Secret Service or KWallet on Linux, or the
backend the user chose (``PYTHON_KEYRING_BACKEND``, ``keyringrc.cfg``). Its ``fail`` and
``null`` backends, and a chainer with nothing to chain, mean there is none. Without the extra,
or with ``MAX_TOOLS_KEYRING=0``, nothing is kept here.

Each sign-in is one entry: service ``max-tools``, username ``<host> <client id>``, password the
JSON ``{"access_token": ..., "refresh_token": ...}`` (one entry, so one write replaces both).
Every failure of a backend comes out as `KeyringFailedError`, which the store answers by using
the file: a keyring never loses a sign-in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ENV_VAR", "SERVICE", "KeyringFailedError", "SystemKeyring", "enabled", "system_keyring"]

SERVICE = "max-tools"
ENV_VAR = "MAX_TOOLS_KEYRING"
"""``0`` (or ``false``, ``no``, ``off``) keeps new sign-ins in the file."""

_OFF = frozenset({"0", "false", "no", "off"})


class KeyringFailedError(Exception):
    """The keyring refused or failed (locked, D-Bus gone, a damaged entry)."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """A sign-in's two secrets, as kept in the keyring (in clear, so never in a repr)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether new sign-ins may go to the keyring (``MAX_TOOLS_KEYRING`` is not ``0``)."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "").strip().lower() not in _OFF


def system_keyring() -> SystemKeyring | None:
    """The keyring `keyring` chose, when the extra is installed and it chose a usable one."""
    try:
        import keyring  # the optional extra
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    # A backend is third-party code that may fail in its own ways while it is chosen (a
    # D-Bus error, a broken keyringrc.cfg): any of them means "no keyring", never a crash.
    except Exception:
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return SystemKeyring(backend)


class SystemKeyring:
    """One keyring backend, with every failure turned into `KeyringFailedError`."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        """The backend's name for people (``SecretService Keyring``, ``macOS Keyring``)."""
        return str(self._backend.name)

    def read(self, host: str, client_id: str) -> Tokens | None:
        """The tokens kept for a sign-in, or None when there are none.

        Raises:
            KeyringFailedError: the keyring could not be read, or its entry is damaged.
        """
        text = self._call("get_password", SERVICE, _username(host, client_id))
        if text is None:
            return None
        try:
            record = json.loads(text)
            return Tokens(str(record["access_token"]), record.get("refresh_token"))
        except (ValueError, TypeError, KeyError) as exc:
            raise KeyringFailedError("its entry for max-tools is damaged") from exc

    def write(self, host: str, client_id: str, tokens: Tokens) -> None:
        """Keep a sign-in's tokens, replacing those kept before.

        Raises:
            KeyringFailedError: the keyring refused them.
        """
        record = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        self._call("set_password", SERVICE, _username(host, client_id), json.dumps(record))

    def delete(self, host: str, client_id: str) -> None:
        """Remove a sign-in's tokens; nothing to remove is fine.

        Raises:
            KeyringFailedError: the keyring could not remove them.
        """
        from keyring.errors import PasswordDeleteError  # the optional extra

        try:
            self._call("delete_password", SERVICE, _username(host, client_id))
        except KeyringFailedError as exc:
            # Every backend says "no such password" with PasswordDeleteError.
            if not isinstance(exc.__cause__, PasswordDeleteError):
                raise

    def _call(self, method: str, service: str, username: str, *secret: str) -> Any:
        try:
            return getattr(self._backend, method)(service, username, *secret)
        # The translation at the edge: a backend raises KeyringError, but also D-Bus, Keychain
        # or Windows errors of its own. None of them may cost the person their sign-in.
        except Exception as exc:
            raise KeyringFailedError(_reason(exc, secret)) from exc


def _username(host: str, client_id: str) -> str:
    return f"{host} {client_id}"


def _reason(exc: Exception, secrets: tuple[str, ...]) -> str:
    """What went wrong, in the backend's words, without the tokens it was handed."""
    said = str(exc).strip()
    for secret in secrets:
        said = said.replace(secret, "**********")
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__
