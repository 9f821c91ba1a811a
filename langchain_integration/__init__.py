"""max-tools for LangChain: PostHog AI (Max) conversations as LangChain tools.

Install the `langchain` extra (langchain-core only; no dependency on `mcp`).
`MaxToolkit().get_tools()` returns the 12 tools that the MCP server also serves.
"""

from langchain_integration._tools import PROGRESS_EVENT, MaxTool, MaxToolkit

__all__ = ["PROGRESS_EVENT", "MaxTool", "MaxToolkit"]
