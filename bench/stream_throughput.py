"""Events per second of `AsyncMaxClient.stream()` against raw httpx-sse + json.loads.

Both read the same recorded 20,000-event PostHog stream, served by `httpx.MockTransport` in
4 KiB pieces, in the same run; the figure that matters is the ratio typed / raw.
Then memory: the peak traced while streaming 5,000, 20,000 and 80,000 partial chunks of one
message (it should stay flat: only finished messages are kept).

Run: uv run python -m bench.stream_throughput [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
from httpx_sse import aconnect_sse

from max_tools import AsyncMaxClient
from tests.fake_posthog import ai, chunk, human, sse

KEY = "phx_bench_key"
CID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
PIECE = 4096
WORDS = ("signups", "grew", "by", "eight", "percent", "week", "over", "week", "via", "search")


def recorded_stream(events: int) -> bytes:
    """A realistic run: per turn a human echo, ~40 growing partial chunks, an update, the answer.

    Framed by the test suite's fake PostHog, exactly as PostHog frames them.
    """
    out: list[bytes] = []
    turn = 0
    while len(out) < events:
        turn += 1
        out.append(human(f"question {turn}", f"h{turn}", trace_id="t"))
        text = ""
        for i in range(40):
            text = f"{text} {WORDS[i % len(WORDS)]}".strip()
            out.append(chunk(text))
        update = {
            "content": "Creating a trends insight",
            "id": f"a{turn}",
            "tool_call_id": f"c{turn}",
        }
        out.append(sse("update", update))
        out.append(ai(text, f"a{turn}"))
    out = out[:events]
    return b"".join(out)


def single_message_stream(chunks: int) -> bytes:
    out = [human("q", "h1", trace_id="t")]
    text = "x" * 200
    out.extend(chunk(f"{text} {i}") for i in range(chunks))
    out.append(ai("done", "a1"))
    return b"".join(out)


class Body(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        view = memoryview(self.body)
        for start in range(0, len(view), PIECE):
            yield bytes(view[start : start + PIECE])


def transport(body: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=Body(body))

    return httpx.MockTransport(handler)


async def raw(body: bytes) -> int:
    count = 0
    async with httpx.AsyncClient(transport=transport(body)) as http:
        url = "https://us.posthog.com/api/environments/2/conversations/"
        async with aconnect_sse(http, "POST", url, json={"content": "q"}) as source:
            async for sse in source.aiter_sse():
                json.loads(sse.data)
                count += 1
    return count


async def typed(body: bytes) -> int:
    count = 0
    http = httpx.AsyncClient(transport=transport(body))
    async with (
        AsyncMaxClient(api_key=KEY, project_id=2, http_client=http) as client,
        client.stream("q", conversation_id=CID) as replies,
    ):
        async for _ in replies:
            count += 1
    await http.aclose()
    return count


def timed(fn: Callable[[bytes], Awaitable[int]], body: bytes) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    count = anyio.run(fn, body)
    return time.perf_counter() - start, count


def peak_kib(body: bytes) -> float:
    gc.collect()
    tracemalloc.start()
    anyio.run(typed, body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    body = recorded_stream(args.events)
    timed(raw, body)  # warm up imports and caches
    timed(typed, body)
    raw_times: list[float] = []
    typed_times: list[float] = []
    for _ in range(args.rounds):  # interleaved, so machine noise hits both alike
        t, n = timed(raw, body)
        raw_times.append(t)
        assert n == args.events, n
        t, _ = timed(typed, body)
        typed_times.append(t)
    raw_rate = args.events / statistics.median(raw_times)
    typed_rate = args.events / statistics.median(typed_times)
    print(
        f"stream of {args.events:,} events, {len(body) / 1e6:.1f} MB, {args.rounds} rounds (median)"
    )
    print(f"  raw httpx-sse + json.loads : {raw_rate:>10,.0f} events/s")
    print(f"  typed AsyncMaxClient.stream: {typed_rate:>10,.0f} events/s")
    print(f"  ratio typed / raw          : {typed_rate / raw_rate:>10.2f}  (target >= 1.0)")

    print("peak traced memory of typed stream() over one message's partial chunks")
    base = 0.0
    for chunks in (5_000, 20_000, 80_000):
        kib = peak_kib(single_message_stream(chunks))
        base = base or kib
        print(f"  {chunks:>6,} chunks: {kib:>8,.0f} KiB  ({kib / base:.2f}x the 5,000-chunk peak)")


if __name__ == "__main__":
    main()
