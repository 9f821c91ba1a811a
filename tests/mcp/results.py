"""Reading MCP tool results in tests: the text block and the structured content."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent


def text(result: CallToolResult) -> str:
    """The result's first block, which max-mcp always makes text."""
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful result."""
    assert not result.is_error, text(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content
