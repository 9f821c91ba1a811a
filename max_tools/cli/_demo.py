"""`max-tools demo`: what an agent does with max-mcp, on the emulator, every step checked.

It serves the emulator in-process, starts `max-mcp` as a real stdio subprocess pointed at it,
connects the official MCP client, and walks through the tools, printing each step; then an
A2A client does the same through max-a2a (`_demo_a2a`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from max_tools.cli._terminal import Terminal

__all__ = ["DemoFailed", "demo"]

RULES: list[dict[str, Any]] = [
    {
        "match": "by country",
        "reply": "By country: US 41%, Germany 17%, UK 12%, the rest 30%.",
        "chunks": 20,
        "delay_s": 0.12,
    },
    {
        "match": "device",
        "reply": "By device: desktop 58%, mobile 37%, tablet 5%.",
        "chunks": 8,
        "delay_s": 0.05,
    },
    {"match": "long report", "reply": "A very long report. " * 50, "chunks": 200, "delay_s": 0.2},
]


class DemoFailed(Exception):
    """A demo step did not do what it should."""


def check(condition: bool, what: str) -> None:
    """Fail the demo unless `condition` holds."""
    if not condition:
        raise DemoFailed(what)


async def demo(terminal: Terminal) -> int:
    """Run the demo; returns the exit status."""
    try:
        from mcp import Client, StdioServerParameters

        from max_tools.emulator import EmulatorApp, load_rules, serve
    except ImportError:
        terminal.error(
            "max-tools demo needs the mcp and emulator extras: "
            "pip install 'max-tools[mcp,emulator]'"
        )
        return 2
    started = time.monotonic()
    step = _Steps(terminal)
    try:
        async with serve(EmulatorApp(rules=load_rules(RULES))) as emulator:
            terminal.line(
                f"Emulator serving PostHog AI's API on {emulator.url} (no account needed)."
            )
            env = {**os.environ, **emulator.env()}
            server = StdioServerParameters(
                command=sys.executable, args=["-m", "mcp_server"], env=env
            )
            terminal.line(
                "Starting max-mcp as a stdio subprocess and connecting the official MCP client..."
            )
            person = _Person(step)
            async with Client(server, elicitation_callback=person) as mcp:
                await _walk_through(mcp, step)
                await _ask_a_person(mcp, step, person)
            from max_tools.cli._demo_a2a import a2a_steps  # its module needs `check` from here

            await a2a_steps(emulator, step)
            await _sign_in(emulator, step)
    except DemoFailed as exc:
        terminal.error(f"\nDEMO FAILED at step {step.number}: {exc}")
        return 1
    terminal.line(f"\nAll {step.number} steps passed in {time.monotonic() - started:.1f} s.")
    return 0


async def _sign_in(emulator: Any, step: _Steps) -> None:
    """`max-tools login` on the emulator (it consents by itself), then max-mcp with no key."""
    import tempfile

    import anyio
    import httpx
    from mcp import Client, StdioServerParameters

    from max_tools import SignInStore, login

    step("Sign in with PostHog (max-tools login), then max-mcp with no key at all")
    emulator.set_oauth(auto_consent=True)
    links, link = anyio.create_memory_object_stream[str](1)
    with tempfile.TemporaryDirectory(prefix="max-tools-demo-") as folder:
        store = SignInStore(Path(folder))  # not your own sign-in: the demo's, thrown away after
        async with anyio.create_task_group() as tasks, links, link:

            async def browser() -> None:  # stands in for yours: follows the link to the end
                async with httpx.AsyncClient(follow_redirects=True, timeout=10) as http:
                    await http.get(await link.receive())

            tasks.start_soon(browser)
            sign_in = await login(
                host=emulator.url,
                open_browser=False,
                show_link=lambda url, _opened: links.send_nowait(url),
                wait_s=30,
                store=store,
            )
        step.show(f"signed in as {sign_in.email}, project {sign_in.project_id}")
        step.show(f"scopes: {' '.join(sign_in.scopes)}; stored in {store.path} (mode 0600)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")}
        env["MAX_TOOLS_CONFIG_DIR"] = folder
        server = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server"], env=env)
        async with Client(server) as mcp:
            result = await mcp.call_tool("max_chat", {"message": "How many users signed up?"})
        step.show(_text(result))
        check(_data(result).get("status") == "completed", "max-mcp should answer on the sign-in")


class _Steps:
    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.number = 0

    def __call__(self, title: str) -> None:
        self.number += 1
        self.terminal.line(f"\n{self.number}. {title}")

    def show(self, text: str) -> None:
        for line in text.splitlines():
            self.terminal.line(f"   {line}")


async def _walk_through(mcp: Any, step: _Steps) -> None:
    step("tools/list")
    tools = (await mcp.list_tools()).tools
    step.show(", ".join(tool.name for tool in tools))
    check(len(tools) == 15, f"expected 15 tools, got {len(tools)}")

    step('max_chat "Show me a trend of weekly signups" (progress streams live)')
    seen: list[float] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)
        step.terminal.line(f"     progress {progress:>3.0f}: {_tail(message or '', 70)}")

    first = await mcp.call_tool(
        "max_chat", {"message": "Show me a trend of weekly signups"}, progress_callback=progress
    )
    data = _data(first)
    step.show(_text(first))
    check(data.get("status") == "completed", f"max_chat should complete, got {data.get('status')}")
    check(len(seen) >= 5 and seen == sorted(seen), "progress should stream, in increasing order")
    cid = data["conversation_id"]

    step("max_get_chart: the numbers behind the reply's chart (a PNG too, with the charts extra)")
    chart = await mcp.call_tool("max_get_chart", {"conversation_id": cid, "chart": 1})
    step.show(_text(chart))
    pictures = [block for block in chart.content if getattr(block, "type", "") == "image"]
    step.show(f"+ {len(pictures)} PNG image; MCP Apps hosts also get the interactive view")
    series = _data(chart).get("series") or []
    check(not chart.is_error and len(series) >= 1, "the chart's numbers should come back")

    step("A follow-up that takes longer than wait_s, then another one while it is busy")
    slow = _data(
        await mcp.call_tool(
            "max_chat", {"message": "Split it by country", "conversation_id": cid, "wait_s": 0.5}
        )
    )
    step.show(f"max_chat(wait_s=0.5) -> status {slow['status']}")
    check(slow["status"] == "in_progress", "a slow reply should come back in_progress")
    queued_result = await mcp.call_tool(
        "max_chat", {"message": "And by device type?", "conversation_id": cid}
    )
    queued = _data(queued_result)
    step.show(_text(queued_result))
    check(
        queued["status"] == "queued" and queued.get("queue_position") == 1,
        "the busy follow-up should be queued",
    )

    step("The queue tools: list, add, edit, remove")
    added = _data(
        await mcp.call_tool(
            "max_queue_message", {"conversation_id": cid, "message": "Which plan are they on?"}
        )
    )
    second = added["messages"][1]["queue_id"]
    edited = _data(
        await mcp.call_tool(
            "max_update_queued_message",
            {"conversation_id": cid, "queue_id": second, "message": "Which pricing plan?"},
        )
    )
    removed = _data(
        await mcp.call_tool(
            "max_delete_queued_message", {"conversation_id": cid, "queue_id": second}
        )
    )
    listed_result = await mcp.call_tool("max_list_queue", {"conversation_id": cid})
    step.show(_text(listed_result))
    check(
        [m["message"] for m in edited["messages"]]
        == ["And by device type?", "Which pricing plan?"],
        "the edit should show",
    )
    check(
        len(removed["messages"]) == 1 and len(_data(listed_result)["messages"]) == 1,
        "one follow-up should remain",
    )

    step("max_wait: the running reply, then the queued follow-up on the same stream")
    waited_result = await mcp.call_tool("max_wait", {"conversation_id": cid, "wait_s": 30})
    waited = _data(waited_result)
    step.show(_text(waited_result))
    check(waited["status"] == "completed", f"max_wait should complete, got {waited['status']}")
    check("By device" in waited.get("reply", ""), "the queued follow-up should have been answered")

    step("max_cancel on a long run")
    long_run = _data(
        await mcp.call_tool("max_chat", {"message": "Write a long report", "wait_s": 0.5})
    )
    canceled = _data(
        await mcp.call_tool("max_cancel", {"conversation_id": long_run["conversation_id"]})
    )
    after = _data(
        await mcp.call_tool(
            "max_wait", {"conversation_id": long_run["conversation_id"], "wait_s": 10}
        )
    )
    step.show(
        f"before: {long_run['status']}; max_cancel -> canceled={canceled['canceled']}; "
        f"after: {after['status']}"
    )
    check(
        long_run["status"] == "in_progress" and after["status"] == "canceled",
        "the long run should end canceled",
    )

    step("max_list_conversations")
    listed = await mcp.call_tool("max_list_conversations", {})
    step.show(_text(listed))
    check(cid in _text(listed), "the conversation should be listed")


class _Person:
    """The demo's stand-in for the user: approves what the host's elicitation shows."""

    def __init__(self, step: _Steps) -> None:
        self.step = step
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        self.asked.append(params.message)
        self.step.show("elicitation shown to the user:")
        self.step.show("  " + params.message.replace("\n", "\n  "))
        self.step.show("  -> the user approves")
        return ElicitResult(action="accept", content={"decision": "approve"})


async def _ask_a_person(mcp: Any, step: _Steps, person: _Person) -> None:
    step('max_chat "Delete the old dashboard": PostHog AI asks a person first (elicitation)')
    result = await mcp.call_tool("max_chat", {"message": "Delete the old dashboard"})
    data = _data(result)
    step.show(f"status after the user's decision: {data['status']}: {data.get('reply', '')}")
    check(len(person.asked) == 1, "the approval should be asked through elicitation, once")
    check(data["status"] == "completed", "the approved run should complete")


def _tail(text: str, width: int) -> str:
    """The end of `text` in `width` characters, cut after a space and marked, like max-mcp's."""
    if len(text) <= width:
        return text
    tail = text[-width + 1 :]
    return "\u2026" + tail[tail.find(" ") + 1 :] if " " in tail else "\u2026" + tail


def _data(result: Any) -> dict[str, Any]:
    if result.is_error:
        raise DemoFailed(_text(result))
    data: dict[str, Any] = result.structured_content or {}
    return data


def _text(result: Any) -> str:
    return str(result.content[0].text)
