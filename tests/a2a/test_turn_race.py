"""Two messages sent to one context at the same time, through two replicas.

A task's id is `<conversation>~<n>`, n its message's place in the conversation. A replica reads
the conversation to name the task before it sends the message; another replica's message can
land (and even finish) in between. What PostHog did with each message decides the ids.
"""

from __future__ import annotations

import json

import anyio
import httpx
from a2a.client import Client
from a2a.types import GetTaskRequest, Message, SendMessageRequest, Task, TaskState

from max_tools.emulator import RunningEmulator
from tests.a2a.conftest import a2a_client, serving_a2a, stream, user_message


class HeldSends(httpx.AsyncBaseTransport):
    """A replica's PostHog edge: its sends of new messages wait until `release` is set."""

    def __init__(self) -> None:
        self.reached = anyio.Event()
        self.release = anyio.Event()
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sends = request.method == "POST" and request.url.path.rstrip("/").endswith("/conversations")
        if sends and json.loads(request.content).get("content") is not None:
            self.reached.set()
            await self.release.wait()
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def _reply_of(client: Client, request: SendMessageRequest) -> Task | Message:
    """What a send that waits for its result answers: a task, or a message."""
    [reply] = [
        e.task if e.HasField("task") else e.message async for e in client.send_message(request)
    ]
    return reply


def _question(task: Task) -> str:
    return "".join(p.text for p in task.history[0].parts)


async def test_a_message_whose_place_was_taken_while_it_was_sent_names_its_real_task(
    emulator: RunningEmulator,
) -> None:
    late = HeldSends()
    async with (
        serving_a2a(emulator) as one,
        serving_a2a(emulator, transport=late) as two,
        a2a_client(one) as first,
        a2a_client(two, streaming=False) as second,
    ):
        with anyio.fail_after(30):
            opened = await stream(first, user_message("How many users signed up last week?"))
            context = opened.task.context_id
            replies: list[Task | Message] = []

            async def send_late() -> None:
                request = user_message("And the week before?", context_id=context)
                replies.append(await _reply_of(second, request))

            async with anyio.create_task_group() as tg:
                tg.start_soon(send_late)
                await late.reached.wait()  # replica two read the context: one message in it
                won = await stream(first, user_message("What about pageviews?", context_id=context))
                late.release.set()  # its message lands now, after the other one's whole turn
            [reply] = replies
            named = reply.id if isinstance(reply, Task) else _named_task(reply)
            said = await first.get_task(GetTaskRequest(id=named))
            other = await first.get_task(GetTaskRequest(id=won.task.id))
    assert won.final_state == TaskState.TASK_STATE_COMPLETED
    assert named != won.task.id
    assert _question(other) == "What about pageviews?"
    assert _question(said) == "And the week before?"
    assert emulator.conversation(context).human_messages() == [
        "How many users signed up last week?",
        "What about pageviews?",
        "And the week before?",
    ]


def _named_task(message: Message) -> str:
    text = "".join(p.text for p in message.parts)
    return next(word.strip(".,;:()") for word in text.split() if "~" in word)


async def test_a_message_sent_while_another_runs_in_its_context_is_queued_then_its_next_task(
    emulator: RunningEmulator,
) -> None:
    late = HeldSends()
    async with (
        serving_a2a(emulator) as one,
        serving_a2a(emulator, transport=late) as two,
        a2a_client(one) as first,
        a2a_client(two, streaming=False) as second,
    ):
        with anyio.fail_after(30):
            opened = await stream(first, user_message("How many users signed up last week?"))
            context = opened.task.context_id
            replies: list[Task | Message] = []
            answered, started = anyio.Event(), anyio.Event()

            async def send_late() -> None:
                request = user_message("And the week before?", context_id=context)
                replies.append(await _reply_of(second, request))
                answered.set()

            async def send_running() -> None:
                request = user_message("What about pageviews?", context_id=context)
                async for event in first.send_message(request):
                    if event.HasField("task"):
                        started.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(send_late)
                await late.reached.wait()  # replica two read the context: one message in it
                with emulator.held():  # the other message's run is still going when it lands
                    tg.start_soon(send_running)
                    await started.wait()
                    late.release.set()
                    await answered.wait()
            [reply] = replies
            second_task = await first.get_task(GetTaskRequest(id=f"{context}~2"))
            third_task = await first.get_task(GetTaskRequest(id=f"{context}~3"))
    assert isinstance(reply, Message) and "queued" in "".join(p.text for p in reply.parts)
    assert _question(second_task) == "What about pageviews?"
    assert _question(third_task) == "And the week before?"
