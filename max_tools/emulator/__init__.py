"""An offline emulator of PostHog AI's conversations API, for building and testing agents.

Serve it in-process with `serve()` (async) or `serve_in_thread()` (sync code, test suites), or
from the shell with ``max-tools emulator``.
Install the ``emulator`` extra (starlette, uvicorn).
"""

from max_tools.emulator._agent import DEFAULT_RULE, Rule, RulesError, load_rules
from max_tools.emulator._app import EmulatorApp
from max_tools.emulator._server import DEFAULT_KEY, RunningEmulator, serve, serve_in_thread

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_RULE",
    "EmulatorApp",
    "Rule",
    "RulesError",
    "RunningEmulator",
    "load_rules",
    "serve",
    "serve_in_thread",
]
