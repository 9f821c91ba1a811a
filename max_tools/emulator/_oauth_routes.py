"""The authorization server's routes, and its two simplest endpoints: metadata and DCR."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator import _oauth_authorize, _oauth_token
from max_tools.emulator._oauth import OAuthServer, issuer, oauth_error
from max_tools.emulator._oauth_clients import RegistrationError, register, registration_reply
from max_tools.emulator._oauth_scopes import SCOPES_SUPPORTED
from max_tools.emulator._responses import json_response

__all__ = ["handle", "metadata"]


async def handle(server: OAuthServer, request: Request) -> Response:
    """Answer a request on an authorization-server path."""
    path = request.url.path.rstrip("/")
    method = request.method
    if path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        if method not in ("GET", "HEAD"):
            return _not_allowed(method)
        return json_response(200, metadata(server, request), {"Access-Control-Allow-Origin": "*"})
    if path == "/.well-known/jwks.json":
        return json_response(200, {"keys": []}, {"Access-Control-Allow-Origin": "*"})
    handlers = {
        "/oauth/authorize": (_oauth_authorize.authorize, ("GET", "POST")),
        "/oauth/token": (_oauth_token.token, ("POST",)),
        "/oauth/introspect": (_oauth_token.introspect, ("GET", "POST")),
        "/oauth/revoke": (_oauth_token.revoke, ("POST",)),
        "/oauth/register": (_register, ("POST",)),
        "/oauth/userinfo": (_oauth_token.userinfo, ("GET", "POST")),
    }
    found = handlers.get(path)
    if found is None:
        return json_response(404, {"detail": "Not found."})
    endpoint, methods = found
    if method not in methods:
        return _not_allowed(method)
    return await endpoint(server, request)


def _not_allowed(method: str) -> Response:
    return json_response(405, {"detail": f'Method "{method}" not allowed.'})


def metadata(server: OAuthServer, request: Request) -> dict[str, Any]:
    """`authorization_server_metadata` (RFC 8414), with PostHog's extensions."""
    base = issuer(request)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize/",
        "token_endpoint": f"{base}/oauth/token/",
        "userinfo_endpoint": f"{base}/oauth/userinfo/",
        "revocation_endpoint": f"{base}/oauth/revoke/",
        "introspection_endpoint": f"{base}/oauth/introspect/",
        "registration_endpoint": f"{base}/oauth/register/",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "service_documentation": "https://posthog.com/docs/api",
        **server.region_fields(request),
    }


async def _register(server: OAuthServer, request: Request) -> Response:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return oauth_error(400, "invalid_client_metadata", "The body is not valid JSON.")
    try:
        app = register(body)
    except RegistrationError as exc:
        return oauth_error(400, exc.error, exc.description)
    server.state.apps[app.client_id] = app
    return json_response(201, registration_reply(app))
