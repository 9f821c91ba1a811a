"""LangChain's own standard test suites, for every max-tools tool.

The unit suite runs offline; the integration suite invokes each tool (sync and async, with and
without a ToolCall) against a served emulator.
"""

from __future__ import annotations

import abc
from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_integration import MaxTool
from max_tools.agent import ACTIONS
from tests.langchain import world

UNIT_EXAMPLES: dict[str, dict[str, Any]] = {
    "max_chat": {"message": "How many signups last week?"},
    "max_wait": {"conversation_id": world.UNIT_CID},
    "max_list_conversations": {"limit": 5},
    "max_get_conversation": {"conversation_id": world.UNIT_CID, "last_messages": 5},
    "max_append_message": {"conversation_id": world.UNIT_CID, "message": "Noted."},
    "max_queue_message": {"conversation_id": world.UNIT_CID, "message": "And by country?"},
    "max_update_queued_message": {
        "conversation_id": world.UNIT_CID,
        "queue_id": "q1",
        "message": "x",
    },
    "max_delete_queued_message": {"conversation_id": world.UNIT_CID, "queue_id": "q1"},
    "max_approve": {"conversation_id": world.UNIT_CID, "proposal_id": "p1", "decision": "reject"},
    "max_answer": {"conversation_id": world.UNIT_CID, "answers": {"time_range": "Last 7 days"}},
}


class _OneMaxTool(abc.ABC):
    """What both suites are told: which tool to build and how to call it."""

    action: str

    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """The tool's constructor arguments for this suite."""

    @abc.abstractmethod
    def example(self) -> dict[str, Any]:
        """Arguments for one call of the tool in this suite."""

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return MaxTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"action": self.action, **self.params()}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return self.example()


class _Unit(_OneMaxTool, ToolsUnitTests):
    def params(self) -> dict[str, Any]:
        return {"api_key": "phx_unit_key", "host": "https://us.posthog.com"}

    def example(self) -> dict[str, Any]:
        return UNIT_EXAMPLES.get(self.action, {"conversation_id": world.UNIT_CID})

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {
            "POSTHOG_PERSONAL_API_KEY": "phx_env_key",
            "POSTHOG_HOST": "eu",
            "POSTHOG_PROJECT_ID": "42",
        }
        expected = {
            "api_key": "phx_env_key",
            "host": "https://eu.posthog.com",
            "project_id": "42",
        }
        return env, {"action": self.action}, expected


class _Integration(_OneMaxTool, ToolsIntegrationTests):
    def params(self) -> dict[str, Any]:
        return world.tool_params()

    def example(self) -> dict[str, Any]:
        return world.example(self.action)


for _action in ACTIONS:
    _suffix = "".join(part.title() for part in _action.name.split("_"))
    for _suite in (_Unit, _Integration):
        _name = f"Test{_suffix}{_suite.__name__.lstrip('_')}"
        globals()[_name] = type(_name, (_suite,), {"action": _action.name})
