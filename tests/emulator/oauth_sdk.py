"""The host's side of a sign-in with the official MCP SDK's OAuth client, against the emulator.

Kept apart from `tests.emulator.oauth` (raw HTTP) because it needs the ``mcp`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.emulator.oauth import query

HOST_REDIRECT = "http://127.0.0.1:8765/callback"
"""Where the host's provider asks PostHog to send the browser back."""


class MemoryStorage:
    """The host's token storage, in memory; `client` when the host holds a registration."""

    def __init__(self, client: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client = client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Browser:
    """Follows the authorization link over HTTP and reads the code off PostHog's redirect."""

    opened: list[str] = field(default_factory=list)
    result: AuthorizationCodeResult | None = None

    async def open(self, url: str) -> None:
        self.opened.append(url)
        async with httpx.AsyncClient(timeout=10) as browser:
            answer = await browser.get(url)
        assert answer.status_code == 302, answer.text
        params = query(answer.headers["location"])
        self.result = AuthorizationCodeResult(code=params["code"], state=params["state"])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def sdk_provider(
    server_url: str, storage: MemoryStorage, browser: Browser, **metadata: Any
) -> OAuthClientProvider:
    """The SDK's OAuth provider for a public client that signs in through `browser`.

    `metadata` completes the client's registration (``client_name``, ``scope``...), except
    ``client_metadata_url``, which goes to the provider: the client is then a metadata document.
    """
    cimd = metadata.pop("client_metadata_url", None)
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl(HOST_REDIRECT)],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method="none",
            **metadata,
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
        client_metadata_url=cimd,
    )
