"""Google ADK, a second framework that consumes A2A, asks PostHog AI through the face.

An ADK agent whose model is scripted (no LLM is reachable offline) hands the question to a
`RemoteA2aAgent` that reads the face's agent card over loopback HTTP; ADK's own A2A client then
sends the message and turns the task's events into ADK events.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio
import httpx
import pytest

pytest.importorskip("google.adk")
from google.adk.agents import LlmAgent
from google.adk.agents.remote_a2a_agent import RemoteA2aAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import InMemoryRunner
from google.genai import types

from max_tools import AIMessage, HumanMessage
from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import key_holder_client


class HandsOver(BaseLlm):
    """A scripted model: it always transfers the question to the PostHog AI agent."""

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        call = types.FunctionCall(name="transfer_to_agent", args={"agent_name": "posthog_ai"})
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(function_call=call)])
        )


async def _answer_events(
    runner: InMemoryRunner, question: types.Content
) -> tuple[list[str], list[str]]:
    """What ADK passes on of the remote agent: its partial chunks, and its complete texts."""
    session = await runner.session_service.create_session(app_name="adk-a2a", user_id="u")
    partial: list[str] = []
    complete: list[str] = []
    try:
        async for event in runner.run_async(
            user_id="u", session_id=session.id, new_message=question
        ):
            parts = (event.content.parts if event.content else None) or []
            texts = [part.text for part in parts if part.text and not part.thought]
            if event.author == "posthog_ai" and texts:
                (partial if event.partial else complete).append("".join(texts))
    finally:
        await runner.close()
    return partial, complete


# ADK marks its A2A support experimental with a UserWarning, which the suite makes an error.
@pytest.mark.filterwarnings("ignore:.*EXPERIMENTAL.*:UserWarning")
@pytest.mark.parametrize("emulator_options", [{"delay_s": 0.08}])  # PostHog-like pacing
async def test_an_adk_agent_delegates_to_posthog_ai_and_gets_its_answer(
    a2a_url: str, emulator: RunningEmulator
) -> None:
    http = httpx.AsyncClient(timeout=30)  # ours, so the test closes it
    remote = RemoteA2aAgent(
        name="posthog_ai",
        agent_card=f"{a2a_url}/.well-known/agent-card.json",
        description="PostHog AI, the product analytics agent.",
        httpx_client=http,
    )
    root = LlmAgent(
        name="assistant",
        model=HandsOver(model="scripted"),
        instruction="Hand product analytics questions to posthog_ai.",
        sub_agents=[remote],
    )
    runner = InMemoryRunner(agent=root, app_name="adk-a2a")
    question = types.Content(
        role="user", parts=[types.Part(text="How many users signed up last week?")]
    )
    async with http:
        with anyio.fail_after(60):
            partial, complete = await _answer_events(runner, question)

    async with key_holder_client(emulator) as max_client:
        [listed] = (await max_client.list_conversations()).results
        stored = await max_client.get_conversation(listed.id)
    answer = [m for m in stored.messages if isinstance(m, AIMessage)][-1].content
    assert "matching events" in answer
    # ADK sent its session so far as the question; PostHog AI's answer streamed back to ADK.
    [asked] = [m for m in stored.messages if isinstance(m, HumanMessage)]
    assert "How many users signed up last week?" in asked.content
    # The answer streamed to ADK in chunks (each a piece of a message PostHog AI wrote), then
    # came whole: ADK's complete event of the remote agent is the answer.
    written = [m.content for m in stored.messages if isinstance(m, AIMessage)]
    assert partial
    assert all(any(chunk in text for text in written) for chunk in partial)
    assert complete[-1] == answer
