"""PostHog's OAuth 2.1 authorization server, emulated: its configuration, state and lookups.

The endpoints live by concern: `_oauth_routes` (routing, metadata, registration),
`_oauth_authorize` (the code request and the consent page), `_oauth_token` (token,
introspection, revocation, userinfo), `_oauth_api` (``pha_`` tokens on the API),
`_oauth_control` (``/_emulator/oauth``); apps and their rules in `_oauth_clients`, tokens in
`_oauth_store`, scopes in `_oauth_scopes`. The wire truth is reference posthog-oauth.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator._oauth_clients import (
    OAuthApp,
    RegistrationError,
    cimd_app,
    is_cimd_url,
)
from max_tools.emulator._oauth_store import OAuthStore
from max_tools.emulator._responses import json_response
from max_tools.emulator._store import Store, User

__all__ = ["ORGANIZATION_ID", "OAuthServer", "is_oauth_path", "issuer", "oauth_error"]

ORGANIZATION_ID = str(uuid.UUID(int=0xE1, version=4))
"""The emulator's one organization: every project belongs to it."""
DEFAULT_USER_KEY = "phx_emulator_key"  # `DEFAULT_KEY`: its user signs in when nobody else is known
_CIMD_LIMIT_BYTES = 5 * 1024
_CIMD_HEADERS = {"Accept": "application/json", "User-Agent": "PostHog-CIMD/1.0"}
_REGIONS = ("us", "eu")


def is_oauth_path(path: str) -> bool:
    """Whether a request path is one of the authorization server's."""
    return path.startswith(("/oauth/", "/.well-known/"))


def oauth_error(
    status: int, error: str, description: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 6749 error body, as oauthlib writes it (no description when it has none)."""
    body = (
        {"error": error}
        if description is None
        else {"error": error, "error_description": description}
    )
    return json_response(status, body, headers)


class OAuthServer:
    """The authorization server's configuration, state and shared lookups.

    Args:
        store: the emulator's users (the people behind personal API keys sign in).
        projects: the projects one may grant (the emulator's known projects).
        current_project_id: the project ``@current`` stands for, preselected on consent.
        region: ``us``, ``eu`` or None (self-hosted: no region fields).
        cimd_http_loopback: treat ``http://`` loopback client ids as metadata document URLs
            and fetch them (offline tests cannot serve https).
        default_user_key: the key whose user signs in when the emulator knows nobody yet.
    """

    def __init__(
        self,
        store: Store,
        *,
        projects: Sequence[int],
        current_project_id: int,
        region: str | None = "us",
        cimd_http_loopback: bool = False,
        default_user_key: str = DEFAULT_USER_KEY,
    ) -> None:
        if region not in (*_REGIONS, None):
            raise ValueError(f"region must be 'us', 'eu' or None (self-hosted), not {region!r}.")
        self.users_store = store
        self.projects = sorted(projects)
        self.current_project_id = current_project_id
        self.region = region
        self.cimd_http_loopback = cimd_http_loopback
        self._default_user_key = default_user_key
        self.state = OAuthStore()

    # Shared lookups

    def users(self) -> list[User]:
        """The emulated users, in the order the emulator met them (at least one)."""
        if not self.users_store.users:
            self.users_store.user_for(self._default_user_key)
        return list(self.users_store.users.values())

    def user(self, user_id: object) -> User | None:
        for user in self.users():
            if str(user.id) == str(user_id):
                return user
        return None

    def region_fields(self, request: Request) -> dict[str, str]:
        """`get_region_info`: the region and the API's base URL (this emulator), on Cloud."""
        if self.region is None:
            return {}
        return {"posthog_region": self.region, "posthog_base_url": issuer(request)}

    async def app(self, client_id: str) -> OAuthApp | None:
        """The app a client_id names, reading its metadata document on first use (CIMD).

        Raises `RegistrationError` when a metadata document cannot be read or is refused.
        """
        found = self.state.apps.get(client_id)
        if found is not None:
            return found
        if not is_cimd_url(client_id, allow_http_loopback=self.cimd_http_loopback):
            return None
        document = self.state.cimd_documents.get(client_id)
        if document is None:
            document = await _fetch_document(client_id)
        app = cimd_app(client_id, document)
        self.state.apps[client_id] = app
        return app


def issuer(request: Request) -> str:
    """The emulator's own origin: the issuer, and where API calls come back to."""
    return str(request.base_url).rstrip("/")


async def _fetch_document(url: str) -> Any:
    unreadable = RegistrationError(
        "invalid_client",
        f"PostHog could not read the client metadata document at this client_id ({url}).",
    )
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(5.0), follow_redirects=False, headers=_CIMD_HEADERS
        ) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise unreadable from exc
    if response.status_code != 200 or len(response.content) > _CIMD_LIMIT_BYTES:
        raise unreadable
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise unreadable from exc
