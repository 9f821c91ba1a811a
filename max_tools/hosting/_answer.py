"""A refusal a hosted face sends before any PostHog call, ready for any ASGI framework.

`Refused` is raised where a request is found wanting (status, one sentence, and for a 401 the
RFC 6750 error code its challenge carries); `Answer` is the HTTP answer made of it: status,
headers and a JSON body, which a face sends as it is (`Answer.send` over raw ASGI, or its
framework's response from the three fields).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "Refused"]

ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]
"""The ASGI `send` callable (starlette's `Send`), spelled out so no framework is imported."""

_ERRORS = {400: "bad_request", 401: "unauthorized", 403: "forbidden"}


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, headers (lower-case names) and body.

    Attributes:
        status: the HTTP status.
        headers: the header pairs, content type and length included.
        body: the body (JSON).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def json(
        cls, status: int, payload: Mapping[str, object], headers: Sequence[tuple[str, str]] = ()
    ) -> Answer:
        """An answer with `payload` as its JSON body, then `headers`."""
        body = json.dumps(payload).encode()
        sent = (("content-type", "application/json"), ("content-length", str(len(body))))
        return cls(status=status, headers=(*sent, *headers), body=body)

    async def send(self, send: ASGISend) -> None:
        """Send this answer over raw ASGI."""
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


class Refused(Exception):
    """A request refused before any PostHog call: why, and how to answer it.

    Args:
        status: the HTTP status (400, 401, 403, 503).
        detail: one sentence for the person or agent, saying what to do.
        error: the RFC 6750 error code of a 401 (``invalid_token``); None when no credentials
            were sent.
    """

    def __init__(self, status: int, detail: str, *, error: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error

    def answer(self, *, www_authenticate: str | None = None, realm: str = "max-tools") -> Answer:
        """The JSON answer ``{"error", "detail"}``; a 401 names the Bearer scheme.

        Args:
            www_authenticate: the 401's challenge (an OAuth one); default ``Bearer realm=...``.
            realm: the realm of the default challenge, e.g. the face's name.
        """
        challenged = (
            [("www-authenticate", www_authenticate or f'Bearer realm="{realm}"')]
            if self.status == 401
            else []
        )
        payload = {"error": _ERRORS.get(self.status, "error"), "detail": self.detail}
        return Answer.json(self.status, payload, challenged)
