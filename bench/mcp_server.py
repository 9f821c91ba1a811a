"""max-mcp figures: start-up against a bare MCPServer, per-call overhead, and result sizes.

- Start-up: process start to the `initialize` reply over stdio, max-mcp against a bare
  MCPServer with one tool started the same way, interleaved in the same run (target <= 1.3).
- Overhead: a max_chat tool call over the in-memory transport against `AsyncMaxClient.ask`
  for the same question on the same emulator, median of the difference (target < 5 ms).
- Size: tools/list JSON in characters (target <= 9,500 for all 15 tools) and
  max_get_conversation's result for a 20-message conversation as a fraction of the raw API
  JSON (target <= 0.4).

Run: uv run python -m bench.mcp_server [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client, StdioServerParameters
from mcp_types import TextContent

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, serve
from mcp_server import build_server

BARE = str(Path(__file__).with_name("bare_mcp_server.py"))


async def startup_s(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(params):
        elapsed = time.perf_counter() - started
    return elapsed


async def startup(rounds: int) -> tuple[float, float]:
    env = {
        **os.environ,
        "POSTHOG_PERSONAL_API_KEY": DEFAULT_KEY,
        "POSTHOG_HOST": "http://127.0.0.1:9",  # never contacted before a tool call
    }
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(await startup_s([sys.executable, "-m", "mcp_server"], env))
        bare.append(await startup_s([sys.executable, BARE], env))
    return statistics.median(ours), statistics.median(bare)


async def overhead_and_size(rounds: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with (
        serve(delay_s=0) as emulator,
        AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client,
        Client(build_server(client)) as mcp,
    ):
        direct, via_mcp = [], []
        for n in range(rounds):
            question = f"How many signups in week {n}?"
            started = time.perf_counter()
            await client.ask(question)
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            await mcp.call_tool("max_chat", {"message": question})
            via_mcp.append(time.perf_counter() - started)
        figures["direct_ms"] = statistics.median(direct) * 1000
        figures["mcp_ms"] = statistics.median(via_mcp) * 1000
        figures["added_ms"] = (
            statistics.median(m - d for m, d in zip(via_mcp, direct, strict=True)) * 1000
        )

        tools = (await mcp.list_tools()).tools
        listing = json.dumps(
            [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
        )
        figures["tools_list_chars"] = len(listing)

        reply = await client.ask("Show me a trend of signups")
        for n in range(3):  # a chart turn stores 5 messages: 4 turns = 20 messages
            await client.ask(f"Chart follow-up {n}", conversation_id=reply.conversation_id)
        async with httpx.AsyncClient() as raw:
            response = await raw.get(
                f"{emulator.url}/api/environments/1/conversations/{reply.conversation_id}/",
                headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
            )
        messages = len(response.json()["messages"])
        result = await mcp.call_tool(
            "max_get_conversation", {"conversation_id": reply.conversation_id, "last_messages": 20}
        )
        block = result.content[0]
        compact = block.text if isinstance(block, TextContent) else ""
        figures["messages"] = messages
        figures["raw_chars"] = len(response.text)
        figures["result_chars"] = len(compact)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ours, bare = anyio.run(startup, args.rounds)
    figures = anyio.run(overhead_and_size, max(args.rounds, 20))
    print(f"start-up to initialize (median of {args.rounds}, interleaved)")
    print(f"  bare MCPServer, one tool: {bare * 1000:8.0f} ms")
    print(f"  max-mcp                 : {ours * 1000:8.0f} ms")
    print(f"  ratio                   : {ours / bare:8.2f}  (target <= 1.3)")
    print("max_chat overhead over the in-memory transport (median)")
    print(f"  AsyncMaxClient.ask      : {figures['direct_ms']:8.2f} ms")
    print(f"  max_chat via MCP        : {figures['mcp_ms']:8.2f} ms")
    print(f"  added                   : {figures['added_ms']:8.2f} ms  (target < 5)")
    print("sizes")
    print(
        f"  tools/list JSON         : {figures['tools_list_chars']:8.0f} chars  (target <= 9,500)"
    )
    ratio = figures["result_chars"] / figures["raw_chars"]
    print(
        f"  max_get_conversation    : {figures['result_chars']:8.0f} chars for "
        f"{figures['messages']:.0f} messages vs {figures['raw_chars']:.0f} raw: {ratio:.2f}"
        "  (target <= 0.4)"
    )


if __name__ == "__main__":
    main()
