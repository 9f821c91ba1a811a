"""The stored sign-in: who signed in with PostHog, where, and their tokens, in a file of theirs.

One JSON file, ``sign-in.json``, in max-tools' folder under the platform's config folder
(``$XDG_CONFIG_HOME/max-tools`` or ``~/.config/max-tools`` on Linux, ``~/Library/Application
Support/max-tools`` on macOS, ``%APPDATA%/max-tools`` on Windows; ``MAX_TOOLS_CONFIG_DIR``
overrides it). The folder is made 0700 and the file 0600 (readable by the user alone), and the
file is replaced atomically, so a reader never sees half of it. It holds one sign-in per host,
and the client id max-tools registered at each issuer (registered once, reused after).

Several processes (an MCP host starts one server per chat) may refresh at once: PostHog's
refresh tokens for registered clients do not rotate, and earlier access tokens stay valid until
they expire, so the last writer winning loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError

from max_tools._errors import ConfigurationError

__all__ = ["CONFIG_DIR_ENV_VAR", "SignIn", "SignInStore", "config_dir"]

CONFIG_DIR_ENV_VAR = "MAX_TOOLS_CONFIG_DIR"
FILE_NAME = "sign-in.json"
REFRESH_MARGIN = timedelta(minutes=1)
"""An access token this close to its end is refreshed before use, not after a 401."""


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """max-tools' folder under the platform's config folder (``MAX_TOOLS_CONFIG_DIR`` wins)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_DIR_ENV_VAR, "").strip():
        return Path(env[CONFIG_DIR_ENV_VAR]).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / "max-tools"


class SignIn(BaseModel):
    """One sign-in with PostHog: the host, the tokens (never shown), and what was granted.

    Attributes:
        host: the host signed in at, as given (``https://us.posthog.com``, the emulator's URL).
        issuer: the authorization server that issued the tokens.
        client_id: max-tools' registered client id at that issuer.
        token_endpoint: where tokens are refreshed.
        revocation_endpoint: where ``max-tools logout`` revokes them.
        access_token: the current access token (``pha_...``); hidden in reprs.
        refresh_token: the refresh token (``phr_...``); hidden in reprs.
        expires_at: when the access token ends (it is refreshed before then).
        scopes: the scopes PostHog granted (its answer, not what was asked).
        scoped_teams: the projects the sign-in is limited to (empty: not limited).
        scoped_organizations: the organizations it is limited to (empty: not limited).
        posthog_base_url: the API host the tokens work at.
        email: who signed in, when PostHog said.
        signed_in_at: when ``max-tools login`` finished.
    """

    host: str
    issuer: str
    client_id: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: datetime
    scopes: list[str] = Field(default_factory=list)
    scoped_teams: list[int] = Field(default_factory=list)
    scoped_organizations: list[str] = Field(default_factory=list)
    posthog_base_url: str
    email: str | None = None
    signed_in_at: datetime

    @property
    def project_id(self) -> str | None:
        """The one project the sign-in is limited to, if it is limited to exactly one."""
        return str(self.scoped_teams[0]) if len(self.scoped_teams) == 1 else None

    def expiring(self, now: datetime | None = None) -> bool:
        """Whether the access token has ended or ends within a minute."""
        return self.expires_at - REFRESH_MARGIN <= (now or datetime.now(UTC))

    def matches(self, host: str) -> bool:
        """Whether this sign-in is for `host` (the host signed in at, or its API host)."""
        return host in (self.host, self.posthog_base_url)

    def to_file(self) -> dict[str, Any]:
        """The record as stored: the tokens in clear (the file is the user's alone)."""
        record = self.model_dump(mode="json")
        record["access_token"] = self.access_token.get_secret_value()
        record["refresh_token"] = (
            None if self.refresh_token is None else self.refresh_token.get_secret_value()
        )
        return record


class _File(BaseModel):
    version: int = 1
    sign_ins: dict[str, SignIn] = Field(default_factory=dict)
    clients: dict[str, str] = Field(default_factory=dict)
    """max-tools' client id at each issuer (dynamic client registration happens once)."""


class SignInStore:
    """The sign-in file: read it, save a sign-in, forget one, remember client ids."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()

    @property
    def path(self) -> Path:
        """The file's path."""
        return self.directory / FILE_NAME

    def find(self, host: str | None = None) -> SignIn | None:
        """The sign-in for `host`; without one, the only or most recent sign-in.

        Raises:
            ConfigurationError: the file cannot be read.
        """
        sign_ins = list(self._read().sign_ins.values())
        if host is not None:
            sign_ins = [sign_in for sign_in in sign_ins if sign_in.matches(host)]
        return max(sign_ins, key=lambda sign_in: sign_in.signed_in_at, default=None)

    def save(self, sign_in: SignIn) -> None:
        """Store `sign_in`, replacing the one for its host."""
        stored = self._read()
        stored.sign_ins[sign_in.host] = sign_in
        self._write(stored)

    def forget(self, host: str) -> SignIn | None:
        """Delete the sign-in for `host` (the host signed in at, or its API host); the one gone."""
        stored = self._read()
        found = next((s for s in stored.sign_ins.values() if s.matches(host)), None)
        if found is not None:
            del stored.sign_ins[found.host]
            self._write(stored)
        return found

    def client_id(self, issuer: str) -> str | None:
        """max-tools' client id at `issuer`, if it registered there before."""
        return self._read().clients.get(issuer)

    def remember_client(self, issuer: str, client_id: str) -> None:
        """Keep max-tools' client id at `issuer`."""
        stored = self._read()
        stored.clients[issuer] = client_id
        self._write(stored)

    def _read(self) -> _File:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _File()
        except OSError as exc:
            raise ConfigurationError(
                f"Could not read the stored PostHog sign-in at {self.path} ({exc.strerror})."
            ) from exc
        try:
            return _File.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigurationError(
                f"The stored PostHog sign-in at {self.path} is damaged: delete the file and run "
                "max-tools login again."
            ) from exc

    def _write(self, stored: _File) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a folder made by someone else keeps its mode
            self.directory.chmod(0o700)
        record = {
            "version": stored.version,
            "sign_ins": {host: s.to_file() for host, s in stored.sign_ins.items()},
            "clients": stored.clients,
        }
        # mkstemp makes the file 0600 before anything is written into it.
        handle, temporary = tempfile.mkstemp(prefix=".sign-in.", dir=self.directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(record, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
