"""A conversation that moved to PostHog AI's sandbox runtime (reference 16), on the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
import pytest

from max_tools import (
    AsyncMaxClient,
    BadRequestError,
    ConversationMovedError,
    InvalidArgumentsError,
    NotFoundError,
    ReplyStatus,
)
from max_tools.emulator import DEFAULT_KEY, RunningEmulator

MOVED = (
    "the conversation moved to PostHog AI's newer runtime, which this API cannot continue with a "
    "personal API key or a PostHog sign-in: continue it in PostHog's web app, or start a new conversation with ask() "
    "without a conversation_id."
)


class Recorded:
    """Every request the client sent, as (method, path)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append((request.method, request.url.path))


@pytest.fixture
def sent() -> Recorded:
    return Recorded()


@pytest.fixture
async def client(emulator: RunningEmulator, sent: Recorded) -> AsyncIterator[AsyncMaxClient]:
    async def no_sleep(_: float) -> None:
        raise AssertionError("a moved conversation must not be retried")

    async with (
        httpx.AsyncClient(event_hooks={"request": [sent]}) as http,
        AsyncMaxClient(
            api_key=DEFAULT_KEY, host=emulator.url, project_id=1, http_client=http, sleep=no_sleep
        ) as max_client,
    ):
        yield max_client


async def moved_conversation(client: AsyncMaxClient, emulator: RunningEmulator) -> str:
    reply = await client.ask("Show me a trend of signups")
    emulator.move_to_sandbox(reply.conversation_id)
    return reply.conversation_id


async def test_a_follow_up_to_a_moved_conversation_fails_at_once_with_its_own_error(
    client: AsyncMaxClient, emulator: RunningEmulator, sent: Recorded
) -> None:
    cid = await moved_conversation(client, emulator)
    sent.requests.clear()

    with anyio.fail_after(10), pytest.raises(ConversationMovedError) as caught:
        await client.ask("And by country?", conversation_id=cid)

    assert isinstance(caught.value, BadRequestError) and caught.value.status_code == 400
    assert str(caught.value) == f"Could not send a message to conversation {cid}: {MOVED}"
    assert "Fix the request" not in str(caught.value)
    assert sent.requests == [("POST", "/api/environments/1/conversations/")]  # never repeated
    assert emulator.conversation(cid).human_messages() == ["Show me a trend of signups"]


async def test_a_stream_and_a_wait_on_a_moved_conversation_fail_once_without_retry(
    client: AsyncMaxClient, emulator: RunningEmulator, sent: Recorded
) -> None:
    cid = await moved_conversation(client, emulator)
    sent.requests.clear()

    with anyio.fail_after(10):
        with pytest.raises(ConversationMovedError, match="follow the reply of conversation"):
            await client.wait(cid)
        with pytest.raises(ConversationMovedError):
            async with client.stream("Again?", conversation_id=cid):
                pass

    assert [method for method, _ in sent.requests] == ["POST", "POST"]


async def test_approving_on_a_moved_conversation_fails_with_the_move_and_sends_nothing(
    client: AsyncMaxClient, emulator: RunningEmulator, sent: Recorded
) -> None:
    paused = await client.ask("Delete the onboarding dashboard")
    assert paused.status is ReplyStatus.NEEDS_APPROVAL
    emulator.move_to_sandbox(paused.conversation_id)
    sent.requests.clear()

    with anyio.fail_after(10), pytest.raises(ConversationMovedError, match="newer runtime"):
        await client.approve(paused.conversation_id, paused.approvals[0].proposal_id)

    assert [method for method, _ in sent.requests] == ["GET"]


@pytest.mark.parametrize(
    "action",
    ["queue_message", "update_queued", "delete_queued", "append_message", "cancel"],
)
async def test_queue_append_and_cancel_on_a_moved_conversation_say_it_moved(
    client: AsyncMaxClient, emulator: RunningEmulator, action: str
) -> None:
    cid = await moved_conversation(client, emulator)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "queue_message": lambda: client.queue_message(cid, "later"),
        "update_queued": lambda: client.update_queued_message(cid, "q1", "later"),
        "delete_queued": lambda: client.delete_queued_message(cid, "q1"),
        "append_message": lambda: client.append_message(cid, "Ticket #7 opened."),
        "cancel": lambda: client.cancel(cid),
    }

    with anyio.fail_after(10), pytest.raises(ConversationMovedError) as caught:
        await calls[action]()

    assert str(caught.value).endswith(MOVED)
    assert caught.value.advice_for("tools").endswith(
        "start a new conversation with max_chat without a conversation_id."
    )


async def test_an_ordinary_refusal_keeps_its_own_error_after_one_read_of_the_runtime(
    client: AsyncMaxClient, sent: Recorded
) -> None:
    reply = await client.ask("Show me a trend of signups")
    sent.requests.clear()

    with anyio.fail_after(10), pytest.raises(NotFoundError) as caught:
        await client.delete_queued_message(reply.conversation_id, "q1")

    assert "Queue message not found" in str(caught.value)
    assert [method for method, _ in sent.requests] == ["DELETE", "GET"]  # one read, on error only


async def test_a_moved_conversation_reads_with_its_runtime_typed(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    reply = await client.ask("Show me a trend of signups")
    before = await client.get_conversation(reply.conversation_id)
    emulator.move_to_sandbox(reply.conversation_id, task={"id": "t-1", "title": "Signups"})

    after = await client.get_conversation(reply.conversation_id)

    assert (before.agent_runtime, before.is_sandbox, before.moved) == ("langgraph", False, False)
    assert (after.agent_runtime, after.is_sandbox, after.moved) == ("sandbox", True, True)
    assert after.task == {"id": "t-1", "title": "Signups"}
    assert [m.type for m in after.messages][:1] == ["human"]  # still readable


async def test_a_mirrored_langgraph_chat_keeps_its_task_and_goes_on_as_before(
    client: AsyncMaxClient, emulator: RunningEmulator
) -> None:
    emulator.set_faults(mirror_tasks=True)
    first = await client.ask("Show me a trend of signups")
    second = await client.ask("And by country?", conversation_id=first.conversation_id)
    conversation = await client.get_conversation(first.conversation_id)
    page = await client.list_conversations()

    assert second.status is ReplyStatus.COMPLETED
    assert conversation.agent_runtime == "langgraph" and not conversation.moved
    assert conversation.task["origin_product"] == "posthog_ai"  # a PostHog AI task
    assert conversation.task["slug"] == f"DEF-{conversation.task['task_number']}"
    assert conversation.task["title"] == "Show me a trend of signups"
    assert page.results[0].task == conversation.task


@pytest.mark.parametrize("mode", ["sandbox", " Sandbox "])
async def test_the_sandbox_agent_mode_is_refused_before_anything_is_sent(
    client: AsyncMaxClient, sent: Recorded, mode: str
) -> None:
    with pytest.raises(InvalidArgumentsError, match="agent_mode must be a mode this API can run"):
        await client.ask("Show me a trend of signups", agent_mode=mode)

    assert sent.requests == []
