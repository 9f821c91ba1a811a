"""Per request, who is calling and with which PostHog credentials, or a ready refusal.

A hosted face holds no PostHog key: each request carries its user's personal API key
(``Authorization: Bearer phx_...``) and/or PostHog sign-in token (``pha_...``), as the deployment
allows. `HostedAuth.authenticate` checks it before any PostHog API call (a sign-in token by
PostHog's self-introspection, cached by digest), picks the request's host and project, and
makes an `AsyncMaxClient` for that request alone over one shared pool, with the user's memory
from `ClientStates`. Nothing about a key outlives its request.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import normalize_host
from max_tools.hosting._answer import Answer, Refused
from max_tools.hosting._bearer import bearer_token, personal_key
from max_tools.hosting._caller import Caller
from max_tools.hosting._oauth import PRM_PATH, TOKEN_PREFIX, challenge, protected_resource_metadata
from max_tools.hosting._settings import HostedSettings
from max_tools.hosting._signin import SignIns
from max_tools.hosting._states import ClientStates

__all__ = ["HOST_HEADER", "PROJECT_HEADER", "HostedAuth"]

PROJECT_HEADER = "x-posthog-project-id"
"""A request's project, where the deployment takes it (PostHog's MCP server reads the same)."""
HOST_HEADER = "x-posthog-host"
"""A request's PostHog host (personal keys only), among the deployment's allowed hosts."""


class HostedAuth:
    """Authenticates each request of a hosted face and makes its caller's client.

    Args:
        settings: the deployment's rules (personal keys, sign-ins, host, project).
        http_client: the shared pool (`shared_http_client`) every caller's client and every
            introspection goes through; the face closes it when it stops.
        realm: the realm of a 401 challenge without sign-ins, e.g. the face's name.
        states: each user's conversation memory (default: a new registry).
    """

    def __init__(
        self,
        settings: HostedSettings,
        http_client: httpx.AsyncClient,
        *,
        realm: str = "max-tools",
        states: ClientStates | None = None,
    ) -> None:
        self.settings = settings
        self._http_client = http_client
        self._realm = realm
        self._states = states if states is not None else ClientStates()
        self._sign_ins = (
            SignIns(
                settings.oauth,
                http_client,
                project_id=settings.project_id,
                allow_project_header=settings.allow_project_header,
            )
            if settings.oauth is not None
            else None
        )

    def resource(self, *, scheme: str, host: str | None, path: str) -> str | None:
        """The protected resource a request came to (its endpoint URL); None without sign-ins.

        Args:
            scheme: the request's scheme.
            host: its Host header.
            path: the face's endpoint path, e.g. ``/mcp``.
        """
        oauth = self.settings.oauth
        return None if oauth is None else oauth.resource(scheme, host, path)

    def metadata_answer(self, *, path: str, method: str, resource: str | None) -> Answer | None:
        """The RFC 9728 metadata, when `path` asks for it and sign-ins are on; else None.

        Served at the root well-known path and at its path-inserted form, to any origin.
        """
        oauth = self.settings.oauth
        if oauth is None or resource is None:
            return None
        if not (path == PRM_PATH or path.startswith(PRM_PATH + "/")):
            return None
        cors = [("access-control-allow-origin", "*")]
        if method not in ("GET", "HEAD"):
            return Answer.json(405, {"error": "method_not_allowed"}, cors)
        document = protected_resource_metadata(oauth, resource)
        return Answer.json(200, document, [*cors, ("cache-control", "max-age=300")])

    def refusal(self, refused: Refused, *, resource: str | None) -> Answer:
        """The answer to `refused`: with sign-ins on, a 401 points at the metadata of `resource`."""
        www = None
        if self.settings.oauth is not None and resource is not None and refused.status == 401:
            www = challenge(resource, error=refused.error, description=refused.detail)
        return refused.answer(www_authenticate=www, realm=self._realm)

    async def authenticate(
        self, headers: Mapping[str, str], *, resource: str | None = None
    ) -> Caller | Answer:
        """The caller of a request, or the answer that refuses it (before any PostHog call).

        Args:
            headers: the request's headers, by lower-case name (a starlette `Headers` will do).
            resource: the request's protected resource (`resource`), for a 401's challenge.

        Returns:
            A `Caller`, or an `Answer`: 401 without usable credentials, 400 for a host or
            project the deployment does not serve, 403 for a project a sign-in does not cover,
            503 when PostHog cannot be asked about a sign-in token.
        """
        try:
            return await self.caller(headers)
        except Refused as refused:
            return self.refusal(refused, resource=resource)

    async def caller(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a request (as `authenticate`), raising what refuses it.

        Raises:
            Refused: the request may not go on; `refusal` makes its answer.
        """
        settings = self.settings
        authorization = headers.get("authorization")
        if self._sign_ins is not None:
            sent = bearer_token(authorization)
            if sent is None:
                raise Refused(
                    401,
                    "Sign in with PostHog: this server takes the token your client (MCP host, "
                    "agent) gets when you sign in (Authorization: Bearer pha_...)"
                    + (", or a personal API key (phx_...)." if settings.personal_keys else "."),
                )
            if sent.startswith(TOKEN_PREFIX):
                facts = await self._sign_ins.check(sent)
                # The token's region is the host: x-posthog-host does not apply to sign-ins.
                named = headers.get(PROJECT_HEADER, "").strip()
                project = self._sign_ins.project(facts, named)
                return Caller(
                    # Keyed by the token's digest: introspection names no user, so a refreshed
                    # token starts a new memory (of cancels and approvals seen), nothing more.
                    client=self._client(sent, facts.api_host, project, facts.digest),
                    granted=facts.scopes,
                    _forget=self._sign_ins.forgetter(facts),
                )
            if not settings.personal_keys:
                raise Refused(
                    401,
                    "This server signs users in with PostHog; personal API keys and other "
                    "tokens are not accepted here. Remove the Authorization header and sign in.",
                    error="invalid_token",
                )
        return Caller(client=self._personal_client(headers))

    def _personal_client(self, headers: Mapping[str, str]) -> AsyncMaxClient:
        settings = self.settings
        key = personal_key(headers.get("authorization"))
        host = settings.host
        asked_host = headers.get(HOST_HEADER, "").strip()
        if asked_host:
            try:
                host = normalize_host(asked_host)
            except ConfigurationError as exc:
                raise Refused(400, str(exc)) from None
            if host not in settings.allowed_hosts:
                raise Refused(
                    400,
                    f"This deployment does not serve PostHog host {host} (x-posthog-host); "
                    f"it serves {', '.join(sorted(settings.allowed_hosts))}.",
                )
        project = settings.project_id
        asked_project = headers.get(PROJECT_HEADER, "").strip()
        if asked_project and asked_project != project:
            if not settings.allow_project_header:
                raise Refused(
                    400,
                    f"This deployment is pinned to project {project}; it does not take "
                    "x-posthog-project-id. Leave the header out.",
                )
            project = asked_project
        return self._client(key, host, project, key)

    def _client(self, credential: str, host: str, project: str, user: str) -> AsyncMaxClient:
        """A client for one request, over the shared pool, with its user's memory."""
        try:
            return AsyncMaxClient(
                api_key=credential,
                host=host,
                project_id=project,
                http_client=self._http_client,
                state=self._states.state_of(host, project, user),
            )
        except ConfigurationError as exc:  # the project id (the credential was checked before)
            raise Refused(400, str(exc)) from None
