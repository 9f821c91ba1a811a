"""Testing your own agent against the emulator with pytest: no account, no credits, no limits.

Run: pytest examples/test_my_agent.py   (needs max-tools[emulator] and pytest with anyio)
"""

from collections.abc import AsyncIterator

import pytest

from max_tools import AsyncMaxClient, ReplyStatus
from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator, serve

RULES = [
    Rule(match="revenue", reply="MRR is $1.2M, up 4% on last month.", title="Revenue"),
    Rule(match="outage", fail=True),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with serve(rules=RULES, delay_s=0) as running:  # a free loopback port; delay_s=0: fast
        yield running


@pytest.fixture
async def max_ai(emulator: RunningEmulator) -> AsyncIterator[AsyncMaxClient]:
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1) as client:
        yield client


async def my_agent(max_ai: AsyncMaxClient, question: str) -> str:
    """Your agent: here it only relays PostHog AI's answer, or says it could not get one."""
    reply = await max_ai.ask(question, wait_s=30)
    return reply.text if reply.status is ReplyStatus.COMPLETED else "PostHog AI is unavailable."


@pytest.mark.anyio
async def test_the_agent_relays_the_answer(max_ai: AsyncMaxClient) -> None:
    assert await my_agent(max_ai, "What is our revenue?") == "MRR is $1.2M, up 4% on last month."


@pytest.mark.anyio
async def test_the_agent_copes_with_a_failed_run(max_ai: AsyncMaxClient) -> None:
    assert await my_agent(max_ai, "Why was there an outage?") == "PostHog AI is unavailable."


@pytest.mark.anyio
async def test_the_agent_copes_with_rate_limits(
    emulator: RunningEmulator, max_ai: AsyncMaxClient
) -> None:
    emulator.set_faults(status=429, retry_after=0, count=1)  # the client retries
    assert (
        await my_agent(max_ai, "What is our revenue now?") == "MRR is $1.2M, up 4% on last month."
    )
