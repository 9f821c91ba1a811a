"""A loopback TCP proxy that can take a request, pass it on, and hang up before any answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ByteStream, SocketStream


class HangUpProxy:
    """Forwards connections to `target_port`; the first `hang_ups` requests are passed on to the
    server (so they take effect) but the client's connection is closed before any response."""

    def __init__(self, target_port: int, hang_ups: int) -> None:
        self.target_port = target_port
        self.hang_ups = hang_ups
        self.hung_up = 0

    async def handle(self, client: SocketStream) -> None:
        async with client:
            if self.hung_up < self.hang_ups:
                self.hung_up += 1
                request = await _read_request(client)
                async with await anyio.connect_tcp("127.0.0.1", self.target_port) as server:
                    await server.send(request)
                    await server.receive()  # the server has acted on it; the client never hears
                return
            async with (
                await anyio.connect_tcp("127.0.0.1", self.target_port) as server,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(_pump, client, server, tg.cancel_scope)
                await _pump(server, client, tg.cancel_scope)


async def _pump(source: ByteStream, sink: ByteStream, scope: anyio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    scope.cancel()


async def _read_request(stream: SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += await stream.receive()
    return head + b"\r\n\r\n" + body


@asynccontextmanager
async def hang_up_proxy(target_port: int, hang_ups: int) -> AsyncIterator[tuple[str, HangUpProxy]]:
    """Serve a proxy on a free loopback port; yields its base URL."""
    proxy = HangUpProxy(target_port, hang_ups)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, proxy.handle)
        try:
            yield f"http://127.0.0.1:{port}", proxy
        finally:
            task_group.cancel_scope.cancel()
