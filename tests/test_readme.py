"""The README's Python quickstart runs, as written, against the emulator."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from max_tools.emulator import RunningEmulator
from tests.processes import run_python

README = Path(__file__).parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


async def test_the_quickstart_runs_against_the_emulator(emulator: RunningEmulator) -> None:
    output = await run_python("-c", python_blocks()[0], emulator=emulator)

    assert output.startswith(
        'completed Here is what I found for "How many users signed up last week?"'
    )
    assert 'Here is what I found for "Split that by country"' in output


async def test_the_emulator_testing_example_runs() -> None:
    example = next(block for block in python_blocks() if "async def test_my_agent" in block)
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    await namespace["test_my_agent"]()  # type: ignore[operator]  # exec() gives an untyped namespace


def json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


async def test_the_mcp_host_config_starts_a_working_server() -> None:
    from mcp import Client, StdioServerParameters

    config = json.loads(next(block for block in json_blocks() if "mcpServers" in block))
    entry = config["mcpServers"]["posthog-max"]
    params = StdioServerParameters(
        command=entry["command"],
        args=[*entry["args"], "--emulator"],
        env={**os.environ, **entry["env"]},
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = await client.list_tools()
            result = await client.call_tool("max_chat", {"message": "How many signups?"})

    assert len(tools.tools) == 15
    assert (
        result.structured_content is not None and result.structured_content["status"] == "completed"
    )


def test_the_vs_code_config_asks_for_the_key_as_a_password() -> None:
    config = json.loads(next(block for block in json_blocks() if '"servers"' in block))
    assert config["inputs"][0]["password"] is True
    server = config["servers"]["posthog-max"]
    assert server["env"]["POSTHOG_PERSONAL_API_KEY"] == "${input:posthog-key}"
    assert server["command"] == "max-mcp"


async def test_importing_the_adapters_stays_light() -> None:
    code = (
        "import sys, max_tools, mcp_server; "
        "assert 'langchain_core' not in sys.modules, 'mcp_server imported langchain_core'; "
        "import max_tools as m; print('ok')"
    )
    core_only = (
        "import sys, max_tools; assert 'mcp' not in sys.modules and 'starlette' not in sys.modules"
    )
    assert await run_python("-c", code) == "ok\n"
    await run_python("-c", core_only)


async def test_the_langchain_example_runs_against_the_emulator(
    emulator: RunningEmulator,
) -> None:
    example = next(block for block in python_blocks() if "MaxToolkit()" in block)

    output = await run_python("-c", example, emulator=emulator)

    assert "status: completed" in output
    assert output.rstrip().endswith("completed")


def test_server_json_matches_the_package_and_the_readme_marker() -> None:
    import tomllib

    server = json.loads((README.parent / "server.json").read_text())
    version = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]["version"]
    package = server["packages"][0]

    assert server["version"] == package["version"] == version
    assert f"<!-- mcp-name: {server['name']} -->" in README.read_text()
    assert len(server["description"]) <= 100
    assert package["packageArguments"] == [{"type": "positional", "value": "mcp"}]
    names = {variable["name"] for variable in package["environmentVariables"]}
    assert {"POSTHOG_PERSONAL_API_KEY", "POSTHOG_HOST", "POSTHOG_PROJECT_ID"} <= names


async def test_max_tools_mcp_is_max_mcp() -> None:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "max_tools.cli", "mcp", "--emulator", "--read-only"]
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = await client.list_tools()

    assert [t.name for t in tools.tools] == [
        "max_wait",
        "max_list_conversations",
        "max_get_conversation",
        "max_get_chart",
        "max_list_queue",
    ]


async def test_the_sync_example_in_the_readme_runs(emulator: RunningEmulator) -> None:
    example = next(block for block in python_blocks() if "MaxClient.from_env()" in block)
    assert "Here is what I found" in await run_python("-c", example, emulator=emulator)


async def test_every_python_block_in_the_readme_runs(emulator: RunningEmulator) -> None:
    blocks = python_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        if "async def test_" in block:
            continue  # a pytest example: run by test_the_emulator_testing_example_runs
        await run_python("-c", block, emulator=emulator)


def test_the_rules_example_in_the_readme_loads(tmp_path: Path) -> None:
    from max_tools.emulator import load_rules

    toml = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    path = tmp_path / "rules.toml"
    path.write_text(toml)
    rules = load_rules(path)
    assert [rule.match for rule in rules] == [
        "revenue",
        "break",
        "drop the old dashboard",
        "weekly report",
    ]
    assert rules[0].visualization is True and rules[1].fail is True
    assert rules[2].approval is not None and rules[2].approval["payload"] == {"dashboard_id": 42}
    assert rules[3].form is not None and rules[3].form["questions"][0]["id"] == "period"


async def test_the_hosting_example_serves_each_user_with_their_key_and_refuses_the_rest(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTHOG_HOST", emulator.url)
    example = next(block for block in python_blocks() if 'realm="my-face"' in block)
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    face = httpx.AsyncClient(transport=httpx.ASGITransport(namespace["app"]), base_url="http://a")

    with anyio.fail_after(30):
        async with namespace["pool"], face:
            refused = await face.get("/")
            served = await face.get("/", headers={"Authorization": "Bearer phx_secret_value_123"})

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="my-face"'
    assert served.status_code == 200, served.text
    assert served.json()["read_only"] is False and isinstance(served.json()["titles"], list)
