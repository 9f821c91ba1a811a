"""The max-tools MCP server (`max-mcp`): PostHog AI conversations as MCP tools.

Not built yet; install the `mcp` extra once it lands.
"""
