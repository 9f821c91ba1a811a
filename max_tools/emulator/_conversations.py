"""The conversation endpoints: list, retrieve, delete, and the stream that sends a message."""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from max_tools.emulator import _validation as v
from max_tools.emulator._backend import Backend
from max_tools.emulator._engine import OOPS, Turn, ai_message, human_message
from max_tools.emulator._interrupts import resume
from max_tools.emulator._responses import (
    SSE_HEADERS,
    canonical,
    json_response,
    not_found,
    read_body,
    validation_error,
)
from max_tools.emulator._sse import read_log
from max_tools.emulator._store import Row, Store, User
from max_tools.emulator._wire import compact_json, drf_error, frame, python_json

__all__ = [
    "SANDBOX_ACTION_DETAIL",
    "append_message",
    "cancel",
    "create",
    "destroy",
    "list_conversations",
    "open_sandbox",
    "own_row",
    "retrieve",
]

_LISTED_TYPES = ("assistant", "deep_research", "slack")
_CREATE_FIELDS = [
    ("content", v.char(max_length=40_000, allow_null=True), True),
    ("conversation", v.uuid_field, True),
    ("contextual_tools", v.dictionary, False),
    ("ui_context", v.any_json, False),
    ("billing_context", v.any_json, False),
    ("trace_id", v.uuid_field, True),
    ("session_id", v.char(max_length=1_000_000), False),
    ("agent_mode", v.choice(v.AGENT_MODES), False),
    ("is_sandbox", v.boolean, False),
    ("resume_payload", v.any_json, False),
]
_QUOTA_DETAIL = (
    "Your organization reached its AI credit usage limit. Increase the limits in "
    "Billing settings, or ask an org admin to do so."
)


def own_row(store: Store, conversation_id: str, user: User, team_id: int) -> Row | None:
    """DRF `get_object()` for every action but retrieve: own, this team, not deleted."""
    row = store.rows.get(canonical(conversation_id) or "")
    if row is None or row.deleted or row.user is not user or row.team_id != team_id:
        return None
    return row


def _on_own_row(
    action: Callable[[Backend, Request, Row], Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """The handler of an action on one of the caller's conversations: 404 for any other."""

    async def handle(
        app: Backend, request: Request, user: User, team_id: int, cid: str, *_: str
    ) -> Response:
        row = own_row(app.store, cid, user, team_id)
        return not_found() if row is None else await action(app, request, row)

    return handle


async def list_conversations(app: Backend, request: Request, user: User, team_id: int) -> Response:
    rows = [
        row
        for row in app.store.rows.values()
        if row.team_id == team_id
        and row.user is user
        and not row.deleted
        and row.title is not None
        and row.type in _LISTED_TYPES
        and not row.is_internal
    ]
    rows.sort(key=lambda row: row.updated_at, reverse=True)
    limit = _positive_int(request.query_params.get("limit"), default=100, strict=True)
    offset = _positive_int(request.query_params.get("offset"), default=0, strict=False)
    count = len(rows)
    url = str(request.url)
    next_url = None
    if offset + limit < count:
        next_url = _replace_query(url, limit=limit, offset=offset + limit)
    previous_url = None
    if offset > 0:
        previous_url = (
            _replace_query(url, limit=limit, offset=None)
            if offset - limit <= 0
            else _replace_query(url, limit=limit, offset=offset - limit)
        )
    page = {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [row.minimal() for row in rows[offset : offset + limit]],
    }
    return json_response(200, page)


async def retrieve(app: Backend, request: Request, user: User, team_id: int, cid: str) -> Response:
    row = app.store.rows.get(canonical(cid) or "")
    if (
        row is None
        or row.deleted
        or row.team_id != team_id
        or row.title is None
        or row.type not in _LISTED_TYPES
        or row.is_internal
        # A teammate's chat with a task needs that task visible to the caller (16.2): the
        # emulator's tasks are visible to their owner only.
        or (row.user is not user and row.task_object() is not None)
    ):
        return not_found()
    return json_response(200, row.full())


@_on_own_row
async def destroy(app: Backend, request: Request, row: Row) -> Response:
    row.deleted = True
    app.store.save()
    return Response(status_code=204)


async def create(app: Backend, request: Request, user: User, team_id: int) -> Response:
    """Send a message (a new run), reconnect to a running one, or resume an interrupted one."""
    try:
        body = await read_body(request)
    except v.FieldError as error:
        return json_response(400, drf_error("invalid_request", error.code, error.detail))
    faults = app.faults
    if faults.throttle:
        verdict = app.throttles.check(user.id, research=_is_research(app.store, body, team_id))
        if verdict is not None:
            wait, detail = verdict
            headers = {"Retry-After": str(math.ceil(wait))}
            return json_response(429, drf_error("throttled_error", "throttled", detail), headers)
    if faults.quota_exceeded:
        return json_response(402, drf_error("server_error", "quota_limit_exceeded", _QUOTA_DETAIL))
    try:
        data = v.validate(body, _CREATE_FIELDS)
    except v.FieldError as error:
        return validation_error(error)
    content: str | None = data["content"]
    if content is not None and not v.human_message_ok(data.get("ui_context")):
        return validation_error(v.FieldError("invalid_input", "Invalid message content.", None))

    found = _row_for(app.store, data, user, team_id)
    if isinstance(found, Response):
        return found
    row, is_new = found
    agent_mode: str | None = data.get("agent_mode")
    # Before the content and idle checks, so reconnects and resumes get it too (16.3).
    if row.agent_runtime == "sandbox" or data.get("is_sandbox") or agent_mode == "sandbox":
        detail = "Sandbox conversations must be opened via the open endpoint."
        return validation_error(v.FieldError("invalid_input", detail, None))
    resume_payload = data.get("resume_payload")
    idle = row.status == "idle"
    if (
        row.type == "deep_research"
        and not is_new
        and idle
        and content is not None
        and resume_payload is None
    ):
        row.type = "assistant"
        row.touch()
    if content is not None and not idle:
        detail = "Cannot resume streaming with a new message"
        return json_response(409, drf_error("server_error", "conflict", detail))
    if content is None and idle and resume_payload is None:
        detail = "Cannot continue streaming from an idle conversation"
        return validation_error(v.FieldError("invalid_input", detail, None))

    resumed = None
    if idle and resume_payload is not None:
        resumed = resume(row, resume_payload)
        if resumed is None:
            # The run fails before it starts: nothing is stored and the status stays idle (12.6).
            app.store.save()
            return StreamingResponse(iter([_failure_frame()]), headers=SSE_HEADERS)
    drop_after = faults.take_drop_after_events()
    if idle:
        trace_id: str = data["trace_id"]
        # PostHog's runner yields these inside the run, so they are in the run's stream and a
        # reconnect replays them with the same ids.
        opening: list[bytes] = []
        row.status = "in_progress"  # what the run's first `conversation` event shows
        if is_new:
            opening.append(frame("conversation", python_json(row.minimal())))
        if content is not None:
            echo = human_message(content, trace_id, data.get("ui_context"))
            row.messages.append(echo)
            opening.append(frame("message", compact_json(echo)))
        # PostHog's mirror copies the chat into a task after the turn (16.1), so a new
        # conversation's first `conversation` event still shows `task: null`. It copies
        # only assistant chats that are not internal (`amirror_conversation`).
        if app.faults.mirror_tasks and row.type == "assistant" and not row.is_internal:
            app.store.mirror(row)
        turn = Turn(
            content,
            trace_id,
            ui_context=data.get("ui_context"),
            agent_mode=agent_mode,
            resume=resumed,
        )
        log = app.engine.start(row, turn, opening)
        app.store.save()
    else:
        attached = app.engine.attach(row)
        if attached is None:
            return StreamingResponse(iter(()), status_code=200, headers=SSE_HEADERS)
        log = attached
    events = read_log(
        log,
        drop_after=drop_after,
        keepalive_s=app.keepalive_s,
        faults=faults,
    )
    return StreamingResponse(events, status_code=200, headers=SSE_HEADERS)


def _failure_frame() -> bytes:
    failure = {"content": OOPS, "id": str(uuid.uuid4()), "type": "ai/failure"}
    return frame("message", compact_json(failure))


def _row_for(
    store: Store, data: dict[str, Any], user: User, team_id: int
) -> tuple[Row, bool] | Response:
    """The conversation a POST names, made when new; and whether it is new."""
    cid: str = data["conversation"]
    row = store.rows.get(cid)
    if row is not None:
        if row.user is not user or row.team_id != team_id:
            return json_response(400, {"error": "Cannot access other users' conversations"})
        if row.deleted:
            return json_response(404, {"error": "Conversation does not exist"})
        return row, False
    if data["content"] is None:
        return json_response(400, {"error": "Cannot stream from non-existent conversation"})
    research = data.get("agent_mode") == "research"
    row = Row(id=cid, user=user, team_id=team_id, type="deep_research" if research else "assistant")
    store.rows[cid] = row
    return row, True


def _is_research(store: Store, body: Any, team_id: int) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("agent_mode") == "research":
        return True
    row = store.rows.get(canonical(str(body.get("conversation", ""))) or "")
    return (
        row is not None
        and not row.deleted
        and row.team_id == team_id
        and row.type == "deep_research"
    )


SANDBOX_ACTION_DETAIL = "This conversation is on the sandbox runtime."
"""The emulator's answer to append and cancel on a moved conversation: PostHog's is not
established (reference 16.3 [U]); a DRF validation error like `open`'s mirror image."""


def _on_sandbox(row: Row) -> Response | None:
    if row.agent_runtime != "sandbox":
        return None
    return validation_error(v.FieldError("invalid_input", SANDBOX_ACTION_DETAIL, None))


@_on_own_row
async def append_message(app: Backend, request: Request, row: Row) -> Response:
    if (refused := _on_sandbox(row)) is not None:
        return refused
    try:
        data = v.validate(await read_body(request), [("content", v.char(max_length=10_000), True)])
    except v.FieldError as error:
        return validation_error(error)
    if app.faults.take("action_failure"):
        return json_response(422, {"error": "Failed to append message"})
    message_id = str(uuid.uuid4())
    row.messages.append(ai_message(data["content"], message_id))
    app.store.save()
    return json_response(201, {"id": message_id})


@_on_own_row
async def cancel(app: Backend, request: Request, row: Row) -> Response:
    if (refused := _on_sandbox(row)) is not None:
        return refused
    if row.status != "canceling":
        app.engine.cancel(row)
        if app.faults.take("action_failure"):  # PostHog still leaves the row idle
            return json_response(422, {"error": "Failed to cancel conversation"})
    return Response(status_code=204)


async def open_sandbox(
    app: Backend, request: Request, user: User, team_id: int, cid: str, _: str
) -> Response:
    detail = "This conversation is not on the sandbox runtime."
    return validation_error(v.FieldError("invalid_input", detail, None))


def _positive_int(raw: str | None, *, default: int, strict: bool) -> int:
    """DRF's `_positive_int`: bad or (when strict) zero values fall back to the default."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return value


def _replace_query(url: str, *, limit: int, offset: int | None) -> str:
    """DRF's replace/remove_query_param: sorted query, absolute URL."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["limit"] = str(limit)
    if offset is None:
        query.pop("offset", None)
    else:
        query["offset"] = str(offset)
    return urlunsplit(parts._replace(query=urlencode(sorted(query.items()))))
