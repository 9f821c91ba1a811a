"""Security: the key never shows, redirects never carry it, http only on loopback."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from mcp import Client

from langchain_integration import MaxToolkit
from max_tools import APIStatusError, AsyncMaxClient, ConfigurationError, MaxClient
from max_tools.agent import ACTIONS
from max_tools.emulator import Rule, RunningEmulator
from mcp_server import build_server

KEY = "phx_security_key_do_not_leak_0123456789"
CID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"


def example(action: str, cid: str) -> dict[str, Any]:
    if action == "max_chat":
        return {"message": "How many signups?", "conversation_id": cid}
    if action == "max_list_conversations":
        return {}
    arguments: dict[str, Any] = {"conversation_id": cid}
    if action in ("max_append_message", "max_queue_message", "max_update_queued_message"):
        arguments["message"] = "hello"
    if action in ("max_update_queued_message", "max_delete_queued_message"):
        arguments["queue_id"] = "q1"
    return arguments


@pytest.mark.parametrize(
    "emulator_options",
    [{"keys": [KEY], "rules": [Rule(match="echo", reply="You said: {message}")]}],
)
async def test_no_tool_result_error_or_repr_contains_the_key(emulator: RunningEmulator) -> None:
    seen: list[str] = []
    async with AsyncMaxClient(api_key=KEY, host=emulator.url, project_id=1) as client:
        seen += [repr(client), str(client), repr(client.settings)]
        async with Client(build_server(client)) as mcp:
            good = str(uuid.uuid4())
            await mcp.call_tool("max_chat", {"message": "echo this", "conversation_id": good})
            for action in ACTIONS:
                for cid in (good, CID):  # a real conversation and a missing one
                    result = await mcp.call_tool(action.name, example(action.name, cid))
                    seen.append(result.model_dump_json())
        toolkit = MaxToolkit(client=client)
        seen += [repr(toolkit), str(toolkit.model_dump())]
        for tool in toolkit.get_tools():
            seen += [repr(tool), str(tool.model_dump())]
            for cid in (good, CID):
                call = {
                    "type": "tool_call",
                    "id": "1",
                    "name": tool.name,
                    "args": example(tool.name, cid),
                }
                message = await tool.ainvoke(call)
                seen += [str(message.content), repr(message.artifact)]
    async with AsyncMaxClient(api_key="phx_wrong_" + KEY, host=emulator.url, project_id=1) as wrong:
        with pytest.raises(APIStatusError) as caught:
            await wrong.list_conversations()
        seen += [str(caught.value), repr(caught.value), repr(caught.value.body)]

    assert len(seen) > 50
    assert not [text for text in seen if KEY in text]


def test_the_sync_client_and_config_errors_never_show_the_key() -> None:
    with MaxClient(api_key=KEY, host="https://eu.posthog.com") as client:
        shown = [repr(client), str(client.settings)]
    with pytest.raises(ConfigurationError) as caught:
        AsyncMaxClient(api_key=KEY, host="http://posthog.example.com")
    shown += [str(caught.value), repr(caught.value)]
    assert not [text for text in shown if KEY in text]


async def test_redirects_are_not_followed_by_default() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncMaxClient(api_key=KEY, http_client=http) as client:
        with pytest.raises(APIStatusError, match="redirect") as caught:
            await client.list_conversations()
    await http.aclose()

    assert caught.value.status_code == 302
    assert [r.url.host for r in requests] == ["us.posthog.com"]


async def test_a_redirect_followed_by_an_injected_client_never_carries_the_key_elsewhere() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.host == "us.posthog.com":
            return httpx.Response(307, headers={"Location": "https://elsewhere.example/api/"})
        return httpx.Response(200, json={"count": 0, "next": None, "previous": None, "results": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    async with AsyncMaxClient(api_key=KEY, http_client=http) as client:
        await client.list_conversations()
    await http.aclose()

    first, redirected = requests
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert redirected.url.host == "elsewhere.example"
    assert "Authorization" not in redirected.headers


@pytest.mark.parametrize(
    "host",
    [
        "http://posthog.example.com",
        "http://10.1.2.3:8000",
        "http://192.168.0.10",
        "http://[2001:db8::1]",
    ],
)
def test_plain_http_is_refused_off_loopback(host: str) -> None:
    with pytest.raises(ConfigurationError, match="Refusing plain http"):
        AsyncMaxClient(api_key=KEY, host=host)


@pytest.mark.parametrize(
    "host", ["http://127.0.0.1:8010", "http://127.8.9.10", "http://localhost", "http://[::1]:9"]
)
def test_plain_http_is_allowed_on_loopback(host: str) -> None:
    assert AsyncMaxClient(api_key=KEY, host=host).settings.host.startswith("http://")
