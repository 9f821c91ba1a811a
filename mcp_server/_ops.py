"""Operating max-mcp over HTTP: health and readiness, the access log, closing, graceful stop.

- `OpsMiddleware` answers ``GET /healthz`` (the process serves) and ``GET /readyz`` (the
  PostHog host answers), writes one access-log line per request, and closes what the app
  holds (the shared connection pool) once the ASGI lifespan ends.
  While the process stops (`mcp_server._graceful`) it counts the requests in flight, refuses
  new tool calls with 503 and answers /readyz with 503.
- `serve_until_stopped` serves an app until SIGTERM or SIGINT, then stops gracefully within
  `grace_s` and returns, so the process exits 0.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from max_tools.agent import ACTIONS_BY_NAME
from max_tools.serving import bind_socket
from mcp_server._graceful import GracefulServer, let_streams_finish, stopping
from mcp_server._hosted import send_json

__all__ = ["ACCESS_LOGGER", "OpsMiddleware", "serve_until_stopped"]

ACCESS_LOGGER = "mcp_server.access"
access_log = logging.getLogger(ACCESS_LOGGER)
logger = logging.getLogger("mcp_server")

_READY_TIMEOUT = httpx.Timeout(3.0)
_TOOL_BODY_LIMIT = 64 * 1024  # tool calls are small; bigger bodies are not parsed for the log
_STOPPING = -32000  # JSON-RPC's implementation-defined server error range
_STOPPING_DETAIL = (
    "max-mcp is stopping and takes no new tool calls; call again: another instance serves it."
)


class OpsMiddleware:
    """Health and readiness routes, the access log, and closing at the end of the lifespan.

    Args:
        app: the MCP app.
        upstream: the PostHog host /readyz checks; None serves no /readyz.
        http_client: the client /readyz uses.
        on_shutdown: closers awaited, in order, once the app's lifespan has shut down.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        upstream: str | None,
        http_client: httpx.AsyncClient,
        on_shutdown: Sequence[Callable[[], Awaitable[None]]],
    ) -> None:
        self.app = app
        self._upstream = upstream
        self._http_client = http_client
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_after(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        body = bytearray()

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= _TOOL_BODY_LIMIT:
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            route = self._route(scope)
            if route is not None:
                await route(sending)
            elif scope["method"] != "POST":
                await self.app(scope, reading, sending)
            else:
                with stopping.serving():
                    served = await _unless_new_work(reading, sending) if stopping.begun else reading
                    if served is not None:
                        await self.app(scope, served, sending)
        finally:
            access_log.info(
                "%s %s %d %.1fms tool=%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                _tool_name(scope, bytes(body)),
            )

    def _route(self, scope: Scope) -> Callable[[Send], Awaitable[None]] | None:
        if scope["method"] not in ("GET", "HEAD"):
            return None
        if scope["path"] == "/healthz":
            return self._healthz
        if scope["path"] == "/readyz" and self._upstream is not None:
            return self._readyz
        return None

    async def _healthz(self, send: Send) -> None:
        await send_json(send, 200, {"status": "ok"})

    async def _readyz(self, send: Send) -> None:
        if stopping.begun:  # take this instance out of the balancer's rotation
            await send_json(send, 503, {"status": "stopping"})
            return
        upstream = str(self._upstream)
        try:
            # Unauthenticated on purpose: readiness is about reaching PostHog, and no key is
            # held by a per-request-key deployment. Any answer below 500 means it is there.
            response = await self._http_client.get(f"{upstream}/_health", timeout=_READY_TIMEOUT)
        except httpx.HTTPError as exc:
            reason = f"cannot reach {upstream}: {type(exc).__name__}"
            await send_json(send, 503, {"status": "unavailable", "detail": reason})
            return
        if response.status_code >= 500:
            reason = f"{upstream} answered {response.status_code}"
            await send_json(send, 503, {"status": "unavailable", "detail": reason})
            return
        await send_json(send, 200, {"status": "ready", "upstream": upstream})

    def _closing_after(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                for close in self._on_shutdown:
                    await close()
            await send(message)

        return sending


async def _unless_new_work(receive: Receive, send: Send) -> Receive | None:
    """While stopping: refuse a new tool call (503, None), or hand the request on as it came."""
    messages: list[Message] = []
    size = 0
    while True:  # the body, up to the size of a tool call
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client left: the app hears it
        size += len(message.get("body", b""))
        if not message.get("more_body") or size > _TOOL_BODY_LIMIT:
            break
    new_call, request_id = _new_tool_call(messages)
    if new_call:
        error = {"code": _STOPPING, "message": _STOPPING_DETAIL}
        await send_json(
            send,
            503,
            {"jsonrpc": "2.0", "id": request_id, "error": error},
            [("retry-after", "1"), ("connection", "close")],
        )
        return None
    pending = iter(messages)

    async def replaying() -> Message:
        return next(pending, None) or await receive()

    return replaying


def _new_tool_call(messages: Sequence[Message]) -> tuple[bool, Any]:
    """Whether these first messages of a request start a tool call, and the request's id.

    A tool call carrying requestState continues one in flight (2026-07-28); a body bigger than
    a tool call's, sent while stopping, is taken for new work.
    """
    last = messages[-1]
    if last["type"] != "http.request":
        return False, None
    if last.get("more_body"):
        return True, None
    try:
        request = json.loads(b"".join(message.get("body", b"") for message in messages))
    except ValueError:
        return False, None  # the app answers what is not JSON
    if not isinstance(request, dict) or request.get("method") != "tools/call":
        return False, None
    params = request.get("params")
    continues = isinstance(params, dict) and params.get("requestState") is not None
    return not continues, request.get("id")


def _tool_name(scope: Scope, body: bytes) -> str:
    """The tool a request called, if it called a known one ('-' otherwise).

    Only catalogue names are logged: whatever else a request put there is the caller's text.
    """
    name: Any = None
    for key, value in scope.get("headers") or []:
        if key == b"mcp-name":  # 2026-07-28 clients mirror the tool name in a header
            name = value.decode("latin-1")
    if name is None and body and len(body) <= _TOOL_BODY_LIMIT:
        try:
            request = json.loads(body)
        except ValueError:
            return "-"
        if isinstance(request, dict) and request.get("method") == "tools/call":
            params = request.get("params")
            name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) and name in ACTIONS_BY_NAME else "-"


async def serve_until_stopped(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    grace_s: float,
    announce: Callable[[int], None],
) -> None:
    """Serve `app` until SIGTERM or SIGINT, letting requests in flight finish within `grace_s`.

    Args:
        app: the ASGI app.
        host: the address to bind.
        port: the port; 0 picks a free one.
        grace_s: how long requests in flight may take to finish once a signal came.
        announce: called with the bound port once the socket listens.
    """
    let_streams_finish()
    sock = bind_socket(host, port)
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,  # ours names the tool and leaves the query string out
        timeout_graceful_shutdown=math.ceil(grace_s),  # uvicorn takes whole seconds
    )
    server = GracefulServer(config, grace_s)
    # uvicorn stops on the signal, then raises it again for the handler it found: make that
    # one a no-op, so the process ends with status 0 instead of dying of the signal.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        announce(sock.getsockname()[1])
        await server.serve([sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM after uvicorn's graceful stop: nothing left to do."""
