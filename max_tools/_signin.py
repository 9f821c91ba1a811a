"""The stored sign-in: who signed in with PostHog, where, and their tokens, kept for them alone.

The tokens go to the system keyring when there is one (`max_tools._system_keyring`: the
``keyring`` extra, a usable backend, ``MAX_TOOLS_KEYRING`` not ``0``). The rest of the sign-in,
and the tokens when there is no keyring, go to one JSON file, ``sign-in.json``, in max-tools'
folder under the platform's config folder (``$XDG_CONFIG_HOME/max-tools`` or
``~/.config/max-tools`` on Linux, ``~/Library/Application Support/max-tools`` on macOS,
``%APPDATA%/max-tools`` on Windows; ``MAX_TOOLS_CONFIG_DIR`` overrides it). The folder is
made 0700 and the file 0600 (readable by the user alone), and the file is replaced
atomically, so a reader never sees half of it. It holds one sign-in per host, and the client
id max-tools registered at each issuer (registered once, reused after). The file stays the
index even when the keyring holds the tokens: keyrings cannot be listed alike on every
platform, and the host, scopes and expiry are not secrets.

Each sign-in says where its tokens are (``kept_in``), and a refresh writes them back there. A
keyring that fails when written to (locked, D-Bus gone) costs nothing: the tokens go to the
file, with one warning. A sign-in stored before the keyring existed (tokens in the file, no
``kept_in``) moves to the keyring at its next refresh or login, when the keyring takes it.

Several processes (an MCP host starts one server per chat) may refresh at once: PostHog's
refresh tokens for registered clients do not rotate, and earlier access tokens stay valid until
they expire, so the last writer winning loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from max_tools import _system_keyring
from max_tools._errors import ConfigurationError
from max_tools._system_keyring import KeyringFailedError, Tokens

__all__ = ["CONFIG_DIR_ENV_VAR", "KeptIn", "SignIn", "SignInStore", "config_dir"]

logger = logging.getLogger("max_tools")

KeptIn = Literal["keyring", "file"]

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


class _Details(BaseModel):
    """A sign-in without its tokens: what the file holds when the keyring holds the tokens."""

    host: str
    issuer: str
    client_id: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    expires_at: datetime
    scopes: list[str] = Field(default_factory=list)
    scoped_teams: list[int] = Field(default_factory=list)
    scoped_organizations: list[str] = Field(default_factory=list)
    posthog_base_url: str
    email: str | None = None
    signed_in_at: datetime
    kept_in: KeptIn | None = None

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


class SignIn(_Details):
    """One sign-in with PostHog: the host, the tokens (never shown), and what was granted.

    Attributes:
        host: the host signed in at, as given (``https://us.posthog.com``, the emulator's URL).
        issuer: the authorization server that issued the tokens.
        client_id: max-tools' registered client id at that issuer.
        token_endpoint: where tokens are refreshed.
        revocation_endpoint: where ``max-tools logout`` revokes them.
        expires_at: when the access token ends (it is refreshed before then).
        scopes: the scopes PostHog granted (its answer, not what was asked).
        scoped_teams: the projects the sign-in is limited to (empty: not limited).
        scoped_organizations: the organizations it is limited to (empty: not limited).
        posthog_base_url: the API host the tokens work at.
        email: who signed in, when PostHog said.
        signed_in_at: when ``max-tools login`` finished.
        kept_in: where its tokens are kept: ``keyring`` (the system keyring) or ``file``
            (``sign-in.json``); None before it is stored, or when an earlier max-tools stored it.
        access_token: the current access token (``pha_...``); hidden in reprs.
        refresh_token: the refresh token (``phr_...``); hidden in reprs.
    """

    access_token: SecretStr
    refresh_token: SecretStr | None = None

    def tokens(self) -> Tokens:
        """Its two tokens in clear, for the keyring or the file."""
        refresh = self.refresh_token
        return Tokens(
            self.access_token.get_secret_value(),
            None if refresh is None else refresh.get_secret_value(),
        )


class _Entry(_Details):
    """A sign-in as the file holds it: the tokens in clear, or None when the keyring has them."""

    # In clear for the file, so never in a repr or a validation error's text.
    model_config = ConfigDict(hide_input_in_errors=True)

    access_token: str | None = Field(default=None, repr=False)
    refresh_token: str | None = Field(default=None, repr=False)


class _File(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    version: int = 1
    sign_ins: dict[str, _Entry] = Field(default_factory=dict)
    clients: dict[str, str] = Field(default_factory=dict)
    """max-tools' client id at each issuer (dynamic client registration happens once)."""


class SignInStore:
    """Where sign-ins are kept: read one, save one, forget one, remember client ids.

    Args:
        directory: the folder of ``sign-in.json`` (default: `config_dir`).
        keyring: whether new sign-ins may go to the system keyring (default: unless
            ``MAX_TOOLS_KEYRING=0``). Tokens already in the keyring are read from it either way.
    """

    def __init__(self, directory: Path | None = None, *, keyring: bool | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()
        self.use_keyring = _system_keyring.enabled() if keyring is None else keyring
        self._warned = False

    @property
    def path(self) -> Path:
        """The file's path."""
        return self.directory / FILE_NAME

    @property
    def keyring_name(self) -> str | None:
        """The system keyring new sign-ins go to, or None (none usable, or not to be used)."""
        keyring = _system_keyring.system_keyring() if self.use_keyring else None
        return keyring.name if keyring is not None else None

    def where(self, sign_in: SignIn) -> str:
        """Where `sign_in`'s tokens are kept, for people (never the tokens)."""
        if sign_in.kept_in == "keyring":
            keyring = _system_keyring.system_keyring()
            name = f" ({keyring.name})" if keyring is not None else ""
            return f"the system keyring{name}; the rest in {self.path}"
        return f"{self.path} (readable by you alone)"

    def find(self, host: str | None = None) -> SignIn | None:
        """The sign-in for `host`; without one, the only or most recent sign-in.

        Raises:
            ConfigurationError: the file cannot be read, or the keyring holding its tokens.
        """
        entries = list(self._read().sign_ins.values())
        if host is not None:
            entries = [entry for entry in entries if entry.matches(host)]
        found = max(entries, key=lambda entry: entry.signed_in_at, default=None)
        return None if found is None else self._with_tokens(found)

    def save(self, sign_in: SignIn) -> SignIn:
        """Store `sign_in`, replacing the one for its host; returns it saying where it went.

        Its tokens go back where `sign_in.kept_in` says; a new or earlier max-tools' sign-in
        goes to the keyring when there is a usable one, else to the file. A keyring that fails
        sends them to the file, with one warning.
        """
        stored = self._read()
        before = stored.sign_ins.get(sign_in.host)
        kept_in = self._keep(sign_in)
        record = {
            **sign_in.model_dump(exclude={"access_token", "refresh_token"}),
            "kept_in": kept_in,
        }
        if kept_in == "file":
            tokens = sign_in.tokens()
            record |= {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        entry = _Entry.model_validate(record)
        stored.sign_ins[sign_in.host] = entry
        self._write(stored)
        moved = kept_in == "file" or (before is not None and before.client_id != sign_in.client_id)
        if before is not None and before.kept_in == "keyring" and moved:
            self._unkeep(before)  # no second copy of old tokens left behind
        return SignIn.model_validate({**sign_in.model_dump(), "kept_in": kept_in})

    def forget(self, host: str) -> bool:
        """Delete the sign-in for `host` (the host signed in at, or its API host); whether one was.

        It goes from the file and from the keyring, wherever its tokens were.
        """
        stored = self._read()
        found = next((entry for entry in stored.sign_ins.values() if entry.matches(host)), None)
        if found is None:
            return False
        del stored.sign_ins[found.host]
        self._write(stored)
        # Kept in the file, it may still have tokens left in the keyring by a fallback: those
        # go too, but a keyring that cannot be reached then is no news worth a warning.
        self._unkeep(found, quiet=found.kept_in != "keyring")
        return True

    def client_id(self, issuer: str) -> str | None:
        """max-tools' client id at `issuer`, if it registered there before."""
        return self._read().clients.get(issuer)

    def remember_client(self, issuer: str, client_id: str) -> None:
        """Keep max-tools' client id at `issuer`."""
        stored = self._read()
        stored.clients[issuer] = client_id
        self._write(stored)

    def _with_tokens(self, entry: _Entry) -> SignIn:
        """The whole sign-in: its tokens from the file, or from the keyring when it has them."""
        details = entry.model_dump(exclude={"access_token", "refresh_token"})
        if entry.kept_in != "keyring":
            if entry.access_token is None:
                raise self._damaged()
            tokens = Tokens(entry.access_token, entry.refresh_token)
        else:
            tokens = self._kept_tokens(entry)
        return SignIn.model_validate(
            {**details, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        )

    def _kept_tokens(self, entry: _Entry) -> Tokens:
        keyring = _system_keyring.system_keyring()
        if keyring is None:
            raise ConfigurationError(
                f"Your PostHog sign-in for {entry.host} is kept in the system keyring, and no "
                "keyring can be used now (is max-tools[keyring] installed, and the keyring "
                "running?). Run max-tools login again to sign in anew."
            )
        try:
            tokens = keyring.read(entry.host, entry.client_id)
        except KeyringFailedError as exc:
            raise ConfigurationError(
                f"Your PostHog sign-in for {entry.host} is kept in the system keyring "
                f"({keyring.name}), which could not be read ({exc}). Unlock it and try again, "
                "or run max-tools login again (with --no-keyring to keep it in a file)."
            ) from exc
        if tokens is None:
            raise ConfigurationError(
                f"Your PostHog sign-in for {entry.host} is no longer in the system keyring "
                f"({keyring.name}): run max-tools login again."
            )
        return tokens

    def _keep(self, sign_in: SignIn) -> KeptIn:
        """Put `sign_in`'s tokens in the keyring when they belong there; where they belong now."""
        # `use_keyring` is about new sign-ins: one kept in the keyring goes back there.
        if sign_in.kept_in == "file" or (sign_in.kept_in is None and not self.use_keyring):
            return "file"
        keyring = _system_keyring.system_keyring()
        if keyring is None:
            return "file"
        try:
            keyring.write(sign_in.host, sign_in.client_id, sign_in.tokens())
        except KeyringFailedError as exc:
            self._warn(
                f"max-tools: the system keyring ({keyring.name}) did not take the PostHog "
                f"sign-in ({exc}), so it is kept in {self.path} (readable by you alone)."
            )
            return "file"
        return "keyring"

    def _unkeep(self, entry: _Entry, *, quiet: bool = False) -> None:
        keyring = _system_keyring.system_keyring()
        if keyring is None:
            return
        try:
            keyring.delete(entry.host, entry.client_id)
        except KeyringFailedError as exc:
            if quiet:
                return
            self._warn(
                f"max-tools: the system keyring ({keyring.name}) could not remove the PostHog "
                f"sign-in's tokens ({exc}); remove the entry for service "
                f"{_system_keyring.SERVICE!r} yourself."
            )

    def _warn(self, message: str) -> None:
        """Say it once per store: a server that refreshes every hour would repeat it forever."""
        if not self._warned:
            self._warned = True
            logger.warning("%s", message)

    def _damaged(self) -> ConfigurationError:
        return ConfigurationError(
            f"The stored PostHog sign-in at {self.path} is damaged: delete the file and run "
            "max-tools login again."
        )

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
            raise self._damaged() from exc

    def _write(self, stored: _File) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a folder made by someone else keeps its mode
            self.directory.chmod(0o700)
        record = {
            "version": stored.version,
            "sign_ins": {
                host: entry.model_dump(
                    mode="json",
                    # the keyring has them: the file says where, and holds no copy
                    exclude={"access_token", "refresh_token"}
                    if entry.kept_in == "keyring"
                    else None,
                )
                for host, entry in stored.sign_ins.items()
            },
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
