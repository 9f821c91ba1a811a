from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from mcp_server import build_server


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def max_client(emulator: RunningEmulator) -> AsyncIterator[AsyncMaxClient]:
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        yield client


@pytest.fixture
async def mcp(max_client: AsyncMaxClient, server_options: dict[str, Any]) -> AsyncIterator[Client]:
    """The official MCP client, connected in memory to a max-mcp server on the emulator."""
    async with Client(build_server(max_client, **server_options)) as client:
        yield client
