from __future__ import annotations

import pytest

from tests.fake_posthog import FakePostHog


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def posthog() -> FakePostHog:
    return FakePostHog()


@pytest.fixture(autouse=True)
def _no_posthog_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real PostHog settings."""
    for name in (
        "POSTHOG_PERSONAL_API_KEY",
        "POSTHOG_API_KEY",
        "POSTHOG_HOST",
        "POSTHOG_PROJECT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
