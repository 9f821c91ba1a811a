"""An MCP client session with max-mcp over stdio, as an MCP host would run it.

`max-mcp --emulator` needs no account; drop the flag and set POSTHOG_* to use PostHog.
"""

import asyncio
import sys

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent


async def main() -> None:
    server = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server", "--emulator"])
    async with Client(server) as client:
        tools = await client.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  progress {progress:.0f}: {message}")

        question = {"message": "Which pages get the most traffic?", "wait_s": 20}
        result = await client.call_tool("max_chat", question, progress_callback=on_progress)
        data = result.structured_content or {}
        print(text_of(result))
        if data.get("status") == "in_progress":
            result = await client.call_tool(
                "max_wait", {"conversation_id": data["conversation_id"]}
            )
            print(text_of(result))


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


if __name__ == "__main__":
    asyncio.run(main())
