"""The max-tools MCP server (`max-mcp`): PostHog AI conversations as MCP tools.

Install the `mcp` extra. `build_server(client)` returns an `MCPServer`; `max-mcp` runs it over
stdio (default) or streamable HTTP.
"""

from mcp_server._server import INSTRUCTIONS, TRANSCRIPT_URI, build_server

__all__ = ["INSTRUCTIONS", "TRANSCRIPT_URI", "build_server"]
