"""Hosted max-mcp over streamable HTTP against a bare MCPServer HTTP app, in one run.

Every server is its own process on loopback, all on one emulator process (no pauses between
chunks); the load comes from this process as plain JSON-RPC POSTs (protocol 2026-07-28, one
request per call, the way the official client sends them), so the load generator stays cheap.

- Added latency of `max_chat`: 20 clients x N chats each through max-mcp (`--per-request-keys`,
  a key per client) and through the bare app (one tool calling `AsyncMaxClient.ask`), minus the
  same chats made with `AsyncMaxClient.ask` directly; ratio of the added p50 (target <= 1.2).
- Throughput: `max_list_conversations` calls/s with 50 concurrent clients, max-mcp against the
  bare app's tool calling `list_conversations` (target >= 0.8).
- p50 / p95 of `max_chat` with 1 and 2 max-mcp replicas (clients dealt out round-robin).
- What a sign-in costs per call: one max-mcp process with `--oauth --per-request-keys`, 50
  users calling `max_list_conversations` with their PostHog sign-in token (``pha_``, checked
  once by introspection, then cached) and with their personal key, interleaved; ratio of the
  server CPU per call and of the calls/s (target: a call with a token costs at most 1.1x).

Run: uv run python -m bench.hosted [--chats N] [--calls N]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import math
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from bench.scale import gather
from max_tools import AsyncMaxClient

BENCH_KEY = "phx_bench_bare_server"
LIST_KEY = "phx_bench_bare_lists"
_URL = re.compile(r"(http://127\.0\.0\.1:\d+\S*)")
_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28"}
_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


# The servers, each run as `python -m bench.hosted serve-...` in its own process


def serve_emulator() -> None:
    from max_tools.emulator import serve

    async def run() -> None:
        async with serve(delay_s=0) as emulator:
            print(f"emulator at {emulator.url}", flush=True)
            await anyio.sleep_forever()

    anyio.run(run)


def serve_bare(emulator_url: str) -> None:
    """A bare MCPServer over stateless streamable HTTP: the same core calls, nothing else."""
    from mcp.server.mcpserver import MCPServer

    from max_tools.serving import serve_asgi

    client = AsyncMaxClient(api_key=BENCH_KEY, host=emulator_url, project_id=1)
    # Lists come from a user with no conversations, like the list clients of max-mcp, so the
    # emulator's share of a call is small and the same on both sides.
    lister = AsyncMaxClient(api_key=LIST_KEY, host=emulator_url, project_id=1)
    server = MCPServer("bare")

    @server.tool()
    async def chat(message: str) -> str:
        """Ask PostHog AI."""
        return (await client.ask(message)).text

    @server.tool()
    async def list_conversations(limit: int = 20) -> str:
        """List conversations."""
        page = await lister.list_conversations(limit=limit)
        return json.dumps([item.id for item in page.results])

    async def run() -> None:
        app = server.streamable_http_app(stateless_http=True)
        async with serve_asgi(app, host="127.0.0.1", port=0) as port:
            print(f"bare at http://127.0.0.1:{port}/mcp", flush=True)
            await anyio.sleep_forever()

    anyio.run(run)


@dataclass
class Server:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds the process has used (Linux /proc), user and system."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def process(
    command: Sequence[str], env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    """Start a server process; yields where it serves (the URL it prints) and its pid."""
    proc: Process = await anyio.open_process(list(command), env=env)
    assert proc.stdout is not None
    assert proc.stderr is not None
    found = anyio.Event()
    url = ""

    async def drain(stream: Any) -> None:
        nonlocal url
        async for text in TextReceiveStream(stream):
            if not url and (match := _URL.search(text)):
                url = match.group(1)
                found.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, proc.stdout)
            tg.start_soon(drain, proc.stderr)
            with anyio.fail_after(60):
                await found.wait()
            try:
                yield Server(url, proc.pid)
            finally:
                proc.terminate()
                with anyio.fail_after(30):
                    await proc.wait()
    finally:
        await proc.aclose()


# The load


class Caller:
    """Calls one tool over plain HTTP POSTs, with a key, and times each call."""

    def __init__(self, http: httpx.AsyncClient, url: str, key: str, *, progress: bool) -> None:
        self.http, self.url, self.key, self.progress = http, url, key, progress
        self.ids = itertools.count(1)

    async def call(self, tool: str, arguments: dict[str, Any]) -> float:
        request_id = next(self.ids)
        body = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {
                "name": tool,
                "arguments": arguments,
                "_meta": {**_META, "progressToken": request_id} if self.progress else _META,
            },
        }
        headers = {
            **_HEADERS,
            "Authorization": f"Bearer {self.key}",
            "Mcp-Method": "tools/call",
            "Mcp-Name": tool,
        }
        started = time.perf_counter()
        async with self.http.stream("POST", self.url, json=body, headers=headers) as response:
            text = (await response.aread()).decode()
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or '"result"' not in text or '"isError":true' in text:
            raise RuntimeError(f"{tool} failed: {response.status_code} {text[:300]}")
        return elapsed


def _http() -> httpx.AsyncClient:
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so none is reused
    # just as the server closes it.
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    return httpx.AsyncClient(timeout=120, limits=limits)


async def chat_latencies(
    urls: Sequence[Server],
    keys: Sequence[str],
    tool: str,
    clients: int,
    chats: int,
    *,
    progress: bool = True,
) -> list[float]:
    latencies: list[float] = []
    async with _http() as http:

        async def client(n: int) -> None:
            server = urls[n % len(urls)].url
            caller = Caller(http, server, keys[n % len(keys)], progress=progress)
            for k in range(chats):
                message = {"message": f"Client {n}, chat {k}"}
                latencies.append(await caller.call(tool, message))

        await gather(clients, client)
    return latencies


async def direct_latencies(emulator_url: str, clients: int, chats: int) -> list[float]:
    latencies: list[float] = []
    async with AsyncMaxClient(api_key=BENCH_KEY, host=emulator_url, project_id=1) as core:

        async def client(n: int) -> None:
            for k in range(chats):
                started = time.perf_counter()
                await core.ask(f"Client {n}, chat {k}")
                latencies.append(time.perf_counter() - started)

        await gather(clients, client)
    return latencies


async def calls_per_s(
    server: Server, keys: Sequence[str], tool: str, clients: int, calls: int
) -> float:
    async with _http() as http:

        async def client(n: int) -> None:
            caller = Caller(http, server.url, keys[n % len(keys)], progress=False)
            for _ in range(calls):
                await caller.call(tool, {"limit": 20})

        elapsed = await gather(clients, client)
    return clients * calls / elapsed


async def sign_in(http: httpx.AsyncClient, emulator_url: str, users: Sequence[str]) -> list[str]:
    """PostHog sign-in tokens for these users (their personal keys), through the emulator.

    One client registers (DCR); each user then consents (the emulator's auto-consent, as that
    user) and the code is exchanged with PKCE, as an MCP host would.
    """
    redirect = "http://127.0.0.1/callback"
    registered = await http.post(
        f"{emulator_url}/oauth/register/",
        json={
            "redirect_uris": [redirect],
            "client_name": "bench host",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        },
    )
    client_id = registered.json()["client_id"]
    tokens = []
    for user in users:
        await http.post(
            f"{emulator_url}/_emulator/oauth",
            json={"auto_consent": True, "user_key": user, "project": 1},
        )
        verifier = secrets.token_urlsafe(64)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        answer = await http.get(
            f"{emulator_url}/oauth/authorize/",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "scope": "conversation:read conversation:write query:read",
                "state": "bench",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = httpx.URL(answer.headers["location"]).params["code"]
        token = await http.post(
            f"{emulator_url}/oauth/token/",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        tokens.append(token.json()["access_token"])
    return tokens


def p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(chats: int, calls: int) -> dict[str, float]:
    python = sys.executable
    figures: dict[str, float] = {}
    keys = [f"phx_bench_user_{n}" for n in range(20)]
    async with AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(
            process([python, "-m", "bench.hosted", "serve-emulator"])
        )
        upstream = emulator.url.rstrip("/")
        env = {**os.environ, "POSTHOG_HOST": upstream}
        for name in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY"):
            env.pop(name, None)
        hosted = [python, "-m", "mcp_server", "--transport", "http", "--port", "0"]
        hosted += ["--per-request-keys", "--log-level", "WARNING"]
        bare = await stack.enter_async_context(
            process([python, "-m", "bench.hosted", "serve-bare", upstream])
        )
        first = await stack.enter_async_context(process(hosted, env))
        second = await stack.enter_async_context(process(hosted, env))
        both = await stack.enter_async_context(process([*hosted, "--oauth"], env))

        # warm up every server and the emulator
        await chat_latencies([bare], [BENCH_KEY], "chat", 4, 2)
        await chat_latencies([first, second], keys, "max_chat", 4, 2)

        series: dict[str, list[float]] = {}
        cpu: dict[str, float] = {}

        async def measure(name: str, servers: list[Server], run: Awaitable[list[float]]) -> None:
            before = sum(server.cpu_s() for server in servers)
            upstream_before = emulator.cpu_s()
            values = await run
            series.setdefault(name, []).extend(values)
            cpu[name] = cpu.get(name, 0) + sum(server.cpu_s() for server in servers) - before
            cpu[f"{name}_emulator"] = (
                cpu.get(f"{name}_emulator", 0) + emulator.cpu_s() - upstream_before
            )

        async def direct() -> list[float]:
            return await direct_latencies(upstream, 20, chats)

        phases: list[Callable[[], Awaitable[None]]] = [
            lambda: measure("direct", [], direct()),
            lambda: measure(
                "bare",
                [bare],
                chat_latencies([bare], [BENCH_KEY], "chat", 20, chats, progress=False),
            ),
            lambda: measure(
                "ours",
                [first],
                chat_latencies([first], keys, "max_chat", 20, chats, progress=False),
            ),
            lambda: measure(
                "progress", [first], chat_latencies([first], keys, "max_chat", 20, chats)
            ),
            lambda: measure(
                "two", [first, second], chat_latencies([first, second], keys, "max_chat", 20, chats)
            ),
        ]
        for round_ in range(2):  # the order turns each round, so drift hits every series alike
            for phase in phases[round_:] + phases[:round_]:
                await phase()
        for name, values in series.items():
            figures[f"{name}_p50"], figures[f"{name}_p95"] = p(values, 0.5), p(values, 0.95)
            figures[f"{name}_cpu_ms"] = cpu[name] / len(values) * 1000
            figures[f"{name}_emulator_cpu_ms"] = cpu[f"{name}_emulator"] / len(values) * 1000

        listers = [f"phx_bench_lists_{n}" for n in range(50)]
        for side, server, tool, users in (
            ("bare", bare, "list_conversations", [LIST_KEY]),
            ("ours", first, "max_list_conversations", listers),
        ) * 2:  # best of two each, interleaved
            before = server.cpu_s()
            rate = await calls_per_s(server, users, tool, 50, calls)
            if rate > figures.get(f"{side}_calls_s", 0):
                figures[f"{side}_calls_s"] = rate
                figures[f"{side}_list_cpu_ms"] = (server.cpu_s() - before) / (50 * calls) * 1000

        # Sign-ins against personal keys, on one process serving both: the token check alone.
        signers = [f"phx_bench_signin_{n}" for n in range(50)]
        async with httpx.AsyncClient(timeout=30) as http:
            tokens = await sign_in(http, upstream, signers)
        await calls_per_s(both, tokens, "max_list_conversations", 50, 2)  # each checked once
        await calls_per_s(both, signers, "max_list_conversations", 50, 2)
        for side, users in (("keys", signers), ("oauth", tokens)) * 3:  # best of three each
            before = both.cpu_s()
            rate = await calls_per_s(both, users, "max_list_conversations", 50, calls)
            cpu_ms = (both.cpu_s() - before) / (50 * calls) * 1000
            if rate > figures.get(f"{side}_calls_s", 0):
                figures[f"{side}_calls_s"] = rate
            figures[f"{side}_cpu_ms"] = min(figures.get(f"{side}_cpu_ms", math.inf), cpu_ms)
    return figures


def main() -> None:
    if sys.argv[1:2] == ["serve-emulator"]:
        serve_emulator()
        return
    if sys.argv[1:2] == ["serve-bare"]:
        serve_bare(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5, help="chats per client and round")
    parser.add_argument("--calls", type=int, default=20, help="list calls per client")
    args = parser.parse_args()
    f = anyio.run(run, args.chats, args.calls)
    added_bare = f["bare_p50"] - f["direct_p50"]
    added_ours = f["ours_p50"] - f["direct_p50"]
    print(f"max_chat, 20 concurrent clients x {2 * args.chats} chats (p50 / p95, ms)")
    print(f"  AsyncMaxClient.ask directly        : {f['direct_p50']:7.1f} / {f['direct_p95']:7.1f}")
    print(f"  bare MCPServer over HTTP           : {f['bare_p50']:7.1f} / {f['bare_p95']:7.1f}")
    print(f"  max-mcp, per-request keys          : {f['ours_p50']:7.1f} / {f['ours_p95']:7.1f}")
    print(
        f"  max-mcp, streaming progress        : {f['progress_p50']:7.1f} / "
        f"{f['progress_p95']:7.1f}"
    )
    print(
        f"  added p50: bare {added_bare:.1f} ms, max-mcp {added_ours:.1f} ms: "
        f"{added_ours / added_bare:.2f} (target <= 1.2); with progress "
        f"{f['progress_p50'] - f['direct_p50']:.1f} ms"
    )
    print(
        f"  server CPU per chat: bare {f['bare_cpu_ms']:.1f} ms, max-mcp {f['ours_cpu_ms']:.1f} ms"
        f" ({f['ours_cpu_ms'] / f['bare_cpu_ms']:.2f}), with progress {f['progress_cpu_ms']:.1f} ms"
    )
    print(
        "  emulator CPU per chat: direct {direct_emulator_cpu_ms:.1f}, bare {bare_emulator_cpu_ms:.1f},"
        " max-mcp {ours_emulator_cpu_ms:.1f}, with progress {progress_emulator_cpu_ms:.1f},"
        " 2 replicas {two_emulator_cpu_ms:.1f} ms".format(**f)
    )
    print(f"max_list_conversations, 50 concurrent clients x {args.calls} calls (best of 2)")
    print(f"  bare MCPServer : {f['bare_calls_s']:7.0f} calls/s")
    print(f"  max-mcp        : {f['ours_calls_s']:7.0f} calls/s")
    print(f"  ratio          : {f['ours_calls_s'] / f['bare_calls_s']:7.2f} (target >= 0.8)")
    print(
        f"  server CPU per call: bare {f['bare_list_cpu_ms']:.1f} ms, "
        f"max-mcp {f['ours_list_cpu_ms']:.1f} ms"
    )
    print(
        f"a sign-in's cost per call: max_list_conversations, 50 users x {args.calls} calls, "
        "one process with --oauth --per-request-keys (best of 3)"
    )
    print(
        f"  personal keys (phx_)      : {f['keys_calls_s']:7.0f} calls/s, "
        f"server CPU {f['keys_cpu_ms']:.2f} ms per call"
    )
    print(
        f"  sign-in tokens (pha_)     : {f['oauth_calls_s']:7.0f} calls/s, "
        f"server CPU {f['oauth_cpu_ms']:.2f} ms per call"
    )
    print(
        f"  cost ratio, tokens / keys : CPU {f['oauth_cpu_ms'] / f['keys_cpu_ms']:.2f}, time per "
        f"call {f['keys_calls_s'] / f['oauth_calls_s']:.2f} (target <= 1.1)"
    )
    print("max_chat with progress, p50 / p95 by replicas (20 clients)")
    print(f"  1 replica  : {f['progress_p50']:7.1f} / {f['progress_p95']:7.1f} ms")
    print(
        f"  2 replicas : {f['two_p50']:7.1f} / {f['two_p95']:7.1f} ms"
        f" (server CPU per chat {f['two_cpu_ms']:.1f} ms, both replicas)"
    )


if __name__ == "__main__":
    main()
