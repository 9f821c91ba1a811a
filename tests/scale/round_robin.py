"""A round-robin TCP load balancer on loopback, for scale-out tests: each connection goes to the
next backend, and what it carried is kept (backend, the request's head) so a test can tell which
replica served which call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import ByteStream, SocketStream


@dataclass
class RoundRobin:
    """Forwards each new connection to the next of `ports` and logs what was sent."""

    ports: Sequence[int]
    port: int = 0
    sent: list[tuple[int, bytes]] = field(default_factory=list)  # (backend index, first bytes)

    @property
    def next_backend(self) -> int:
        """The backend index the next connection goes to."""
        return len(self.sent) % len(self.ports)

    def backends_of(self, marker: bytes) -> list[int]:
        """The backends of the connections whose first bytes contain `marker`, in order."""
        return [backend for backend, head in self.sent if marker in head]

    async def handle(self, client: SocketStream) -> None:
        backend = self.next_backend
        entry = (backend, b"")
        self.sent.append(entry)
        index = len(self.sent) - 1
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", self.ports[backend]) as server,
            anyio.create_task_group() as tg,
        ):

            def record(chunk: bytes) -> None:
                if len(self.sent[index][1]) < 8192:
                    self.sent[index] = (backend, self.sent[index][1] + chunk)

            tg.start_soon(_pump, client, server, tg.cancel_scope, record)
            await _pump(server, client, tg.cancel_scope, None)


async def _pump(
    source: ByteStream, sink: ByteStream, scope: anyio.CancelScope, record: object
) -> None:
    try:
        async for chunk in source:
            if callable(record):
                record(chunk)
            await sink.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    scope.cancel()


@asynccontextmanager
async def round_robin(ports: Sequence[int]) -> AsyncIterator[RoundRobin]:
    """Serve a `RoundRobin` over `ports` on a free loopback port while the block lasts."""
    balancer = RoundRobin(ports)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    balancer.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - anyio's typed attribute, not Django's QuerySet.extra
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, balancer.handle)
        try:
            yield balancer
        finally:
            tg.cancel_scope.cancel()
