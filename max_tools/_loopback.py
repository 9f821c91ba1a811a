"""The loopback redirect: a one-shot HTTP listener on 127.0.0.1 that takes the browser's return.

PostHog sends the browser back to ``http://127.0.0.1:<port>/callback?code=...&state=...``
(or ``?error=access_denied&state=...``). The listener answers that request with a small page
that says the tab can be closed, and hands the parameters over. Other paths (a browser asks for
``/favicon.ico``) get a 404 and the listener goes on waiting. It is plain HTTP on anyio, so
a timeout or Ctrl-C ends it cleanly, without a thread.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import anyio
from anyio.abc import SocketAttribute, SocketStream

__all__ = ["Callback", "LoopbackListener", "loopback_listener"]

CALLBACK_PATH = "/callback"
_MAX_REQUEST = 16_384  # a request line and headers; PostHog's codes and states are short
_READ_S = 10.0  # one connection may not hold the listener up longer than this


@dataclass(frozen=True, slots=True)
class Callback:
    """The query of the browser's return: a code, or an error, and the state."""

    params: dict[str, str]

    @property
    def state(self) -> str | None:
        """The state PostHog echoed."""
        return self.params.get("state")


class LoopbackListener:
    """Where the browser comes back to; `callback()` waits for it."""

    def __init__(self, port: int, expected_state: str) -> None:
        self.port = port
        self.redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
        self._expected_state = expected_state
        self._arrived = anyio.Event()
        self._callback: Callback | None = None

    async def callback(self) -> Callback:
        """The browser's return, once it arrives (bound the wait from outside)."""
        await self._arrived.wait()
        assert self._callback is not None  # set before the event  # noqa: S101 - an invariant
        return self._callback

    async def handle(self, stream: SocketStream) -> None:
        """Answer one connection: the callback, or a 404 for anything else."""
        async with stream:
            with anyio.move_on_after(_READ_S):
                target = await _request_target(stream)
                if target is None:
                    return
                parts = urlsplit(target)
                if parts.path != CALLBACK_PATH or self._arrived.is_set():
                    await _answer(stream, 404, "Not found", "Nothing here.")
                    return
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if params.get("state") != self._expected_state:
                    title, text = (
                        "Sign-in refused",
                        (
                            "This sign-in did not start in this max-tools (its state does not "
                            "match), so it was ignored. Run max-tools login again."
                        ),
                    )
                    status = 400
                elif "code" in params:
                    status, title = 200, "Signed in to PostHog"
                    text = "max-tools is signed in. You can close this tab."
                else:
                    status, title = 400, "Sign-in not completed"
                    text = "PostHog did not sign max-tools in. You can close this tab."
                await _answer(stream, status, title, text)
                self._callback = Callback(params)
                self._arrived.set()


@asynccontextmanager
async def loopback_listener(expected_state: str) -> AsyncIterator[LoopbackListener]:
    """Listen on a free port of 127.0.0.1 while the block runs."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
    waiting = LoopbackListener(port, expected_state)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, waiting.handle)
        try:
            yield waiting
        finally:
            tasks.cancel_scope.cancel()


async def _request_target(stream: SocketStream) -> str | None:
    """The target of a GET request (``/callback?...``); None for anything else."""
    data = b""
    with suppress(anyio.EndOfStream, anyio.BrokenResourceError):
        while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST:
            data += await stream.receive()
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    method, _, rest = line.partition(" ")
    target = rest.rpartition(" ")[0]
    return target if method == "GET" and target.startswith("/") else None


async def _answer(stream: SocketStream, status: int, title: str, text: str) -> None:
    title, text = html.escape(title), html.escape(text)
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{title}</title>"
        f"<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body>"
    )
    body = page.encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stream.send(head.encode() + body)
