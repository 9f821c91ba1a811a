"""max-mcp on a conversation that moved to PostHog AI's sandbox runtime (reference 16)."""

from __future__ import annotations

import anyio
from mcp import Client

from max_tools.emulator import RunningEmulator
from mcp_server import TRANSCRIPT_URI
from tests.mcp.results import data, text

SENTENCE = (
    "the conversation moved to PostHog AI's newer runtime, which this API cannot continue with a "
    "personal API key or a PostHog sign-in: continue it in PostHog's web app, or start a new conversation with "
    "max_chat without a conversation_id."
)


async def moved(mcp: Client, emulator: RunningEmulator) -> str:
    result = await mcp.call_tool("max_chat", {"message": "Show me a trend of signups"})
    cid = str(data(result)["conversation_id"])
    emulator.move_to_sandbox(cid)
    return cid


async def test_max_chat_to_a_moved_conversation_is_a_tool_error_and_queues_nothing(
    mcp: Client, emulator: RunningEmulator
) -> None:
    cid = await moved(mcp, emulator)

    with anyio.fail_after(10):
        result = await mcp.call_tool("max_chat", {"message": "More?", "conversation_id": cid})
        waited = await mcp.call_tool("max_wait", {"conversation_id": cid})

    assert result.is_error and waited.is_error
    assert text(result).endswith(f"Could not send a message to conversation {cid}: {SENTENCE}")
    assert text(waited).endswith(SENTENCE)
    state = emulator.conversation(cid)
    assert state.queue == [] and state.human_messages() == ["Show me a trend of signups"]


async def test_max_cancel_and_max_queue_message_on_a_moved_conversation_say_it_moved(
    mcp: Client, emulator: RunningEmulator
) -> None:
    cid = await moved(mcp, emulator)

    canceled = await mcp.call_tool("max_cancel", {"conversation_id": cid})
    queued = await mcp.call_tool("max_queue_message", {"conversation_id": cid, "message": "x"})

    assert canceled.is_error and text(canceled).endswith(SENTENCE)
    assert queued.is_error and text(queued).endswith(SENTENCE)


async def test_reading_a_moved_conversation_shows_its_runtime_in_text_data_and_transcript(
    mcp: Client, emulator: RunningEmulator
) -> None:
    cid = await moved(mcp, emulator)

    result = await mcp.call_tool("max_get_conversation", {"conversation_id": cid})
    transcript = await mcp.read_resource(TRANSCRIPT_URI.format(conversation_id=cid))

    assert not result.is_error
    assert "\nruntime: sandbox (it moved to PostHog AI's newer runtime" in text(result)
    assert data(result)["agent_runtime"] == "sandbox"
    markdown = transcript.contents[0].text  # type: ignore[union-attr]  # text content
    assert "- runtime: sandbox (it moved to PostHog AI's newer runtime" in markdown


async def test_a_langgraph_conversation_reads_as_langgraph_without_a_move_note(
    mcp: Client,
) -> None:
    asked = await mcp.call_tool("max_chat", {"message": "Show me a trend of signups"})
    cid = data(asked)["conversation_id"]

    result = await mcp.call_tool("max_get_conversation", {"conversation_id": cid})

    assert data(result)["agent_runtime"] == "langgraph"
    assert "runtime:" not in text(result)
