"""The server's own key serves every request; off loopback a shared bearer token guards it.

The third way a face can be deployed (beside per-request personal keys and sign-ins), with
the same surface as `HostedAuth` (`resource`, `metadata_answer`, `authenticate`), so that a face
handles the three modes with one code path.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.agent import is_loopback
from max_tools.hosting._answer import Answer, Refused
from max_tools.hosting._bearer import bearer_token
from max_tools.hosting._caller import Caller

__all__ = ["ServerKeyAuth"]


class ServerKeyAuth:
    """Serves every request with `client`, the server's own (with `auth_token`, only if sent).

    A request must then send ``Authorization: Bearer <auth_token>`` (compared in constant time).

    Args:
        client: the client holding the server's own key (the face closes it when it stops).
        auth_token: the token every request must send; required when `bind` is off loopback.
        bind: the address the face serves on.
        realm: the realm of a 401's challenge.

    Raises:
        ConfigurationError: off loopback without a token (anyone could use the server's key).
    """

    def __init__(
        self,
        client: AsyncMaxClient,
        *,
        auth_token: str | None = None,
        bind: str = "127.0.0.1",
        realm: str = "max-tools",
    ) -> None:
        if not auth_token and not is_loopback(bind):
            raise ConfigurationError(
                f"Refusing to serve on {bind} without a token: anyone who can reach it could use "
                "the server's PostHog key. Set a bearer token, take each user's credentials "
                "instead, or bind to 127.0.0.1."
            )
        self._caller = Caller(client=client)
        self._token = auth_token.encode() if auth_token else None
        self._realm = realm

    @property
    def requires_token(self) -> bool:
        """Whether a request must send the deployment's token (a face's card declares it)."""
        return self._token is not None

    def resource(self, *, scheme: str, host: str | None, path: str) -> str | None:
        """None: a server's own key is no OAuth-protected resource."""
        return None

    def metadata_answer(self, *, path: str, method: str, resource: str | None) -> Answer | None:
        """None: there is no protected-resource metadata to serve."""
        return None

    async def authenticate(
        self, headers: Mapping[str, str], *, resource: str | None = None
    ) -> Caller | Answer:
        """The server's caller, or a 401 when the request lacks the deployment's token."""
        if self._token is not None:
            sent = bearer_token(headers.get("authorization")) or ""
            if not hmac.compare_digest(sent.encode(), self._token):
                refused = Refused(401, "Send Authorization: Bearer <token>.")
                return refused.answer(realm=self._realm)
        return self._caller
