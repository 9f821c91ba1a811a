"""The chat model of the LangGraph examples: a real one if you name it, else a scripted stand-in.

Set MAX_AGENT_MODEL (e.g. "openai:gpt-4.1-mini", with that provider's package and key) to let a
real model drive the agent; without it the example's script plays the model's tool calls, so the
example runs offline against the emulator.
"""

import os
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage


class ScriptedModel(GenericFakeChatModel):
    """Stands in for a chat model: plays back scripted tool calls."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ScriptedModel":
        """Accept the tools; the script already knows which to call."""
        return self


def chat_model(script: list[AIMessage]) -> BaseChatModel:
    """The model MAX_AGENT_MODEL names, or a stand-in that plays `script`."""
    if name := os.environ.get("MAX_AGENT_MODEL"):
        from langchain.chat_models import init_chat_model

        return init_chat_model(name)
    return ScriptedModel(messages=iter(script))
