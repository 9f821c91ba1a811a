"""max-mcp over real transports: a stdio subprocess and streamable HTTP, with the official client."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

from max_tools import AsyncMaxClient, ConfigurationError
from max_tools.emulator import DEFAULT_KEY, RunningEmulator
from mcp_server import build_server
from mcp_server._http import http_app, serve_http

MAX_MCP = [sys.executable, "-m", "mcp_server"]


def first_text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def test_a_stdio_subprocess_session_with_the_official_client() -> None:
    params = StdioServerParameters(command=MAX_MCP[0], args=[*MAX_MCP[1:], "--emulator"])
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = await client.list_tools()
            result = await client.call_tool(
                "max_chat", {"message": "Show me a trend of signups"}, progress_callback=on_progress
            )
            listed = await client.call_tool("max_list_conversations", {})

    assert len(tools.tools) == 15
    assert (
        result.structured_content is not None and result.structured_content["status"] == "completed"
    )
    assert seen == sorted(set(seen)) and len(seen) >= 5  # echo, tool use, update, chart, text
    assert result.structured_content["conversation_id"] in first_text(listed)


async def test_a_streamable_http_session_with_the_official_client(
    max_client: AsyncMaxClient,
) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with serve_http(build_server(max_client), port=0) as url:
        with anyio.fail_after(30):
            async with Client(url) as client:
                tools = await client.list_tools()
                result = await client.call_tool(
                    "max_chat", {"message": "How many signups?"}, progress_callback=on_progress
                )

    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
    assert len(tools.tools) == 15
    assert (
        result.structured_content is not None and result.structured_content["status"] == "completed"
    )
    assert seen and seen == sorted(seen)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "0:0:0:0:0:0:0:1"])
async def test_on_every_loopback_address_a_foreign_host_or_origin_is_refused(
    max_client: AsyncMaxClient, host: str
) -> None:
    # DNS rebinding: a web page whose name now points at this machine must not reach the tools.
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {
        "Accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    async with (
        serve_http(build_server(max_client), host=host, port=0) as url,
        httpx.AsyncClient() as raw,
    ):
        own = await raw.post(url, headers=headers, json=listing)
        foreign_host = await raw.post(
            url, headers={**headers, "Host": "evil.example:80"}, json=listing
        )
        foreign_origin = await raw.post(
            url, headers={**headers, "Origin": "http://evil.example"}, json=listing
        )

    assert own.status_code == 200 and "max_chat" in own.text
    assert (foreign_host.status_code, foreign_origin.status_code) == (421, 403)


async def test_http_with_a_token_refuses_missing_and_wrong_tokens(
    max_client: AsyncMaxClient,
) -> None:
    async with serve_http(build_server(max_client), port=0, auth_token="s3cret-token") as url:
        async with httpx.AsyncClient() as raw:
            missing = await raw.post(url, json={})
            wrong = await raw.post(url, json={}, headers={"Authorization": "Bearer nope"})
        with anyio.fail_after(30):
            authorized = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"})
            async with (
                authorized,
                Client(streamable_http_client(url, http_client=authorized)) as client,
            ):
                tools = await client.list_tools()

    assert missing.status_code == 401 and wrong.status_code == 401
    assert "s3cret-token" not in wrong.text
    assert len(tools.tools) == 15


async def test_binding_off_loopback_without_a_token_is_refused(max_client: AsyncMaxClient) -> None:
    with pytest.raises(ConfigurationError, match="without a token"):
        http_app(build_server(max_client), host="0.0.0.0", auth_token=None)


async def test_max_mcp_without_a_key_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    with anyio.fail_after(60):
        result = await anyio.run_process(MAX_MCP, check=False, env=env)

    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "POSTHOG_PERSONAL_API_KEY" in stderr and "Traceback" not in stderr
    assert "--api-key" in stderr and "api_key=" not in stderr  # its own flag, not Python's
    assert result.stdout == b""


async def test_max_mcp_refuses_an_unknown_tool_name() -> None:
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [*MAX_MCP, "--emulator", "--tools", "max_chat,max_fly"], check=False
        )

    assert result.returncode == 2
    assert "max_fly" in result.stderr.decode()


async def test_max_mcp_http_off_loopback_without_a_token_exits_2(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **emulator.env(DEFAULT_KEY)}
    with anyio.fail_after(60):
        result = await anyio.run_process(
            [*MAX_MCP, "--transport", "http", "--host", "0.0.0.0", "--port", "0"],
            check=False,
            env=env,
        )

    assert result.returncode == 2
    assert "--auth-token" in result.stderr.decode()


async def test_read_only_and_tool_filter_from_the_environment() -> None:
    env = {
        **os.environ,
        "MAX_MCP_READ_ONLY": "1",
        "MAX_MCP_TOOLS": "max_wait,max_chat,max_list_queue",
    }
    params = StdioServerParameters(command=MAX_MCP[0], args=[*MAX_MCP[1:], "--emulator"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = await client.list_tools()

    assert [t.name for t in tools.tools] == ["max_wait", "max_list_queue"]
