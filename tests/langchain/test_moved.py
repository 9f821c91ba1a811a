"""The LangChain tools on a conversation that moved to PostHog AI's sandbox runtime (16)."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from max_tools.emulator import RunningEmulator
from tests.langchain.test_toolkit import call, toolkit, tools_by_name


async def test_max_chat_to_a_moved_conversation_is_an_error_tool_message_saying_so(
    emulator: RunningEmulator,
) -> None:
    tools = tools_by_name(toolkit(emulator))
    first = await tools["max_chat"].ainvoke(call("max_chat", message="Show me signups"))
    cid = first.artifact.conversation_id
    emulator.move_to_sandbox(cid)

    message = await tools["max_chat"].ainvoke(
        call("max_chat", message="More?", conversation_id=cid)
    )

    assert isinstance(message, ToolMessage) and message.status == "error"
    assert message.content == (
        f"Could not send a message to conversation {cid}: the conversation moved to PostHog AI's "
        "newer runtime, which this API cannot continue with a personal API key or a PostHog "
        "sign-in: continue it in "
        "PostHog's web app, or start a new conversation with max_chat without a conversation_id."
    )
    assert emulator.conversation(cid).queue == []
