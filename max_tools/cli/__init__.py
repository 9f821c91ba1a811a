"""The `max-tools` command line: chat with PostHog AI, manage conversations, run the emulator.

It is a face like the adapters: it uses the core, the emulator and (for the demo) the MCP server.
"""

from max_tools.cli._main import main

__all__ = ["main"]
