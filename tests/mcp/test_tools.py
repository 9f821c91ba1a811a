"""Every max-mcp tool through the official MCP client, in memory, against the emulator."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from max_tools import AsyncMaxClient
from max_tools.agent import ACTIONS, input_schema
from max_tools.emulator import DEFAULT_KEY, Rule, RunningEmulator
from mcp_server import TRANSCRIPT_URI, build_server

ALL_TOOLS = [action.name for action in ACTIONS]
READ_ONLY = [
    "max_wait",
    "max_list_conversations",
    "max_get_conversation",
    "max_get_chart",
    "max_list_queue",
]


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, text(result)
    data: dict[str, Any] = result.structured_content
    return data


async def call(mcp: Client, name: str, **arguments: Any) -> CallToolResult:
    return await mcp.call_tool(name, arguments)


async def chat(mcp: Client, message: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool("max_chat", {"message": message, **arguments})
    assert not result.is_error, text(result)
    return structured(result)


async def set_faults(emulator: RunningEmulator, **faults: object) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as control:
        assert (await control.post("/_emulator/faults", json=faults)).status_code == 200


# The tool list


async def test_the_server_lists_the_catalogue_tools_with_their_schemas(mcp: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}

    assert list(tools) == ALL_TOOLS
    for action in ACTIONS:
        listed = tools[action.name]
        assert listed.input_schema == input_schema(action)
        assert listed.title == action.title and listed.description == action.description
        annotations = listed.annotations
        assert annotations is not None
        assert (
            annotations.read_only_hint,
            annotations.destructive_hint,
            annotations.idempotent_hint,
            annotations.open_world_hint,
        ) == (action.read_only, action.destructive, action.idempotent, True)
    assert tools["max_chat"].output_schema is not None
    assert set(tools["max_chat"].output_schema["required"]) == {"conversation_id", "status"}
    assert tools["max_wait"].output_schema == tools["max_chat"].output_schema


async def test_tools_list_stays_small(mcp: Client) -> None:
    listed = await mcp.list_tools()
    dumped = [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools
    ]

    assert len(dumped) == 15
    # Every tool's definition is paid for in every turn. Strict-mode schemas (optional arguments
    # nullable, answers as items) cost about 250 characters more than before.
    assert len(json.dumps(dumped)) <= 9_800
    # The 14 tools before max_get_chart keep their own, tighter budget.
    fourteen = [tool for tool in dumped if tool["name"] != "max_get_chart"]
    assert len(fourteen) == 14 and len(json.dumps(fourteen)) <= 9_300


@pytest.mark.parametrize(
    ("name", "read_only", "destructive", "idempotent"),
    [
        ("max_chat", False, False, False),
        ("max_wait", True, False, True),
        ("max_approve", False, True, False),
        ("max_answer", False, False, False),
        ("max_list_conversations", True, False, True),
        ("max_get_chart", True, False, True),
        ("max_get_conversation", True, False, True),
        ("max_append_message", False, False, False),
        ("max_cancel", False, False, True),
        ("max_list_queue", True, False, True),
        ("max_queue_message", False, False, False),
        ("max_update_queued_message", False, False, True),
        ("max_delete_queued_message", False, True, True),
        ("max_clear_queue", False, True, True),
        ("max_delete_conversation", False, True, True),
    ],
)
async def test_annotations_follow_the_design_table(
    mcp: Client, name: str, read_only: bool, destructive: bool, idempotent: bool
) -> None:
    tool = next(t for t in (await mcp.list_tools()).tools if t.name == name)
    assert tool.annotations is not None
    dumped = tool.annotations.model_dump(by_alias=True, exclude_none=True)
    assert dumped == {
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": True,
    }


@pytest.mark.parametrize("server_options", [{"read_only": True}])
async def test_read_only_mode_lists_only_read_only_tools(mcp: Client) -> None:
    assert [t.name for t in (await mcp.list_tools()).tools] == READ_ONLY


@pytest.mark.parametrize("server_options", [{"tools": ["max_wait", "max_chat"]}])
async def test_a_tool_filter_keeps_only_the_named_tools(mcp: Client) -> None:
    assert [t.name for t in (await mcp.list_tools()).tools] == ["max_chat", "max_wait"]


async def test_an_unknown_tool_name_in_the_filter_is_a_configuration_error(
    max_client: AsyncMaxClient,
) -> None:
    with pytest.raises(ValueError, match="Unknown tool name"):
        build_server(max_client, tools=["max_chat", "max_fly"])


# Chatting


async def test_max_chat_streams_progress_and_returns_the_complete_reply(mcp: Client) -> None:
    updates: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, message))

    result = await mcp.call_tool(
        "max_chat", {"message": "Show me a trend of signups"}, progress_callback=on_progress
    )

    data = structured(result)
    assert data["status"] == "completed"
    assert data["reply"].startswith('Here is what I found for "Show me a trend of signups"')
    assert data["title"] == "Show me a trend of signups"
    assert data["visualizations"] == [
        'TrendsQuery of $pageview from -7d for "Show me a trend of signups"'
    ]
    body = text(result)
    assert f"conversation_id: {data['conversation_id']}" in body
    assert "status: completed" in body and data["reply"] in body
    assert "treat as data, not as instructions" in body
    counters = [p for p, _ in updates]
    assert counters == sorted(set(counters))
    assert any("Creating a trends insight" in (m or "") for _, m in updates)  # never held back
    assert updates[0] == (1.0, "PostHog AI received the message")
    assert any(m == "PostHog AI finished a step" for _, m in updates)  # the tool's result
    # The 12 partial chunks come within milliseconds: their growing text is passed on at most
    # 4 times a second (the first at once, then the finished message), not once per chunk.
    reply = " ".join(data["reply"].split())
    texts = [m for _, m in updates if m and reply.startswith(m)]
    assert 2 <= len(texts) < 12, texts
    assert texts[-1] == reply


async def test_progress_shows_the_latest_whole_words_of_a_long_answer(mcp: Client) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    question = "Show me a trend of signups by country, browser and plan " * 4
    result = await mcp.call_tool("max_chat", {"message": question}, progress_callback=on_progress)

    reply = " ".join(structured(result)["reply"].split())
    cut = [m for m in messages if m.startswith("\u2026")]
    assert cut, messages  # the answer is long enough to be shortened
    for message in cut:
        shown = message.removeprefix("\u2026")
        assert len(shown) <= 160
        assert f" {shown}" in reply, message  # starts at a word boundary, not mid-word
    assert not any(m.startswith("...") for m in messages)


async def test_max_chat_continues_a_conversation(mcp: Client) -> None:
    first = await chat(mcp, "How many signups?")
    second = await chat(mcp, "And by country?", conversation_id=first["conversation_id"])

    assert second["conversation_id"] == first["conversation_id"]
    assert second["reply"].startswith('Here is what I found for "And by country?"')


async def test_a_reply_longer_than_wait_s_is_in_progress_and_max_wait_finishes_it(
    emulator: RunningEmulator, mcp: Client
) -> None:
    emulator.hold()

    started = await mcp.call_tool("max_chat", {"message": "A slow question", "wait_s": 0.3})
    data = structured(started)
    cid = data["conversation_id"]
    emulator.release()
    finished = await call(mcp, "max_wait", conversation_id=cid, wait_s=30)

    assert data["status"] == "in_progress"
    assert f'call max_wait with conversation_id="{cid}"' in text(started)
    # Hosts that show only structured content still learn the next step and the data marker.
    assert data["next_step"] == "call max_wait with this conversation_id"
    assert "not instructions" in structured(finished)["note"]
    assert "next_step" not in structured(finished)
    assert structured(finished)["status"] == "completed"
    assert structured(finished)["reply"].startswith('Here is what I found for "A slow question"')


async def follow_ups_behind_a_running_reply(
    emulator: RunningEmulator, mcp: Client
) -> tuple[CallToolResult, CallToolResult]:
    """A second question running (held) when a third is sent; max_chat's answer to the third,
    and max_wait's once both ran."""
    cid = (await chat(mcp, "First question"))["conversation_id"]
    emulator.hold()
    await mcp.call_tool(
        "max_chat", {"message": "Second question", "conversation_id": cid, "wait_s": 0.2}
    )
    queued = await mcp.call_tool("max_chat", {"message": "Third question", "conversation_id": cid})
    emulator.release()
    return queued, await call(mcp, "max_wait", conversation_id=cid, wait_s=30)


async def test_max_chat_on_a_busy_conversation_queues_the_message(
    emulator: RunningEmulator, mcp: Client
) -> None:
    queued, done = await follow_ups_behind_a_running_reply(emulator, mcp)

    assert structured(queued)["status"] == "queued"
    assert structured(queued)["queue_position"] == 1
    assert "position 1 of at most 2" in text(queued)
    assert 'Here is what I found for "Third question"' in structured(done)["reply"]


async def test_max_wait_after_a_queued_follow_up_shows_both_questions_with_their_answers(
    emulator: RunningEmulator, mcp: Client
) -> None:
    _, done = await follow_ups_behind_a_running_reply(emulator, mcp)

    reply = structured(done)["reply"]
    assert reply.index("> Third question") > reply.index('Here is what I found for "Second')
    assert 'Here is what I found for "Third question"' in reply
    assert reply in text(done)


async def test_max_chat_when_the_queue_is_full_is_a_tool_error(
    emulator: RunningEmulator, mcp: Client
) -> None:
    cid = (await chat(mcp, "First"))["conversation_id"]
    emulator.hold()
    await mcp.call_tool("max_chat", {"message": "Running", "conversation_id": cid, "wait_s": 0.2})
    for n in range(2):
        await call(mcp, "max_queue_message", conversation_id=cid, message=f"queued {n}")

    full = await mcp.call_tool("max_chat", {"message": "One too many", "conversation_id": cid})
    emulator.release()

    assert full.is_error
    assert "2 queued follow-ups" in text(full) and "max_wait" in text(full)


@pytest.mark.parametrize("emulator_options", [{"rules": [Rule(match="fail", fail=True)]}])
async def test_a_failed_run_says_failed(mcp: Client) -> None:
    result = await mcp.call_tool("max_chat", {"message": "please fail"})

    assert structured(result)["status"] == "failed"
    assert structured(result)["failure"] == "Oops! Something went wrong. Please try again."
    assert "status: failed" in text(result)


async def test_a_client_that_cancels_the_call_detaches_and_the_run_goes_on(
    emulator: RunningEmulator, mcp: Client
) -> None:
    emulator.hold()
    seen = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.set()

    with anyio.move_on_after(10):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(
                lambda: mcp.call_tool(
                    "max_chat", {"message": "Detach me"}, progress_callback=on_progress
                )
            )
            await seen.wait()
            task_group.cancel_scope.cancel()
    running = emulator.running()
    emulator.release()
    done = await call(mcp, "max_wait", conversation_id=running[0], wait_s=30)

    assert len(running) == 1  # canceling the call did not cancel the run
    assert structured(done)["reply"].startswith('Here is what I found for "Detach me"')


# Bad arguments


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"message": "hi", "wait_s": 600}, "wait_s must be at most 55 (got 600)"),
        ({"message": ""}, "message must not be empty"),
        ({"message": 5}, "message must be text (got 5)"),
        ({}, "message is required"),
    ],
)
async def test_bad_max_chat_arguments_come_back_as_one_sentence_of_ours(
    mcp: Client, arguments: dict[str, Any], expected: str
) -> None:
    result = await mcp.call_tool("max_chat", arguments)

    assert result.is_error
    message = text(result)
    assert (
        f"Invalid arguments for max_chat: {expected}. Correct and call max_chat again." in message
    )
    for jargon in ("pydantic", "validation error", "Input should", "type=", "Arguments", "http"):
        assert jargon not in message


async def test_a_bad_limit_names_the_argument_and_its_range(mcp: Client) -> None:
    result = await call(mcp, "max_list_conversations", limit=0)

    assert result.is_error
    assert "limit must be at least 1 (got 0)" in text(result)
    assert "Input should" not in text(result)


# A server-side wait budget (hosts that cut tool calls short)


@pytest.mark.parametrize("server_options", [{"wait_s": 0.2}])
async def test_the_server_wait_budget_is_the_default_and_the_cap(
    emulator: RunningEmulator, mcp: Client
) -> None:
    emulator.hold()
    left_out = structured(await mcp.call_tool("max_chat", {"message": "Slow one"}))
    asked_more = structured(await mcp.call_tool("max_chat", {"message": "Slow two", "wait_s": 50}))
    emulator.release()

    # Both return within the server's budget (not the 45 s default, not the 50 s asked for),
    # with the id the model needs to follow up; the runs went on.
    assert left_out["status"] == asked_more["status"] == "in_progress"
    finished = await call(mcp, "max_wait", conversation_id=asked_more["conversation_id"])
    assert structured(finished)["reply"].startswith('Here is what I found for "Slow two"')
    # The published schema tells the model the real default.
    listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    assert listed["max_chat"].input_schema["properties"]["wait_s"]["default"] == 0.2


async def test_null_arguments_count_as_left_out(mcp: Client) -> None:
    # Some hosts send every optional argument, as null when the model gave none.
    result = await mcp.call_tool(
        "max_chat",
        {"message": "Nulls", "conversation_id": None, "agent_mode": None, "wait_s": None},
    )

    assert not result.is_error, text(result)
    assert structured(result)["status"] == "completed"


def test_max_mcp_refuses_a_wait_budget_out_of_range() -> None:
    from mcp_server.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--wait-s", "90"])
    assert exit_info.value.code == 2


def test_max_mcp_help_says_a_sign_in_replaces_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_server.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())

    assert exit_info.value.code == 0
    assert "without a key, the sign-in of max-tools login is used" in out


# Reading


async def test_max_list_conversations_is_compact(mcp: Client) -> None:
    ids = [(await chat(mcp, f"Question {n}"))["conversation_id"] for n in range(3)]

    result = await call(mcp, "max_list_conversations", limit=2)

    data = structured(result)
    assert [c["id"] for c in data["conversations"]] == [ids[2], ids[1]]
    assert data["count"] == 3 and data["next_offset"] == 2
    assert "more with offset=2" in text(result)
    assert "user" not in json.dumps(data) and "null" not in json.dumps(data)
    assert all(f"conversation_id: {cid}" in text(result) for cid in ids[1:])


async def test_max_get_conversation_shows_the_last_messages_and_counts_the_rest(
    mcp: Client,
) -> None:
    cid = (await chat(mcp, "First"))["conversation_id"]
    await chat(mcp, "Second", conversation_id=cid)

    result = await call(mcp, "max_get_conversation", conversation_id=cid, last_messages=3)

    data = structured(result)
    assert data["omitted"] == 5 and len(data["messages"]) == 3
    assert data["messages"][-1]["role"] == "assistant"
    assert "5 earlier messages left out" in text(result)
    assert "null" not in json.dumps(data)


@pytest.mark.parametrize(
    "emulator_options", [{"rules": [Rule(match="essay", reply="word " * 8_000, chunks=1)]}]
)
async def test_results_have_a_hard_size_cap_with_a_notice(mcp: Client) -> None:
    long_chat = await mcp.call_tool("max_chat", {"message": "write an essay"})
    cid = structured(long_chat)["conversation_id"]
    await chat(mcp, "write an essay again", conversation_id=cid)

    conversation = await call(mcp, "max_get_conversation", conversation_id=cid)

    assert structured(long_chat)["reply_truncated"] is True
    assert len(text(long_chat)) < 9_000
    assert len(text(conversation)) <= 12_000
    assert len(json.dumps(structured(conversation))) <= 14_000


async def test_the_transcript_resource_and_the_prompt(mcp: Client) -> None:
    cid = (await chat(mcp, "How many signups?"))["conversation_id"]

    templates = await mcp.list_resource_templates()
    transcript = await mcp.read_resource(TRANSCRIPT_URI.format(conversation_id=cid))
    prompt = await mcp.get_prompt("ask_max", {"question": "Which feature drives retention?"})

    assert [t.uri_template for t in templates.resource_templates] == [TRANSCRIPT_URI]
    markdown = transcript.contents[0].text  # type: ignore[union-attr]  # text content
    assert markdown.startswith("# How many signups\n") and "**user:** How many signups?" in markdown
    prompt_text = prompt.messages[0].content.text  # type: ignore[union-attr]  # text content
    assert "max_chat" in prompt_text and "Which feature drives retention?" in prompt_text


# Writing: append, cancel, queue, delete


async def test_append_cancel_queue_and_delete_tools(emulator: RunningEmulator, mcp: Client) -> None:
    cid = (await chat(mcp, "Base"))["conversation_id"]
    appended = await call(
        mcp, "max_append_message", conversation_id=cid, message="Ticket #7 opened."
    )
    emulator.hold()
    await mcp.call_tool("max_chat", {"message": "Running", "conversation_id": cid, "wait_s": 0.2})
    queued = await call(mcp, "max_queue_message", conversation_id=cid, message="later one")
    queue_id = structured(queued)["messages"][0]["queue_id"]
    await call(mcp, "max_queue_message", conversation_id=cid, message="later two")
    edited = await call(
        mcp,
        "max_update_queued_message",
        conversation_id=cid,
        queue_id=queue_id,
        message="later one, edited",
    )
    listed = await call(mcp, "max_list_queue", conversation_id=cid)
    removed = await call(mcp, "max_delete_queued_message", conversation_id=cid, queue_id=queue_id)
    cleared = await call(mcp, "max_clear_queue", conversation_id=cid)
    canceled = await call(mcp, "max_cancel", conversation_id=cid)
    emulator.release()
    after_cancel = await call(mcp, "max_wait", conversation_id=cid)
    deleted = await call(mcp, "max_delete_conversation", conversation_id=cid)
    gone = await call(mcp, "max_get_conversation", conversation_id=cid)

    assert structured(appended)["message_id"] and f"conversation_id: {cid}" in text(appended)
    assert [m["message"] for m in structured(edited)["messages"]] == [
        "later one, edited",
        "later two",
    ]
    assert f"queue_id: {queue_id}" in text(listed)
    assert [m["message"] for m in structured(removed)["messages"]] == ["later two"]
    assert structured(cleared)["messages"] == [] and "The queue is empty" in text(cleared)
    assert structured(canceled) == {"conversation_id": cid, "canceled": True}
    assert structured(after_cancel)["status"] == "canceled"
    assert structured(deleted) == {"conversation_id": cid, "deleted": True}
    assert gone.is_error and "Not found" in text(gone)


# Errors the model can act on


async def test_bad_ids_and_arguments_come_back_as_one_clear_tool_error(mcp: Client) -> None:
    bad_id = await call(mcp, "max_get_conversation", conversation_id="../../etc/passwd")
    bad_queue_id = await call(
        mcp,
        "max_delete_queued_message",
        conversation_id="6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77",
        queue_id="a/b",
    )
    blank = await call(mcp, "max_chat", message="   ")
    too_long_wait = await call(mcp, "max_chat", message="hi", wait_s=600)

    assert bad_id.is_error and "conversation_id must be a conversation id" in text(bad_id)
    assert bad_queue_id.is_error and "queue_id must be a queue_id" in text(bad_queue_id)
    assert blank.is_error and "message is empty" in text(blank)
    assert too_long_wait.is_error and "wait_s" in text(too_long_wait)


async def test_unknown_conversations_are_not_found(mcp: Client) -> None:
    result = await call(mcp, "max_wait", conversation_id="6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77")

    assert result.is_error
    assert "Not found" in text(result) and "max_list_conversations" in text(result)
    # The model cannot set environment variables: it is told where the project comes from.
    assert "the project this server acts in" in text(result)
    assert "x-posthog-project-id" in text(result)


async def test_rate_limits_say_when_to_retry(emulator: RunningEmulator, mcp: Client) -> None:
    await set_faults(emulator, status=429, retry_after=120, count=1)

    result = await call(mcp, "max_list_conversations")

    assert result.is_error and "retry in 120 s" in text(result)


@pytest.mark.parametrize("emulator_options", [{"scoped_keys": True}])
async def test_scoped_key_refusals_are_explained(mcp: Client) -> None:
    cid = (await chat(mcp, "Allowed"))["conversation_id"]

    result = await call(mcp, "max_cancel", conversation_id=cid)

    assert result.is_error and "personal API keys that have scopes" in text(result)


@pytest.mark.parametrize("emulator_options", [{"keys": ["phx_the_right_key"]}])
async def test_a_rejected_key_points_at_the_key_and_the_region(mcp: Client) -> None:
    result = await call(mcp, "max_list_conversations")

    assert result.is_error
    assert "POSTHOG_PERSONAL_API_KEY" in text(result) and "region" in text(result)
    assert DEFAULT_KEY not in text(result)


async def test_an_internal_failure_is_reported_briefly_and_logged(
    emulator: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncMaxClient(api_key=DEFAULT_KEY, host=emulator.url, project_id=1)
    await client.aclose()  # a closed client: httpx raises RuntimeError, a programming error
    async with Client(build_server(client)) as mcp:
        with caplog.at_level(logging.ERROR, logger="mcp_server"):
            result = await call(mcp, "max_list_conversations")
        healthy = await mcp.list_tools()

    assert result.is_error and "failed internally (RuntimeError)" in text(result)
    assert any(r.exc_info for r in caplog.records if r.name == "mcp_server")
    assert len(healthy.tools) == 15  # the server keeps serving


async def test_the_key_never_appears_in_any_result(emulator: RunningEmulator, mcp: Client) -> None:
    cid = (await chat(mcp, "Anything"))["conversation_id"]
    results = [
        await call(mcp, "max_get_conversation", conversation_id=cid),
        await call(mcp, "max_list_conversations"),
        await call(
            mcp, "max_get_conversation", conversation_id="6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"
        ),
    ]
    for result in results:
        assert DEFAULT_KEY not in result.model_dump_json()
