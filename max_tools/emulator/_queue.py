"""The queue endpoints: follow-ups waiting for the running run, as PostHog's cache holds them."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator import _validation as v
from max_tools.emulator._backend import Backend
from max_tools.emulator._responses import canonical, json_response, read_body, validation_error
from max_tools.emulator._store import MAX_QUEUE_MESSAGES, Row, Store, User
from max_tools.emulator._wire import drf_error, utcnow

__all__ = ["NOT_RUNNING_DETAIL", "clear_queue", "queue", "queue_item"]

NOT_RUNNING_DETAIL = (
    "No run of this conversation is active, so a queued message would never be sent; send it as "
    "a new message instead."
)
_QUEUE_FIELDS = [
    ("content", v.char(max_length=40_000), True),
    ("contextual_tools", v.dictionary, False),
    ("ui_context", v.any_json, False),
    ("billing_context", v.any_json, False),
    ("agent_mode", v.choice(v.AGENT_MODES), False),
]


def _queue_row(store: Store, cid: str, user: User, team_id: int) -> Row | Response:
    found = canonical(cid)
    if found is None:  # Django's ValidationError escapes the view: a plain 500
        return json_response(500, drf_error("server_error", "error", "A server error occurred."))
    row = store.rows.get(found)
    if row is None or row.deleted:
        return json_response(404, {"error": "Conversation not found"})
    if row.user is not user or row.team_id != team_id:
        return json_response(403, {"error": "Cannot access other users' conversations"})
    return row


def _queue_body(row: Row) -> Response:
    return json_response(200, {"messages": row.queue, "max_queue_messages": MAX_QUEUE_MESSAGES})


async def queue(
    app: Backend, request: Request, user: User, team_id: int, cid: str, _: str
) -> Response:
    row = _queue_row(app.store, cid, user, team_id)
    if isinstance(row, Response):
        return row
    if request.method == "GET":
        return _queue_body(row)
    try:
        data = v.validate(await read_body(request), _QUEUE_FIELDS)
    except v.FieldError as error:
        return validation_error(error)
    if not v.human_message_ok(data.get("ui_context")):
        return validation_error(v.FieldError("invalid_input", "Invalid message content.", None))
    # A moved conversation has no LangGraph run left to drain its queue (16.3).
    if (app.engine.queue_drain and row.drain_closed) or row.agent_runtime == "sandbox":
        return json_response(409, {"error": "not_running", "detail": NOT_RUNNING_DETAIL})
    if len(row.queue) >= MAX_QUEUE_MESSAGES:
        detail = "Only two messages can be queued at a time."
        return json_response(409, {"error": "queue_full", "detail": detail})
    billing = data.get("billing_context")
    row.queue.append(
        {
            "id": str(uuid.uuid4()),
            "content": data["content"],
            "created_at": utcnow().isoformat(),
            "contextual_tools": data.get("contextual_tools"),
            "ui_context": data.get("ui_context"),
            "billing_context": billing if isinstance(billing, dict) and billing else None,
            "agent_mode": data.get("agent_mode"),
            "session_id": request.headers.get("x-posthog-session-id"),
        }
    )
    return _queue_body(row)


async def queue_item(
    app: Backend, request: Request, user: User, team_id: int, cid: str, _: str, queue_id: str
) -> Response:
    row = _queue_row(app.store, cid, user, team_id)
    if isinstance(row, Response):
        return row
    item = next((item for item in row.queue if item["id"] == queue_id), None)
    if item is None:
        return json_response(404, {"detail": "Queue message not found."})
    if request.method == "DELETE":
        row.queue.remove(item)
        return _queue_body(row)
    try:
        data = v.validate(await read_body(request), [("content", v.char(max_length=40_000), True)])
    except v.FieldError as error:
        return validation_error(error)
    item["content"] = data["content"]
    return _queue_body(row)


async def clear_queue(
    app: Backend, request: Request, user: User, team_id: int, cid: str, *_: str
) -> Response:
    row = _queue_row(app.store, cid, user, team_id)
    if isinstance(row, Response):
        return row
    row.queue.clear()
    return _queue_body(row)
