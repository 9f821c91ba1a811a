"""Credentials PostHog refuses before a task has anything to show: the request is a 401."""

from __future__ import annotations

import anyio
import httpx
import pytest

from max_tools.emulator import RunningEmulator
from tests.a2a.test_revoked_mid_task import FACES

_LIST = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}


def _send(text: str, method: str) -> dict[str, object]:
    message = {"role": "ROLE_USER", "messageId": "m-1", "parts": [{"text": text}]}
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"message": message}}


@pytest.mark.parametrize("method", ["SendMessage", "SendStreamingMessage"])
@pytest.mark.parametrize("face", FACES)
async def test_a_message_in_a_new_context_with_refused_credentials_is_answered_401(
    emulator: RunningEmulator, face: str, method: str
) -> None:
    async with FACES[face](emulator) as creds, httpx.AsyncClient() as http:
        headers = {"Authorization": f"Bearer {creds.secret}", "A2A-Version": "1.0"}
        with anyio.fail_after(30):
            # The face has checked these credentials (a sign-in's check stands for minutes).
            listed = await http.post(creds.url, headers=headers, json=_LIST)
            assert listed.status_code == 200
            await creds.revoke()
            refused = await http.post(
                creds.url,
                headers=headers,
                json=_send("How many users signed up last week?", method),
            )
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert creds.secret not in refused.text
