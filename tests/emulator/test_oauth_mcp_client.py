"""The official MCP SDK's OAuth client signs in against the emulator, end to end.

`OAuthClientProvider` meets the emulated API's 401, finds no protected-resource metadata, falls
back to the authorization server at the origin (the 2025-03-26 path), registers (DCR) or
presents a metadata document URL (CIMD), follows the authorization link over HTTP (the
emulator consents by itself), exchanges the code and retries the request with the token.
"""

from __future__ import annotations

import anyio
import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider

from max_tools.emulator import RunningEmulator
from tests.emulator.oauth import introspect
from tests.emulator.oauth_sdk import Browser, MemoryStorage, sdk_provider

pytestmark = pytest.mark.anyio

CIMD_URL = "https://cli.example.com/oauth/client.json"


def _provider(
    emulator: RunningEmulator, storage: MemoryStorage, browser: Browser, cimd: str | None = None
) -> OAuthClientProvider:
    return sdk_provider(
        f"{emulator.url}/api/environments/1/conversations/",
        storage,
        browser,
        client_name="SDK client",
        scope="conversation:read query:read",
        client_metadata_url=cimd,
    )


async def test_the_mcp_sdk_registers_signs_in_and_calls_the_api(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True)
    storage, browser = MemoryStorage(), Browser()
    url = f"{emulator.url}/api/environments/1/conversations/"
    with anyio.fail_after(20):
        async with httpx2.AsyncClient(auth=_provider(emulator, storage, browser)) as client:
            response = await client.get(url)
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert storage.tokens is not None
    assert storage.tokens.access_token.startswith("pha_")
    # Without protected-resource metadata the SDK asks for every scope the server supports.
    assert "conversation:read" in (storage.tokens.scope or "").split()
    assert storage.client is not None
    assert len(storage.client.client_id or "") == 40
    assert emulator.oauth_state()["apps"] == 1


async def test_the_mcp_sdk_signs_in_with_a_client_metadata_document(
    emulator: RunningEmulator,
) -> None:
    emulator.set_oauth(auto_consent=True)
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        document = {
            "client_id": CIMD_URL,
            "client_name": "SDK client",
            "redirect_uris": ["http://127.0.0.1/callback", "http://127.0.0.1:8765/callback"],
            "token_endpoint_auth_method": "none",
        }
        registered = await control.post(
            "/_emulator/oauth/cimd", json={"client_id": CIMD_URL, "document": document}
        )
        assert registered.status_code == 201
    storage, browser = MemoryStorage(), Browser()
    url = f"{emulator.url}/api/environments/1/conversations/"
    with anyio.fail_after(20):
        async with httpx2.AsyncClient(
            auth=_provider(emulator, storage, browser, cimd=CIMD_URL)
        ) as client:
            response = await client.get(url)
    assert response.status_code == 200
    assert storage.client is not None
    assert storage.client.client_id == CIMD_URL
    assert storage.tokens is not None
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        introspected = await introspect(http, storage.tokens.access_token)
    assert introspected["client_id"] == CIMD_URL
    assert introspected["client_name"] == "SDK client"
