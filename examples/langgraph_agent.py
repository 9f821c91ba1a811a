"""A LangGraph agent (langchain's create_agent) that asks PostHog AI through the max-tools tools.

With MAX_AGENT_MODEL set (e.g. "openai:gpt-4.1-mini", with that provider's package and key) a
real model drives the agent; without it a scripted stand-in plays the model's tool calls, so
the example runs offline against the emulator.
"""

import asyncio
import os
import uuid
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_integration import MaxToolkit


class ScriptedModel(GenericFakeChatModel):
    """Stands in for a chat model: plays back scripted tool calls."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ScriptedModel":
        """Accept the tools; the script already knows which to call."""
        return self


def make_model() -> BaseChatModel:
    if name := os.environ.get("MAX_AGENT_MODEL"):
        from langchain.chat_models import init_chat_model

        return init_chat_model(name)
    conversation = str(uuid.uuid4())
    ask = {"message": "How many signups last week?", "conversation_id": conversation}
    script: list[AIMessage | str] = [
        AIMessage("", tool_calls=[{"name": "max_chat", "id": "1", "args": ask}]),
        AIMessage(
            "",
            tool_calls=[{"name": "max_wait", "id": "2", "args": {"conversation_id": conversation}}],
        ),
        AIMessage("PostHog AI has answered; see the tool results above."),
    ]
    return ScriptedModel(messages=iter(script))


async def main() -> None:
    agent = create_agent(make_model(), tools=MaxToolkit().get_tools())
    inputs: Any = {"messages": [("user", "Ask PostHog AI how many users signed up last week.")]}
    stream: Any = agent.astream(inputs, stream_mode=["custom", "updates"])
    async for mode, chunk in stream:
        if mode == "custom":  # max_chat / max_wait progress
            print(f"  progress: {chunk['message'][:80]}")
        else:
            for update in chunk.values():
                for message in (update or {}).get("messages", []):
                    print(f"{type(message).__name__}: {str(message.content)[:200]}")


if __name__ == "__main__":
    asyncio.run(main())
