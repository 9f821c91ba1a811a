"""A LangGraph agent whose run pauses for a person's approval, and resumes where it stopped.

PostHog AI asks before it deletes something. With `MaxToolkit(approvals="interrupt")` the tool
pauses the graph with LangGraph's `interrupt()`, showing the approval card; the application asks
its user, then resumes the graph with `Command(resume={"decision": "approve"})` (or
`{"decision": "reject", "feedback": "..."}`), and the same tool call goes on. A checkpointer
keeps the paused graph. With MAX_AGENT_MODEL set a real model drives the agent; without it a
scripted stand-in plays the model's tool calls, so the example runs offline on the emulator
(see scripted_model.py).
"""

import asyncio
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from scripted_model import chat_model

from langchain_integration import MaxToolkit
from max_tools import AsyncMaxClient

REQUEST = "Delete the onboarding dashboard"

SCRIPT = [  # what the stand-in model does: ask PostHog AI, then sum up
    AIMessage("", tool_calls=[{"name": "max_chat", "id": "1", "args": {"message": REQUEST}}]),
    AIMessage("Done: PostHog AI deleted the dashboard after you approved it."),
]


def ask_the_user(card: dict[str, Any]) -> dict[str, Any]:
    """Where an application shows the card to its user; here the user approves."""
    approval = card["approvals"][0]
    print(f"PostHog AI asks: {approval['tool']}: {approval.get('preview', '')}")
    print("user: approve")
    return {"decision": "approve"}


async def main() -> None:
    tools = MaxToolkit(approvals="interrupt").get_tools()
    agent = create_agent(chat_model(SCRIPT), tools=tools, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "approval-example"}}
    inputs: Any = {"messages": [("user", f"Ask PostHog AI: {REQUEST}")]}
    conversation_id = None
    while True:
        paused = None
        async for chunk in agent.astream(inputs, config, stream_mode="updates"):
            if "__interrupt__" in chunk:
                paused = chunk["__interrupt__"][0].value
        if paused is None:
            break
        print(f"paused: {paused['status']}")
        conversation_id = paused["conversation_id"]
        inputs = Command(resume=ask_the_user(paused))
    state = await agent.aget_state(config)
    for message in state.values["messages"]:
        print(f"{type(message).__name__}: {str(message.content)[:600]}")
    if conversation_id is not None:  # the question went to PostHog AI once, resume or not
        async with AsyncMaxClient() as client:
            conversation = await client.get_conversation(conversation_id)
        asked = sum(message.type == "human" for message in conversation.messages)
        print(f"questions sent to PostHog AI: {asked}")


if __name__ == "__main__":
    asyncio.run(main())
