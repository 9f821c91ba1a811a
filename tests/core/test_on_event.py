"""`on_event`: a plain function or a coroutine function, called with each event in order."""

from __future__ import annotations

from io import StringIO

from max_tools import StreamEvent
from tests.fake_posthog import FakePostHog, ai, chunk, human, stream_response


async def test_on_event_may_be_a_plain_function_or_a_coroutine_function(
    posthog: FakePostHog,
) -> None:
    events = (human("hi"), chunk("Hel"), ai("Hello!", "a1"))
    posthog.on(
        "POST", "", stream_response(*events), stream_response(*events), stream_response(*events)
    )
    plain: list[str] = []
    awaited: list[str] = []
    io = StringIO()

    async def record(event: StreamEvent) -> None:
        awaited.append(type(event).__name__)

    async with posthog.client() as client:
        first = await client.ask("hi", on_event=lambda event: plain.append(type(event).__name__))
        second = await client.ask("hi", on_event=record)
        # A plain function's return value is not awaited (here: how much a write wrote).
        third = await client.ask("hi", on_event=lambda event: io.write(type(event).__name__))

    assert first.text == second.text == third.text == "Hello!"
    assert io.getvalue() == "MessageEvent" * 3
    assert plain == awaited == ["MessageEvent", "MessageEvent", "MessageEvent"]
