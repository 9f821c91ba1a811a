"""An HTTP edge in front of the emulator: the client's transport, forwarding to loopback.

Fault rows subclass it to step in before a request goes on (count it, delay it, lose its answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


class EmulatorEdge:
    """Forwards every request to the emulator, streaming the answer back."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self._upstream = httpx.AsyncClient(base_url=emulator.url)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        return await self.forward(self.upstream_request(request))

    def upstream_request(self, request: httpx.Request) -> httpx.Request:
        """`request` as it goes on to the emulator."""
        return self._upstream.build_request(
            request.method,
            request.url.path,
            params=request.url.params,
            headers=request.headers,
            content=request.content,
        )

    async def forward(self, upstream: httpx.Request) -> httpx.Response:
        response = await self._upstream.send(upstream, stream=True)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=response.stream
        )

    async def send_and_lose_the_answer(self, upstream: httpx.Request) -> None:
        """Forward `upstream` so it takes effect, and drop what comes back."""
        landed = await self._upstream.send(upstream, stream=True)
        await landed.aclose()

    @asynccontextmanager
    async def client(self, **options: Any) -> AsyncIterator[AsyncMaxClient]:
        """A client whose requests all pass through this edge."""
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        async with (
            http,
            AsyncMaxClient(
                api_key=DEFAULT_KEY,
                host="https://posthog.test",
                project_id=1,
                http_client=http,
                **options,
            ) as max_client,
        ):
            yield max_client

    async def aclose(self) -> None:
        await self._upstream.aclose()
