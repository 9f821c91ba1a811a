"""Logging: request lines at debug level, never bodies or the key."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.fake_posthog import CID, KEY, FakePostHog, ai, human, json_response, stream_response


async def test_debug_logs_name_the_request_but_not_the_key_or_body(
    posthog: FakePostHog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="max_tools")
    posthog.on(
        "POST",
        "",
        httpx.ConnectError("refused"),
        stream_response(human("secret question"), ai("A", "a1")),
    )
    posthog.on("GET", f"{CID}/", json_response(200, {"id": CID, "title": "t", "messages": []}))

    async with posthog.client() as client:
        await client.ask("secret question")
        await client.get_conversation(CID)

    lines = [r.getMessage() for r in caplog.records if r.name == "max_tools"]
    assert any(line.startswith("POST /api/environments/2/conversations/ -> 200") for line in lines)
    assert any(
        line.startswith(f"GET /api/environments/2/conversations/{CID}/ -> 200") for line in lines
    )
    assert any("Retrying in" in line for line in lines)
    assert all(KEY not in line and "secret question" not in line for line in lines)
