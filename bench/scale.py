"""Concurrency and scale figures, each against a baseline measured in the same run.

- 200 concurrent `ask` calls through one AsyncMaxClient: wall time against raw httpx doing the
  same 200 requests and reading the same streams; peak RSS; connections the emulator saw.
- max-mcp over streamable HTTP, 20 concurrent clients doing 5 chats each: errors, and the p50 /
  p95 latency a chat adds over the same chats made with the core client directly.
- Memory per in-flight stream (100 streams held open: the pool's limit), and memory after 1,000 sequential chats
  against after the first 100 (no growth).

The emulator runs in its own process (`max-tools emulator`), so the figures are the client's.
Run: uv run python -m bench.scale
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY

INSTANT = [{"match": ".", "chunks": 12, "delay_s": 0}]
HELD = 100  # the pool's connection limit: each open stream holds a connection


def percentile_ms(data: list[float], p: int) -> float:
    return statistics.quantiles(data, n=100)[p - 1] * 1000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@asynccontextmanager
async def process_printing(
    args: list[str], marker: str, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    process: Process = await anyio.open_process(args, env=env)
    try:
        printed = ""
        stream = process.stdout if "emulator" in args else process.stderr
        assert stream is not None
        with anyio.fail_after(30):
            async for text in TextReceiveStream(stream):
                printed += text
                if marker in printed:
                    break
        yield printed
    finally:
        process.terminate()
        await process.wait()
        await process.aclose()


@asynccontextmanager
async def emulator_process() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "rules.json"
        rules.write_text(json.dumps(INSTANT))
        args = [
            sys.executable,
            "-m",
            "max_tools.cli",
            "emulator",
            "--port",
            "0",
            "--rules",
            str(rules),
        ]
        async with process_printing(args, "POSTHOG_PROJECT_ID") as printed:
            yield printed.split("serving on ", 1)[1].split()[0]


async def stats(url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        data: dict[str, int] = (await http.get(f"{url}/_emulator/stats")).json()
        return data


async def faults(url: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(f"{url}/_emulator/faults", json=body)


async def gather(count: int, job: Callable[[int], Coroutine[Any, Any, None]]) -> float:
    started = time.perf_counter()
    async with anyio.create_task_group() as task_group:
        for n in range(count):
            task_group.start_soon(job, n)
    return time.perf_counter() - started


def body(n: int) -> dict[str, str]:
    return {"content": f"q{n}", "conversation": str(uuid.uuid4()), "trace_id": str(uuid.uuid4())}


async def concurrent_asks(url: str) -> dict[str, float]:
    results: dict[str, float] = {}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60) as raw:
        before = (await stats(url))["connections"]

        async def raw_job(n: int) -> None:
            async with raw.stream(
                "POST",
                f"{url}/api/environments/1/conversations/",
                json=body(n),
                headers={"Authorization": f"Bearer {DEFAULT_KEY}"},
            ) as response:
                async for _ in response.aiter_lines():
                    pass

        results["raw_s"] = await gather(200, raw_job)
        results["raw_connections"] = (await stats(url))["connections"] - before
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=url, project_id=1) as client:
        before = (await stats(url))["connections"]
        done: list[str] = []

        async def ask(n: int) -> None:
            reply = await client.ask(f"q{n}")
            done.append(reply.status)

        results["ours_s"] = await gather(200, ask)
        results["ours_connections"] = (await stats(url))["connections"] - before
        results["completed"] = float(done.count("completed"))
    results["peak_rss_mib"] = peak_rss_mib()
    return results


async def mcp_http_latency(url: str) -> dict[str, float]:
    env = {
        **os.environ,
        "POSTHOG_HOST": url,
        "POSTHOG_PERSONAL_API_KEY": DEFAULT_KEY,
        "POSTHOG_PROJECT_ID": "1",
    }
    args = [sys.executable, "-m", "mcp_server", "--transport", "http", "--port", "0"]
    direct: list[float] = []
    via_mcp: list[float] = []
    errors = 0
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=url, project_id=1) as client:

        async def direct_job(n: int) -> None:
            for k in range(5):
                started = time.perf_counter()
                await client.ask(f"direct {n} {k}")
                direct.append(time.perf_counter() - started)

        await gather(20, direct_job)
    async with process_printing(args, "/mcp", env) as printed:
        endpoint = printed.split(" at ", 1)[1].split()[0]

        async def mcp_job(n: int) -> None:
            nonlocal errors
            async with Client(endpoint) as session:
                for k in range(5):
                    started = time.perf_counter()
                    result = await session.call_tool("max_chat", {"message": f"mcp {n} {k}"})
                    via_mcp.append(time.perf_counter() - started)
                    errors += (
                        bool(result.is_error)
                        or (result.structured_content or {}).get("status") != "completed"
                    )

        await gather(20, mcp_job)
    return {
        "calls": float(len(via_mcp)),
        "errors": float(errors),
        "direct_p50": percentile_ms(direct, 50),
        "direct_p95": percentile_ms(direct, 95),
        "mcp_p50": percentile_ms(via_mcp, 50),
        "mcp_p95": percentile_ms(via_mcp, 95),
    }


async def memory(url: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with AsyncMaxClient(api_key=DEFAULT_KEY, host=url, project_id=1) as client:
        await client.ask("warm up")
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        await faults(url, {"hold": True})
        opened = anyio.Event()
        count = 0

        async def hold_stream(n: int) -> None:
            nonlocal count
            async with client.stream(f"held {n}") as replies:
                iterator = aiter(replies)
                await anext(iterator)
                count += 1
                if count == HELD:
                    opened.set()
                async for _ in iterator:
                    pass

        async with anyio.create_task_group() as task_group:
            for n in range(HELD):
                task_group.start_soon(hold_stream, n)
            with anyio.fail_after(60):
                await opened.wait()
            gc.collect()
            figures["per_stream_kib"] = (tracemalloc.get_traced_memory()[0] - base) / 1024 / HELD
            tracemalloc.stop()
            await faults(url, {"hold": False})
        for n in range(1_000):
            await client.ask(f"sequential {n}")
            if n == 99:
                gc.collect()
                figures["after_100_mib"] = rss_mib()
        gc.collect()
        figures["after_1000_mib"] = rss_mib()
    return figures


async def main() -> None:
    async with emulator_process() as url:
        asks = await concurrent_asks(url)
        latency = await mcp_http_latency(url)
        mem = await memory(url)
    print("200 concurrent asks through one AsyncMaxClient (emulator in its own process)")
    print(
        f"  raw httpx, same requests : {asks['raw_s']:6.2f} s, {asks['raw_connections']:.0f} connections"
    )
    print(
        f"  AsyncMaxClient.ask       : {asks['ours_s']:6.2f} s, {asks['ours_connections']:.0f} connections, {asks['completed']:.0f}/200 completed"
    )
    print(f"  ratio (ours / raw)       : {asks['ours_s'] / asks['raw_s']:6.2f}")
    print(f"  peak RSS of this process : {asks['peak_rss_mib']:6.1f} MiB")
    print("max-mcp over streamable HTTP: 20 clients x 5 chats")
    print(f"  calls / errors           : {latency['calls']:.0f} / {latency['errors']:.0f}")
    print(
        f"  direct core ask p50/p95  : {latency['direct_p50']:6.1f} / {latency['direct_p95']:6.1f} ms"
    )
    print(f"  max_chat via HTTP p50/p95: {latency['mcp_p50']:6.1f} / {latency['mcp_p95']:6.1f} ms")
    print(
        f"  added p50 / p95          : {latency['mcp_p50'] - latency['direct_p50']:6.1f} / {latency['mcp_p95'] - latency['direct_p95']:6.1f} ms"
    )
    print("memory")
    print(
        f"  per in-flight stream     : {mem['per_stream_kib']:6.1f} KiB traced ({HELD} streams held open)"
    )
    print(
        f"  RSS after 100 / 1,000 sequential chats: {mem['after_100_mib']:.1f} / {mem['after_1000_mib']:.1f} MiB (ratio {mem['after_1000_mib'] / mem['after_100_mib']:.3f})"
    )


if __name__ == "__main__":
    anyio.run(main)
