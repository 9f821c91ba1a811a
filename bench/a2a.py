"""What the A2A face adds to a streamed answer, against `AsyncMaxClient.stream()` alone.

The same emulator (no pauses between chunks) streams the same long answer (about 6,000
characters in 200 chunks) for both, in interleaved rounds, in one run:

- baseline: `AsyncMaxClient.stream()` reads the run to its end;
- A2A: the SDK's own client, streaming, sends the question to max-a2a served over loopback
  HTTP in front of that emulator and reads every event to the task's final status.

The figure that matters is the ratio of the medians, A2A / baseline (target <= 1.2, like the
MCP face). `--profile` runs the A2A rounds under cProfile and prints where the time goes.

Run: uv run python -m bench.a2a [--rounds N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import anyio
import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import new_text_part
from a2a.types import Message, Role, SendMessageRequest, TaskState

from a2a_server import create_app
from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, load_rules, serve
from max_tools.hosting import ServerKeyAuth
from max_tools.serving import serve_asgi

CHUNKS = 200
ANSWER = " ".join(
    f"Week {n}: signups grew by {n % 9 + 1} percent, mostly from organic search." for n in range(90)
)
RULES = load_rules([{"match": "report", "reply": ANSWER, "chunks": CHUNKS, "delay_s": 0}])


def _question(n: int) -> SendMessageRequest:
    message = Message(
        message_id=f"bench-{n}",
        role=Role.ROLE_USER,
        parts=[new_text_part(f"Write the weekly signups report, round {n}")],
    )
    return SendMessageRequest(message=message)


async def run(rounds: int, profile: cProfile.Profile | None) -> dict[str, float]:
    direct: list[float] = []
    via_a2a: list[float] = []
    events: list[int] = []
    async with (
        serve(rules=RULES, delay_s=0) as emulator,
        httpx.AsyncClient() as pool,
        AsyncMaxClient(
            api_key=DEFAULT_KEY, host=emulator.url, project_id=1, http_client=pool
        ) as max_client,
    ):
        app = create_app(ServerKeyAuth(max_client))
        async with (
            serve_asgi(app, host="127.0.0.1", port=0) as port,
            httpx.AsyncClient(timeout=60) as http,
        ):
            a2a = await create_client(
                f"http://127.0.0.1:{port}", ClientConfig(streaming=True, httpx_client=http)
            )
            async with a2a:
                for n in range(rounds + 1):  # round 0 warms both paths up and is not counted
                    started = time.perf_counter()
                    async with max_client.stream(
                        f"Write the weekly signups report, round {n}"
                    ) as s:
                        async for _ in s:
                            pass
                    took_direct = time.perf_counter() - started

                    if profile is not None:
                        profile.enable()
                    started = time.perf_counter()
                    count, state = 0, 0
                    async for event in a2a.send_message(_question(n)):
                        count += 1
                        if event.HasField("status_update"):
                            state = event.status_update.status.state
                    took_a2a = time.perf_counter() - started
                    if profile is not None:
                        profile.disable()
                    if state != TaskState.TASK_STATE_COMPLETED:
                        raise RuntimeError(f"the A2A task ended {TaskState.Name(state)}")
                    if n:
                        direct.append(took_direct)
                        via_a2a.append(took_a2a)
                        events.append(count)
    return {
        "direct_ms": statistics.median(direct) * 1000,
        "a2a_ms": statistics.median(via_a2a) * 1000,
        "events": statistics.median(events),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="profile the A2A rounds")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    figures = anyio.run(run, args.rounds, profile)
    print(
        f"a streamed answer of {len(ANSWER):,} characters in {CHUNKS} chunks "
        f"(median of {args.rounds} interleaved rounds)"
    )
    print(f"  AsyncMaxClient.stream() : {figures['direct_ms']:8.1f} ms")
    print(
        f"  max-a2a, SDK client     : {figures['a2a_ms']:8.1f} ms  "
        f"({figures['events']:.0f} A2A events)"
    )
    print(
        f"  ratio                   : {figures['a2a_ms'] / figures['direct_ms']:8.2f}  (target <= 1.2)"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
