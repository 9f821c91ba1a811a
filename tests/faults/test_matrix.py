"""The fault matrix: each fault of the emulator, through the core, the MCP server and LangChain.

For every case the face ends with the right result or the right error, no message is sent twice,
no text is duplicated or lost, no connection or task is left behind, and the face serves the
next call.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from max_tools import AsyncMaxClient
from max_tools.emulator import DEFAULT_KEY, ConversationState, Rule, RunningEmulator
from tests.faults.faces import CoreFace, LangChainFace, MCPFace, Outcome

LONG = Rule(
    match="long answer", reply="A long answer, written in many small pieces. " * 10, chunks=80
)
HUGE = Rule(match="huge report", reply="x" * 1_000_000, chunks=3)
RULES = [LONG, HUGE]

Face = CoreFace | MCPFace | LangChainFace
FACES = ["core", "mcp", "langchain"]


def answer(question: str) -> str:
    for rule in RULES:
        if rule.match in question:
            return rule.answer(question)
    return Rule().answer(question)


async def set_faults(emulator: RunningEmulator, **faults: Any) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        assert (await control.post("/_emulator/faults", json=faults)).status_code == 200


def human_messages(emulator: RunningEmulator, conversation_id: str | None) -> list[str]:
    assert conversation_id is not None
    return [
        m["content"]
        for m in emulator.conversation(conversation_id).messages
        if m["type"] == "human"
    ]


def client_connections(port: int) -> int:
    """Established TCP connections from this process's clients to `port` (Linux /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait, bounded, for a condition another component changes without telling us."""
    with anyio.fail_after(timeout_s):
        for _ in itertools.count():
            if condition():
                return
            await anyio.sleep(0.01)


async def settle(emulator: RunningEmulator, baseline_tasks: int) -> None:
    """Wait (bounded) until runs ended and no task outlives the scenario."""
    await until(lambda: not emulator.running() and len(asyncio.all_tasks()) <= baseline_tasks)


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """The shared `emulator` fixture, with the matrix's rules and quick keep-alives."""
    return {"rules": RULES, "keepalive_s": 0.05}


async def with_face(
    kind: str,
    emulator: RunningEmulator,
    scenario: Callable[[Face, AsyncMaxClient], Awaitable[None]],
    **client_options: Any,
) -> None:
    baseline = len(asyncio.all_tasks())
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    options: dict[str, Any] = {
        "api_key": DEFAULT_KEY,
        "host": emulator.url,
        "project_id": 1,
        "sleep": no_sleep,
    }
    options.update(client_options)
    async with AsyncMaxClient(**options) as client:
        await on_face(kind, client, scenario)
        assert client_connections(emulator.port) <= 20  # within the pool's keep-alive limit
    assert client_connections(emulator.port) == 0  # closing the client closed every connection
    await settle(emulator, baseline)


async def on_face(
    kind: str, client: AsyncMaxClient, scenario: Callable[[Face, AsyncMaxClient], Awaitable[None]]
) -> None:
    """Play the scenario through one face of `client`; the face keeps serving afterwards."""
    if kind == "mcp":
        async with MCPFace(client) as mcp_face:
            await scenario(mcp_face, client)
            assert await mcp_face.healthy()
    else:
        face: Face = CoreFace(client) if kind == "core" else LangChainFace(client)
        await scenario(face, client)
        assert await face.healthy()


def completed_once(emulator: RunningEmulator, outcome: Outcome, question: str) -> None:
    assert outcome.error is None, outcome.error
    assert outcome.status == "completed"
    assert human_messages(emulator, outcome.conversation_id) == [question]  # sent once
    expected = answer(question)
    if outcome.truncated:
        assert expected.startswith(outcome.text)
    else:
        assert outcome.text == expected  # nothing duplicated, nothing lost


# Time scaled down for the stall: 1 s of keep-alives every 0.05 s against a 0.5 s read timeout
# stands for PostHog's 60 s stall with keep-alives every 15 s against our 60 s timeout.
ONE_FAULT_CHATS = [
    *(
        pytest.param(
            "Give me a long answer about signups",
            {"drop_after_events": events},
            {},
            id=f"connection-dropped-after-{events}-events",
        )
        for events in (1, 5, 50)
    ),
    pytest.param(
        "How many signups after a stall?",
        {"stall_s": 1.0},
        {"timeout": httpx.Timeout(5.0, read=0.5)},
        id="keepalive-only-stall-longer-than-the-read-timeout",
    ),
    pytest.param(
        "How many signups, with surprises?",
        {"unknown_events": True},
        {},
        id="unknown-event-and-message-types",
    ),
    pytest.param(
        "How many signups, garbled?", {"garble_utf8": True}, {}, id="non-utf8-bytes-in-the-stream"
    ),
]


@pytest.mark.parametrize("kind", FACES)
@pytest.mark.parametrize(("question", "faults", "client_options"), ONE_FAULT_CHATS)
async def test_a_chat_through_a_fault_completes_sending_once_losing_nothing(
    emulator: RunningEmulator,
    kind: str,
    question: str,
    faults: dict[str, Any],
    client_options: dict[str, Any],
) -> None:
    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        await set_faults(emulator, **faults)
        completed_once(emulator, await face.chat(question), question)

    await with_face(kind, emulator, scenario, **client_options)


@pytest.mark.parametrize("kind", FACES)
async def test_429_with_retry_after_on_create_and_on_reads(
    emulator: RunningEmulator, kind: str
) -> None:
    question = "How many signups after a throttle?"

    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        await set_faults(emulator, status=429, retry_after=2, count=1)
        completed_once(emulator, await face.chat(question), question)
        await set_faults(emulator, status=429, retry_after=1, count=1)
        assert (await face.read()).error is None
        await set_faults(emulator, status=429, retry_after=600, count=1)  # too long to wait out
        refused = await face.read()
        assert refused.error is not None and "600" in refused.error

    await with_face(kind, emulator, scenario)


@pytest.mark.parametrize("kind", FACES)
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_error_bursts(emulator: RunningEmulator, kind: str, status: int) -> None:
    question = f"How many signups after a {status}?"

    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        await set_faults(emulator, status=status, count=2)
        completed_once(emulator, await face.chat(question), question)
        await set_faults(emulator, status=status, count=2)
        assert (await face.read()).error is None

    await with_face(kind, emulator, scenario)


@pytest.mark.parametrize("kind", FACES)
async def test_cancel_arriving_mid_stream(emulator: RunningEmulator, kind: str) -> None:
    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        emulator.hold()
        outcome: list[Outcome] = []
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(lambda: _append(outcome, face.chat("Cancel this one")))
            await until(lambda: bool(emulator.running()))
            cid = emulator.running()[0]
            await client.cancel(cid)
        emulator.release()
        assert outcome[0].error is None and outcome[0].status == "canceled"
        assert human_messages(emulator, cid) == ["Cancel this one"]

    await with_face(kind, emulator, scenario)


async def _append(outcomes: list[Outcome], call: Awaitable[Outcome]) -> None:
    outcomes.append(await call)


@pytest.mark.parametrize("kind", FACES)
async def test_a_queued_follow_up_consumed_while_the_client_reconnects(
    emulator: RunningEmulator, kind: str
) -> None:
    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        first = await face.chat("Base question")
        cid = first.conversation_id
        assert cid is not None
        emulator.hold()
        await set_faults(emulator, drop_after_events=10)
        outcome: list[Outcome] = []
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(
                lambda: _append(outcome, face.chat("First follow-up", conversation_id=cid))
            )
            await until(lambda: cid in emulator.running())
            await client.queue_message(cid, "Queued follow-up")
            emulator.release()
        assert outcome[0].error is None and outcome[0].status == "completed"
        # The last answer on the stream ends the result; the tools also show the earlier one.
        assert outcome[0].text.endswith(answer("Queued follow-up"))
        if kind != "core":
            assert f"> First follow-up\n{answer('First follow-up')}" in outcome[0].text
        assert human_messages(emulator, cid) == [
            "Base question",
            "First follow-up",
            "Queued follow-up",
        ]

    await with_face(kind, emulator, scenario)


@pytest.mark.parametrize("kind", FACES)
async def test_a_40000_character_message(emulator: RunningEmulator, kind: str) -> None:
    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        question = "Why? " + "x" * 39_995
        outcome = await face.chat(question)
        assert outcome.error is None and outcome.status == "completed"
        assert human_messages(emulator, outcome.conversation_id) == [question]
        too_long = await face.chat(question + "y")
        assert too_long.error is not None
        assert "40,000" in too_long.error or "40000" in too_long.error

    await with_face(kind, emulator, scenario)


@pytest.mark.parametrize("kind", FACES)
async def test_a_one_megabyte_reply(emulator: RunningEmulator, kind: str) -> None:
    question = "Write me a huge report"

    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        outcome = await face.chat(question)
        completed_once(emulator, outcome, question)
        if kind == "core":
            assert len(outcome.text) == 1_000_000 and not outcome.truncated
        else:
            assert outcome.truncated and len(outcome.text) < 20_000  # capped for the model

    await with_face(kind, emulator, scenario)


@pytest.mark.parametrize("kind", FACES)
async def test_a_server_that_closes_before_sending_headers(
    emulator: RunningEmulator, kind: str
) -> None:
    from tests.faults.proxy import hang_up_proxy

    question = "How many signups, after a hang-up?"
    baseline = len(asyncio.all_tasks())
    outcomes: list[Outcome] = []

    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        outcomes.append(await face.chat(question))

    async def no_sleep(seconds: float) -> None:
        return None

    async with (
        hang_up_proxy(emulator.port, hang_ups=1) as (url, proxy),
        AsyncMaxClient(api_key=DEFAULT_KEY, host=url, project_id=1, sleep=no_sleep) as client,
    ):
        await on_face(kind, client, scenario)
    assert proxy.hung_up == 1  # the first request reached PostHog, its answer never came back
    completed_once(emulator, outcomes[0], question)  # ... yet the message was not sent twice
    assert client_connections(emulator.port) == 0
    await settle(emulator, baseline)


@pytest.mark.parametrize("kind", FACES)
@pytest.mark.parametrize("trim", [False, True], ids=["full-replay", "trimmed-replay"])
async def test_a_drop_while_the_run_goes_on_is_resumed_by_attaching(
    emulator: RunningEmulator, kind: str, trim: bool
) -> None:
    # The run is held before its answer, so the reconnect attaches to it (rather than reading
    # a finished conversation); PostHog then replays the run from its start, or only what came
    # after the dropped reader left.
    question = "Give me a long answer, while running"

    async def scenario(face: Face, client: AsyncMaxClient) -> None:
        emulator.hold()
        await set_faults(emulator, drop_after_events=4, trim_on_disconnect=trim)
        outcome: list[Outcome] = []
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(lambda: _append(outcome, face.chat(question)))
            await until(lambda: any(s.reconnects and s.readers for s in sessions(emulator)))
            emulator.release()
        completed_once(emulator, outcome[0], question)

    await with_face(kind, emulator, scenario)


def sessions(emulator: RunningEmulator) -> list[ConversationState]:
    return [emulator.conversation(cid) for cid in emulator.running()]
