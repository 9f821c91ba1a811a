"""Every endpoint: the request we send and how each documented answer is read (reference §4, §7)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from max_tools import (
    AIMessage,
    APIConnectionError,
    APIError,
    ConversationStatus,
    HumanMessage,
    NotFoundError,
    QueueFullError,
    QueueNotRunningError,
    ToolResultMessage,
    UnknownMessage,
    VisualizationMessage,
)
from tests.fake_posthog import (
    BASE,
    CID,
    KEY,
    FakePostHog,
    conversation_row,
    json_response,
    stored_conversation,
)

QID = "3f7c2a9e-1d7b-4c1e-9a55-0b8f2e6d4c10"


def queue_item(content: str = "and split by country?", qid: str = QID) -> dict[str, Any]:
    return {
        "id": qid,
        "content": content,
        "created_at": "2025-06-02T09:14:20.118532+00:00",
        "contextual_tools": None,
        "ui_context": None,
        "billing_context": None,
        "agent_mode": None,
        "session_id": None,
    }


def queue(*items: dict[str, Any]) -> dict[str, Any]:
    return {"messages": list(items), "max_queue_messages": 2}


FULL_USER = {
    "id": 1,
    "uuid": "u",
    "distinct_id": "d",
    "first_name": "A",
    "last_name": "",
    "email": "a@x",
    "is_email_verified": True,
    "hedgehog_config": None,
    "role_at_organization": None,
}


def list_item(cid: str, title: str) -> dict[str, Any]:
    return conversation_row(cid, title=title, user=FULL_USER)


def only_request(posthog: FakePostHog) -> httpx.Request:
    assert len(posthog.requests) == 1
    return posthog.requests[0]


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


async def test_every_request_carries_the_bearer_key_and_a_user_agent(posthog: FakePostHog) -> None:
    posthog.on(
        "GET", "", json_response(200, {"count": 0, "next": None, "previous": None, "results": []})
    )

    async with posthog.client() as client:
        await client.list_conversations()

    request = only_request(posthog)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["User-Agent"].startswith("max-tools/")
    assert request.headers["Accept"] == "application/json"
    assert request.url.host == "us.posthog.com" and request.url.scheme == "https"


async def test_list_conversations_sends_limit_and_offset_and_reads_the_page(
    posthog: FakePostHog,
) -> None:
    page = {
        "count": 3,
        "next": f"https://us.posthog.com{BASE}?limit=1&offset=2",
        "previous": f"https://us.posthog.com{BASE}?limit=1",
        "results": [list_item(CID, "Weekly signups")],
    }
    posthog.on("GET", "", json_response(200, page))

    async with posthog.client() as client:
        result = await client.list_conversations(limit=1, offset=1)

    request = only_request(posthog)
    assert request.url.path == BASE
    assert dict(request.url.params) == {"limit": "1", "offset": "1"}
    assert result.count == 3 and result.next == page["next"]
    assert result.results[0].title == "Weekly signups"
    assert result.results[0].status == ConversationStatus.IDLE
    assert result.results[0].user is not None and result.results[0].user.email == "a@x"


async def test_iter_conversations_walks_every_page_by_offset(posthog: FakePostHog) -> None:
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]

    def pages(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        chunk = ids[offset : offset + limit]
        more = offset + limit < len(ids)
        return json_response(
            200,
            {
                "count": len(ids),
                "next": f"https://evil.example{BASE}?offset=99" if more else None,
                "previous": None,
                "results": [list_item(i, f"t{i}") for i in chunk],
            },
        )

    posthog.on("GET", "", pages)

    async with posthog.client() as client:
        seen = [c.id async for c in client.iter_conversations(page_size=2)]

    assert seen == ids
    assert [r.url.params["offset"] for r in posthog.requests] == ["0", "2", "4"]
    assert {r.url.host for r in posthog.requests} == {"us.posthog.com"}  # never follows `next`


@pytest.mark.parametrize(("limit", "offset"), [(0, None), (None, -1), (True, None), ("5", None)])
async def test_list_conversations_refuses_bad_paging(
    posthog: FakePostHog, limit: Any, offset: Any
) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="whole number"):
            await client.list_conversations(limit=limit, offset=offset)


async def test_get_conversation_reads_typed_messages_with_nulls(posthog: FakePostHog) -> None:
    messages: list[dict[str, Any]] = [
        {
            "content": "How many?",
            "id": "h1",
            "parent_tool_call_id": None,
            "trace_id": "t",
            "type": "human",
            "ui_context": None,
        },
        {
            "content": "Looking",
            "id": "a1",
            "meta": None,
            "parent_tool_call_id": None,
            "type": "ai",
            "tool_calls": [{"id": "c1", "name": "create_insight", "args": {}, "type": "tool_call"}],
        },
        {
            "content": "done",
            "id": "t1",
            "tool_call_id": "c1",
            "type": "tool",
            "ui_payload": {"x": 1},
        },
        {
            "answer": {"kind": "TrendsQuery"},
            "id": "v1",
            "initiator": None,
            "plan": None,
            "query": "",
            "short_id": None,
            "type": "ai/viz",
        },
        {"id": "z1", "type": "ai/hologram", "beam": 3},
        {"content": "1,204", "id": "a2", "meta": None, "type": "ai", "tool_calls": []},
    ]
    posthog.on("GET", f"{CID}/", json_response(200, stored_conversation(messages)))

    async with posthog.client() as client:
        conversation = await client.get_conversation(CID.upper())

    assert only_request(posthog).url.path == f"{BASE}{CID}/"
    kinds = [type(m) for m in conversation.messages]
    assert kinds == [
        HumanMessage,
        AIMessage,
        ToolResultMessage,
        VisualizationMessage,
        UnknownMessage,
        AIMessage,
    ]
    assert conversation.title == "Signups" and conversation.agent_mode == "product_analytics"
    assert not conversation.is_running
    assert conversation.pending_approvals == []


async def test_get_conversation_tolerates_a_minimal_older_shape(posthog: FakePostHog) -> None:
    posthog.on(
        "GET",
        f"{CID}/",
        json_response(200, {"id": CID, "status": "in_progress", "title": "x", "messages": []}),
    )

    async with posthog.client() as client:
        conversation = await client.get_conversation(CID)

    assert conversation.is_running


async def test_append_message_posts_content_and_returns_the_new_id(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/append_message/", json_response(201, {"id": "m-new"}))

    async with posthog.client() as client:
        new_id = await client.append_message(CID, "Ticket #12 created.")

    request = only_request(posthog)
    assert body_of(request) == {"content": "Ticket #12 created."}
    assert new_id == "m-new"


async def test_append_message_refuses_more_than_ten_thousand_characters(
    posthog: FakePostHog,
) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="10,000"):
            await client.append_message(CID, "x" * 10_001)
    assert posthog.requests == []


async def test_cancel_patches_without_a_body_and_accepts_204(posthog: FakePostHog) -> None:
    posthog.on("PATCH", f"{CID}/cancel/", httpx.Response(204))

    async with posthog.client() as client:
        await client.cancel(CID)

    request = only_request(posthog)
    assert request.method == "PATCH" and request.content == b""


async def test_delete_conversation_answers_204(posthog: FakePostHog) -> None:
    posthog.on("DELETE", f"{CID}/", httpx.Response(204))

    async with posthog.client() as client:
        await client.delete_conversation(CID)

    assert only_request(posthog).url.path == f"{BASE}{CID}/"


async def test_a_repeated_delete_that_finds_nothing_means_the_first_one_landed(
    posthog: FakePostHog,
) -> None:
    posthog.on(
        "DELETE", f"{CID}/", httpx.ReadError("reset"), json_response(404, {"detail": "Not found."})
    )

    async with posthog.client() as client:
        await client.delete_conversation(CID)

    assert len(posthog.requests) == 2


async def test_deleting_a_conversation_that_is_not_there_is_not_found(posthog: FakePostHog) -> None:
    posthog.on("DELETE", f"{CID}/", json_response(404, {"detail": "Not found."}))

    async with posthog.client() as client:
        with pytest.raises(NotFoundError):
            await client.delete_conversation(CID)


async def test_get_queue_reads_items_with_every_key(posthog: FakePostHog) -> None:
    posthog.on("GET", f"{CID}/queue/", json_response(200, queue(queue_item())))

    async with posthog.client() as client:
        result = await client.get_queue(CID)

    assert only_request(posthog).url.path == f"{BASE}{CID}/queue/"
    assert result.max_queue_messages == 2
    assert result.messages[0].id == QID and result.messages[0].content == "and split by country?"
    assert (
        result.messages[0].created_at is not None
        and result.messages[0].created_at.utcoffset() is not None
    )


async def test_queue_message_posts_content_and_options(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/queue/", json_response(200, queue(queue_item())))

    async with posthog.client() as client:
        result = await client.queue_message(CID, "and split by country?", agent_mode="sql")

    assert body_of(only_request(posthog)) == {
        "content": "and split by country?",
        "agent_mode": "sql",
    }
    assert len(result.messages) == 1


async def test_a_full_queue_is_queue_full(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        f"{CID}/queue/",
        json_response(
            409, {"error": "queue_full", "detail": "Only two messages can be queued at a time."}
        ),
    )

    async with posthog.client() as client:
        with pytest.raises(QueueFullError, match="Only two messages") as caught:
            await client.queue_message(CID, "third")

    assert caught.value.code == "queue_full"
    assert len(posthog.requests) == 1


async def test_queueing_when_nothing_runs_says_to_send_instead(posthog: FakePostHog) -> None:
    posthog.on(
        "POST", f"{CID}/queue/", json_response(409, {"error": "not_running", "detail": "No run."})
    )

    async with posthog.client() as client:
        with pytest.raises(QueueNotRunningError, match="send it as a new message"):
            await client.queue_message(CID, "later")


async def test_enqueue_is_not_repeated_when_it_may_have_landed(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/queue/", httpx.ReadError("reset"))

    async with posthog.client() as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.queue_message(CID, "once")

    assert caught.value.request_sent is True
    assert len(posthog.requests) == 1


async def test_update_queued_message_patches_the_content_only(posthog: FakePostHog) -> None:
    posthog.on("PATCH", f"{CID}/queue/{QID}/", json_response(200, queue(queue_item("by region?"))))

    async with posthog.client() as client:
        result = await client.update_queued_message(CID, QID, "by region?")

    assert body_of(only_request(posthog)) == {"content": "by region?"}
    assert result.messages[0].content == "by region?"


async def test_delete_queued_message_answers_200_with_the_queue(posthog: FakePostHog) -> None:
    posthog.on("DELETE", f"{CID}/queue/{QID}/", json_response(200, queue()))

    async with posthog.client() as client:
        result = await client.delete_queued_message(CID, QID)

    assert result.messages == []


async def test_a_repeated_queue_delete_that_finds_nothing_returns_the_queue(
    posthog: FakePostHog,
) -> None:
    posthog.on(
        "DELETE",
        f"{CID}/queue/{QID}/",
        httpx.ReadError("reset"),
        json_response(404, {"detail": "Queue message not found."}),
    )
    posthog.on("GET", f"{CID}/queue/", json_response(200, queue()))

    async with posthog.client() as client:
        result = await client.delete_queued_message(CID, QID)

    assert result.messages == []
    assert [r.method for r in posthog.requests] == ["DELETE", "DELETE", "GET"]


async def test_an_unknown_queue_item_is_not_found(posthog: FakePostHog) -> None:
    posthog.on(
        "PATCH", f"{CID}/queue/{QID}/", json_response(404, {"detail": "Queue message not found."})
    )

    async with posthog.client() as client:
        with pytest.raises(NotFoundError, match="Queue message not found"):
            await client.update_queued_message(CID, QID, "x")


async def test_clear_queue_posts_to_clear(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/queue/clear/", json_response(200, queue()))

    async with posthog.client() as client:
        result = await client.clear_queue(CID)

    request = only_request(posthog)
    assert request.url.path == f"{BASE}{CID}/queue/clear/" and request.content == b""
    assert result.messages == []


@pytest.mark.parametrize("bad", ["../x", "a/b", "a.b", "", "%2e%2e", "x" * 200, "\x1b", "a b", "é"])
async def test_path_like_queue_ids_are_refused(posthog: FakePostHog, bad: str) -> None:
    async with posthog.client() as client:
        with pytest.raises(ValueError, match="queue_id"):
            await client.delete_queued_message(CID, bad)
    assert posthog.requests == []


async def test_a_success_that_is_not_json_is_a_clear_error(posthog: FakePostHog) -> None:
    posthog.on("GET", f"{CID}/queue/", httpx.Response(200, text="<html>Sign in</html>"))

    async with posthog.client() as client:
        with pytest.raises(APIError, match="POSTHOG_HOST points at PostHog"):
            await client.get_queue(CID)


async def test_the_current_project_builds_the_environments_url(posthog: FakePostHog) -> None:
    async with posthog.client(project_id="@current") as client:
        assert (
            client.settings.api_base
            == "https://us.posthog.com/api/environments/@current/conversations/"
        )
