"""A LangGraph agent (langchain's create_agent) that asks PostHog AI through the max-tools tools.

With MAX_AGENT_MODEL set (e.g. "openai:gpt-4.1-mini", with that provider's package and key) a
real model drives the agent; without it a scripted stand-in plays the model's tool calls, so
the example runs offline against the emulator (see scripted_model.py).
"""

import asyncio
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from scripted_model import chat_model

from langchain_integration import MaxToolkit


def script() -> list[AIMessage]:
    """What the stand-in model does: ask PostHog AI, wait for the answer, sum up."""
    conversation = str(uuid.uuid4())
    ask = {"message": "How many signups last week?", "conversation_id": conversation}
    wait = {"conversation_id": conversation}
    return [
        AIMessage("", tool_calls=[{"name": "max_chat", "id": "1", "args": ask}]),
        AIMessage("", tool_calls=[{"name": "max_wait", "id": "2", "args": wait}]),
        AIMessage("PostHog AI has answered; see the tool results above."),
    ]


async def main() -> None:
    agent = create_agent(chat_model(script()), tools=MaxToolkit().get_tools())
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
