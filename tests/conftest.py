from __future__ import annotations

import inspect
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from max_tools.emulator import RunningEmulator, serve, serve_in_thread
from tests.fake_posthog import KEY, FakePostHog
from tests.keyrings import no_keyring

SECRETS = (KEY, "phx_emulator_key", "phx_unit_key", "phx_secret_value_123", "s3cret-token")
"""Every key and token the tests use; none may appear in a log line of ours, at any level."""
SCANNED_LOGGERS = ("max_tools", "mcp_server", "langchain_integration", "mcp", "uvicorn")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def posthog() -> FakePostHog:
    return FakePostHog()


@pytest.fixture(autouse=True)
def _no_posthog_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never pick up a developer's real PostHog settings, nor their stored sign-in.

    Nor their system keyring: every test starts without a usable one, as in CI.
    """
    monkeypatch.setenv("MAX_TOOLS_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    no_keyring(monkeypatch)
    for name in (
        "POSTHOG_PERSONAL_API_KEY",
        "POSTHOG_API_KEY",
        "POSTHOG_HOST",
        "POSTHOG_PROJECT_ID",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A loopback port that is taken: a server told to serve on it exits 1 instead of serving."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Scan every log line our code (and the servers it runs) writes, at debug level too."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.get_records("call") + caplog.get_records("setup"):
        if not record.name.startswith(SCANNED_LOGGERS):
            continue
        text = record.getMessage() + (caplog.handler.format(record) if record.exc_info else "")
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{record.name} logged a secret: {text[:300]}"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Options for the `emulator` fixture; parametrize it to change them for a test."""
    return {}


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest, emulator_options: dict[str, Any]
) -> Iterator[RunningEmulator]:
    """The emulator on a free loopback port, without pauses between chunks.

    A coroutine test gets it served on the test's own event loop. A plain test (the CLI, the
    sync client, LangChain's sync calls) gets it on a background thread, since the code it
    drives runs an event loop of its own. Either way it is steered through the same
    `RunningEmulator` methods.
    """
    if inspect.iscoroutinefunction(request.function):
        yield request.getfixturevalue("_emulator_on_the_test_loop")
        return
    with serve_in_thread(**{"delay_s": 0, **emulator_options}) as running:
        yield running


@pytest.fixture
async def _emulator_on_the_test_loop(
    emulator_options: dict[str, Any],
) -> AsyncIterator[RunningEmulator]:
    async with serve(**{"delay_s": 0, **emulator_options}) as running:
        yield running
