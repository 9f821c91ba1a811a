"""What the A2A face adds to a streamed answer, against `AsyncMaxClient.stream()` alone.

The same emulator streams the same answer for both, in interleaved rounds, in one process:

- baseline: `AsyncMaxClient.stream()` reads the run to its end;
- A2A: the SDK's own client, streaming, sends the question to max-a2a served over loopback
  HTTP in front of that emulator and reads every event to the task's final status.

- bare A2A server (for reference, like the hosted MCP bench's bare `MCPServer`): a2a-sdk's own
  request handler and routes with the least executor over PostHog AI: it announces the task,
  reads the answer with `AsyncMaxClient.ask`, and sends it as one artifact, then the end (the
  same three events max-a2a sends for this answer; no progress, no approvals, no task ids from
  PostHog).

The figure that matters is the ratio of the medians, A2A / baseline, for a long answer written in
a moment (about 6,000 characters in 200 chunks, no pauses: the worst case, where nothing hides
the face's cost; target <= 1.2, like the MCP face). A second figure paces the chunks as PostHog
does (the emulator's default: 12 chunks, 0.08 s apart) and gives the time added.

a2a-sdk wraps its calls in OpenTelemetry spans whenever `opentelemetry-api` can be imported,
recorded or not. `max-tools[a2a]` alone does not install it; other packages do (`mcp`, Google
ADK: this development environment has it). So each figure is measured twice, each time in a
fresh process: with the SDK's tracing off (`OTEL_INSTRUMENTATION_A2A_SDK_ENABLED=false`, what
`max-tools[a2a]` alone runs) and on.

Run: uv run python -m bench.a2a [--rounds N] [--paced-rounds N] [--profile]
(`--profile` runs the A2A rounds of one process under cProfile and prints where the time goes.)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from functools import partial

import anyio
import httpx
from a2a.client import Client, ClientConfig, ClientFactory, create_client
from a2a.helpers import get_message_text, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCard, Message, Role, SendMessageRequest, Task, TaskState, TaskStatus
from starlette.applications import Starlette

from a2a_server import SKILLS, build_card, create_app
from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, Rule, load_rules, serve
from max_tools.hosting import ServerKeyAuth
from max_tools.serving import serve_asgi

CHUNKS = 200
ANSWER = " ".join(
    f"Week {n}: signups grew by {n % 9 + 1} percent, mostly from organic search." for n in range(90)
)
FAST = load_rules([{"match": "report", "reply": ANSWER, "chunks": CHUNKS, "delay_s": 0}])
PACED = load_rules([{"match": "report", "reply": ANSWER}])  # the emulator's default pacing
TRACING = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"


def _question(n: int) -> SendMessageRequest:
    message = Message(
        message_id=f"bench-{n}",
        role=Role.ROLE_USER,
        parts=[new_text_part(f"Write the weekly signups report, round {n}")],
    )
    return SendMessageRequest(message=message)


class _BareExecutor(AgentExecutor):
    """The least an A2A executor over PostHog AI does: the task, the answer, the end."""

    def __init__(self, client: AsyncMaxClient) -> None:
        self._client = client

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = str(context.task_id), str(context.context_id)
        message = context.message or Message()
        working = TaskStatus(state=TaskState.TASK_STATE_WORKING)
        await event_queue.enqueue_event(
            Task(id=task_id, context_id=context_id, status=working, history=[message])
        )
        reply = await self._client.ask(get_message_text(message))
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.add_artifact([new_text_part(reply.text)], "answer", "answer", last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()


def _bare_app(client: AsyncMaxClient, card: AgentCard) -> Starlette:
    handler = DefaultRequestHandler(
        agent_executor=_BareExecutor(client), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=create_jsonrpc_routes(handler, "/"))


async def _read(a2a: Client, n: int) -> tuple[float, int]:
    """Time to read one streamed task to its end, and how many events it took."""
    started = time.perf_counter()
    count, state = 0, 0
    async for event in a2a.send_message(_question(n)):
        count += 1
        if event.HasField("status_update"):
            state = event.status_update.status.state
    if state != TaskState.TASK_STATE_COMPLETED:
        raise RuntimeError(f"the A2A task ended {TaskState.Name(state)}")
    return time.perf_counter() - started, count


async def run(
    rounds: int, profile: cProfile.Profile | None, rules: list[Rule] = FAST
) -> dict[str, float]:
    """Median times of the three paths over `rounds` interleaved rounds (after a warm-up)."""
    direct: list[float] = []
    via_a2a: list[float] = []
    via_bare: list[float] = []
    events: list[int] = []
    async with (
        serve(rules=rules) as emulator,
        httpx.AsyncClient() as pool,
        AsyncMaxClient(
            api_key=DEFAULT_KEY, host=emulator.url, project_id=1, http_client=pool
        ) as max_client,
    ):
        app = create_app(ServerKeyAuth(max_client))
        card = build_card(
            "http://127.0.0.1/",
            skills=frozenset(SKILLS),
            auth=ServerKeyAuth(max_client),
            read_only=False,
        )
        async with (
            serve_asgi(app, host="127.0.0.1", port=0) as port,
            serve_asgi(_bare_app(max_client, card), host="127.0.0.1", port=0) as bare_port,
            httpx.AsyncClient(timeout=60) as http,
        ):
            a2a = await create_client(
                f"http://127.0.0.1:{port}", ClientConfig(streaming=True, httpx_client=http)
            )
            for interface in card.supported_interfaces:
                interface.url = f"http://127.0.0.1:{bare_port}/"
            bare = ClientFactory(ClientConfig(streaming=True, httpx_client=http)).create(card)
            async with a2a, bare:
                for n in range(rounds + 1):  # round 0 warms the paths up and is not counted
                    started = time.perf_counter()
                    async with max_client.stream(
                        f"Write the weekly signups report, round {n}"
                    ) as s:
                        async for _ in s:
                            pass
                    took_direct = time.perf_counter() - started

                    if profile is not None:
                        profile.enable()
                    took_a2a, count = await _read(a2a, n)
                    if profile is not None:
                        profile.disable()
                    took_bare, _ = await _read(bare, n)
                    if n:
                        direct.append(took_direct)
                        via_a2a.append(took_a2a)
                        via_bare.append(took_bare)
                        events.append(count)
    return {
        "direct_ms": statistics.median(direct) * 1000,
        "a2a_ms": statistics.median(via_a2a) * 1000,
        "bare_ms": statistics.median(via_bare) * 1000,
        "events": statistics.median(events),
    }


def _measure(rounds: int, paced_rounds: int) -> None:
    """One process's figures, as JSON on stdout (its tracing is set by its environment)."""
    fast = anyio.run(run, rounds, None)
    paced = anyio.run(run, paced_rounds, None, PACED) if paced_rounds else None
    print(json.dumps({"fast": fast, "paced": paced}))


def _in_process(tracing: bool, rounds: int, paced_rounds: int) -> dict[str, dict[str, float]]:
    """The figures of a fresh process whose SDK tracing is on or off (set before it imports)."""
    env = {**os.environ, TRACING: "true" if tracing else "false"}
    args = ["--rounds", str(rounds), "--paced-rounds", str(paced_rounds), "--measure"]
    done = anyio.run(
        partial(anyio.run_process, [sys.executable, "-m", "bench.a2a", *args], env=env)
    )
    figures: dict[str, dict[str, float]] = json.loads(done.stdout.decode().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--paced-rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the A2A rounds")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args.rounds, args.paced_rounds)
        return
    if args.profile:
        profile = cProfile.Profile()
        profiled = anyio.run(run, args.rounds, profile)
        print(f"ratio {profiled['a2a_ms'] / profiled['direct_ms']:.2f} under the profiler")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        return

    print(
        f"A long answer written in a moment: {len(ANSWER):,} characters in {CHUNKS} chunks, "
        f"no pauses (median of {args.rounds} interleaved rounds; target <= 1.2)"
    )
    paced: list[str] = []
    bare: list[str] = []
    for tracing, label in ((False, "SDK tracing off (max-tools[a2a])"), (True, "SDK tracing on")):
        figures = _in_process(tracing, args.rounds, args.paced_rounds)
        fast = figures["fast"]
        print(
            f"  {label:34s} stream() {fast['direct_ms']:6.1f} ms, max-a2a {fast['a2a_ms']:6.1f} ms"
            f" ({fast['events']:.0f} A2A events): ratio {fast['a2a_ms'] / fast['direct_ms']:.2f}"
        )
        bare.append(
            f"  {label:34s} bare a2a-sdk server {fast['bare_ms']:6.1f} ms: "
            f"ratio {fast['bare_ms'] / fast['direct_ms']:.2f} to stream(); max-a2a "
            f"{fast['a2a_ms'] / fast['bare_ms']:.2f} of it"
        )
        if figures["paced"]:
            slow = figures["paced"]
            paced.append(
                f"  {label:34s} stream() {slow['direct_ms']:6.0f} ms, max-a2a "
                f"{slow['a2a_ms']:6.0f} ms ({slow['events']:.0f} A2A events): "
                f"+{slow['a2a_ms'] - slow['direct_ms']:.1f} ms, ratio "
                f"{slow['a2a_ms'] / slow['direct_ms']:.3f}"
            )
    print("The same answer through a bare a2a-sdk server (its handler; the least executor)")
    print("\n".join(bare))
    if paced:
        print(f"Paced like PostHog (12 chunks 0.08 s apart; median of {args.paced_rounds} rounds)")
        print("\n".join(paced))


if __name__ == "__main__":
    main()
