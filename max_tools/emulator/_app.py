"""The emulator's ASGI app: PostHog's conversations API, plus a control API for faults."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from max_tools.emulator import _validation as v
from max_tools.emulator._agent import Rule
from max_tools.emulator._engine import Engine, RunLog, Turn, ai_message, human_message
from max_tools.emulator._store import MAX_QUEUE_MESSAGES, Row, Store, User
from max_tools.emulator._throttle import Throttles
from max_tools.emulator._wire import KEEPALIVE, compact_json, drf_error, frame, python_json, utcnow

__all__ = ["EmulatorApp"]

_API = re.compile(
    r"/api/(?:environments|projects)/(?P<project>[^/]+)/conversations(?:/(?P<rest>.*?))?/?"
)
_LISTED_TYPES = ("assistant", "deep_research", "slack")
_SCOPED_ACTIONS = frozenset(
    {"append_message", "cancel", "queue", "queue_item", "clear_queue", "open"}
)
_SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}
_APP_FLAGS = frozenset({"scoped_keys", "quota_exceeded", "throttle", "trim_on_disconnect"})
"""Switches that stay as set: attributes of the app."""
_NEXT_RUN_FLAGS = frozenset({"unknown_events", "action_failure", "garble_utf8"})
"""Switches that act once, on what comes next: attributes of `Faults`."""
_FLAGS = (*sorted(_APP_FLAGS), *sorted(_NEXT_RUN_FLAGS), "hold")
NOT_RUNNING_DETAIL = (
    "No run of this conversation is active, so a queued message would never be sent; send it as "
    "a new message instead."
)


class _DropConnection(Exception):
    """Raised inside a streaming body to cut the connection without ending the response."""


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _not_found() -> Response:
    return _json(404, drf_error("invalid_request", "not_found", "Not found."))


def _validation_error(error: v.FieldError) -> Response:
    return _json(400, drf_error("validation_error", error.code, error.detail, error.attr))


class EmulatorApp:
    """PostHog AI's conversations API, emulated (an ASGI app; serve it with lifespan on).

    Args:
        rules: the scripted agent's rules (see `load_rules`).
        keys: personal API keys to accept; by default any key starting with ``phx_``.
        project_ids: numeric project ids that exist; by default any number.
        current_project_id: the project ``@current`` stands for.
        keepalive_s: seconds of silence before a ``: keepalive`` comment (PostHog: 15).
        throttle: apply PostHog's AI rate limits to sending messages.
        quota_exceeded: answer 402 to every message, as when AI credits run out.
        scoped_keys: refuse the actions PostHog refuses to scoped personal API keys (403).
        queue_drain: the newest PostHog's "not_running" refusal of queueing when idle.
        trim_on_disconnect: a reconnect replays only what was written after the previous
            reader left, as PostHog does once it deleted the run's Redis stream (by default a
            reconnect replays the run from its start).
        state_file: a JSON file that keeps conversations across restarts.
        delay_s: seconds between streamed steps for every rule (default: each rule's
            ``delay_s``); tests use 0.
        clock: monotonic seconds, for the throttles (tests pass a fake one).
    """

    def __init__(
        self,
        *,
        rules: Sequence[Rule] = (),
        keys: Sequence[str] | None = None,
        project_ids: Sequence[int] | None = None,
        current_project_id: int = 1,
        keepalive_s: float = 15.0,
        throttle: bool = False,
        quota_exceeded: bool = False,
        scoped_keys: bool = False,
        queue_drain: bool = False,
        trim_on_disconnect: bool = False,
        state_file: str | Path | None = None,
        delay_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = Store(state_file)
        self.engine = Engine(self.store, rules, queue_drain=queue_drain, delay_s=delay_s)
        self.keys = frozenset(keys) if keys is not None else None
        self.project_ids = frozenset(project_ids) if project_ids is not None else None
        self.current_project_id = current_project_id
        self.keepalive_s = keepalive_s
        self.throttle = throttle
        self.quota_exceeded = quota_exceeded
        self.scoped_keys = scoped_keys
        self.trim_on_disconnect = trim_on_disconnect
        self.throttles = Throttles(clock)
        self.started = anyio.Event()
        self.connections_seen: set[tuple[str, int]] = set()
        """Client (address, port) pairs that sent requests: one per connection opened."""
        self.requests_in_flight = 0
        self.peak_requests_in_flight = 0
        """The most HTTP requests that were being served at the same moment."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = scope.get("client")
        if client:
            self.connections_seen.add((str(client[0]), int(client[1])))
        self.requests_in_flight += 1
        self.peak_requests_in_flight = max(self.peak_requests_in_flight, self.requests_in_flight)
        try:
            request = Request(scope, receive)
            response = await self._dispatch(request)
            await response(scope, receive, send)
        finally:
            self.requests_in_flight -= 1

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        async with self.engine.running():
            await send({"type": "lifespan.startup.complete"})
            self.started.set()
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})

    # Dispatch

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/_emulator/"):
            return await self._control(request)
        matched = _API.fullmatch(path)
        if matched is None:
            return _not_found()
        faults = self.engine.faults
        if faults.statuses:
            status, retry_after = faults.statuses.pop(0)
            return _fault_response(status, retry_after)
        user = self._authenticate(request)
        if isinstance(user, Response):
            return user
        team_id = self._team(matched["project"])
        if team_id is None:
            return _json(404, drf_error("invalid_request", "not_found", "Project not found."))
        parts = [part for part in (matched["rest"] or "").split("/") if part]
        method = request.method
        action, allowed = self._route(parts, method)
        if action is None:
            return _not_found()
        if method not in allowed:
            detail = f'Method "{method}" not allowed.'
            return _json(405, drf_error("invalid_request", "method_not_allowed", detail))
        if self.scoped_keys and action in _SCOPED_ACTIONS:
            detail = "This action does not support Personal API Key access"
            return _json(403, drf_error("authentication_error", "permission_denied", detail))
        handler: Callable[..., Awaitable[Response]] = getattr(self, f"_{action}")
        return await handler(request, user, team_id, *parts)

    @staticmethod
    def _route(parts: list[str], method: str) -> tuple[str | None, tuple[str, ...]]:
        if not parts:
            return ("list" if method == "GET" else "create"), ("GET", "POST")
        if len(parts) == 1:
            return ("retrieve" if method == "GET" else "destroy"), ("GET", "DELETE")
        if len(parts) == 2:
            return {
                "append_message": ("append_message", ("POST",)),
                "cancel": ("cancel", ("PATCH",)),
                "queue": ("queue", ("GET", "POST")),
                "open": ("open", ("POST",)),
            }.get(parts[1], (None, ()))
        if len(parts) == 3 and parts[1] == "queue":
            if parts[2] == "clear":
                return "clear_queue", ("POST",)
            if "." not in parts[2]:
                return "queue_item", ("PATCH", "DELETE")
        return None, ()

    def _authenticate(self, request: Request) -> User | Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
        key = key or request.query_params.get("personal_api_key", "")
        if not key:
            detail = "Authentication credentials were not provided."
            return _json(401, drf_error("authentication_error", "not_authenticated", detail))
        valid = key in self.keys if self.keys is not None else key.startswith("phx_")
        if not valid:
            detail = "Personal API key found in request Authorization header is invalid."
            return _json(401, drf_error("authentication_error", "authentication_failed", detail))
        return self.store.user_for(key)

    def _team(self, project: str) -> int | None:
        if project == "@current":
            return self.current_project_id
        if not project.isdigit():
            return None
        number = int(project)
        if self.project_ids is not None and number not in self.project_ids:
            return None
        return number

    # Helpers

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise v.FieldError("parse_error", f"JSON parse error - {exc}", None) from exc

    def _own(self, conversation_id: str, user: User, team_id: int) -> Row | None:
        """DRF `get_object()` for every action but retrieve: own, this team, not deleted."""
        row = self.store.rows.get(_canonical(conversation_id) or "")
        if row is None or row.deleted or row.user is not user or row.team_id != team_id:
            return None
        return row

    # Endpoints

    async def _list(self, request: Request, user: User, team_id: int) -> Response:
        rows = [
            row
            for row in self.store.rows.values()
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
        return _json(200, page)

    async def _retrieve(self, request: Request, user: User, team_id: int, cid: str) -> Response:
        row = self.store.rows.get(_canonical(cid) or "")
        if (
            row is None
            or row.deleted
            or row.team_id != team_id
            or row.title is None
            or row.type not in _LISTED_TYPES
            or row.is_internal
        ):
            return _not_found()
        return _json(200, row.full())

    async def _destroy(self, request: Request, user: User, team_id: int, cid: str) -> Response:
        row = self._own(cid, user, team_id)
        if row is None:
            return _not_found()
        row.deleted = True
        self.store.save()
        return Response(status_code=204)

    async def _create(self, request: Request, user: User, team_id: int) -> Response:
        try:
            body = await self._body(request)
        except v.FieldError as error:
            return _json(400, drf_error("invalid_request", error.code, error.detail))
        if self.throttle:
            verdict = self.throttles.check(user.id, research=self._is_research(body, team_id))
            if verdict is not None:
                wait, detail = verdict
                headers = {"Retry-After": str(math.ceil(wait))}
                return _json(429, drf_error("throttled_error", "throttled", detail), headers)
        if self.quota_exceeded:
            detail = (
                "Your organization reached its AI credit usage limit. Increase the limits in "
                "Billing settings, or ask an org admin to do so."
            )
            return _json(402, drf_error("server_error", "quota_limit_exceeded", detail))
        try:
            data = v.validate(
                body,
                [
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
                ],
            )
        except v.FieldError as error:
            return _validation_error(error)
        content: str | None = data["content"]
        if content is not None and not v.human_message_ok(data.get("ui_context")):
            return _validation_error(
                v.FieldError("invalid_input", "Invalid message content.", None)
            )

        cid: str = data["conversation"]
        agent_mode: str | None = data.get("agent_mode")
        row = self.store.rows.get(cid)
        is_new = False
        if row is not None:
            if row.user is not user or row.team_id != team_id:
                return _json(400, {"error": "Cannot access other users' conversations"})
            if row.deleted:
                return _json(404, {"error": "Conversation does not exist"})
        else:
            if content is None:
                return _json(400, {"error": "Cannot stream from non-existent conversation"})
            row = Row(
                id=cid,
                user=user,
                team_id=team_id,
                type="deep_research" if agent_mode == "research" else "assistant",
            )
            self.store.rows[cid] = row
            is_new = True
        if data.get("is_sandbox") or agent_mode == "sandbox":
            detail = "Sandbox conversations must be opened via the open endpoint."
            return _validation_error(v.FieldError("invalid_input", detail, None))
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
            return _json(409, drf_error("server_error", "conflict", detail))
        if content is None and idle and resume_payload is None:
            detail = "Cannot continue streaming from an idle conversation"
            return _validation_error(v.FieldError("invalid_input", detail, None))

        prefix: list[bytes] = []
        log: RunLog | None
        if idle:
            trace_id: str = data["trace_id"]
            echo = None
            if content is not None:
                echo = human_message(content, trace_id, data.get("ui_context"))
                row.messages.append(echo)
            turn = Turn(content, trace_id, ui_context=data.get("ui_context"), agent_mode=agent_mode)
            log = self.engine.start(row, turn)
            if is_new:
                prefix.append(frame("conversation", python_json(row.minimal())))
            if echo is not None:
                prefix.append(frame("message", compact_json(echo)))
            self.store.save()
        else:
            log = self.engine.attach(row)
        drop, self.engine.faults.drop_after_events = self.engine.faults.drop_after_events, None
        body_iter = self._sse(prefix, log, drop)
        return StreamingResponse(body_iter, status_code=200, headers=_SSE_HEADERS)

    def _is_research(self, body: Any, team_id: int) -> bool:
        if not isinstance(body, dict):
            return False
        if body.get("agent_mode") == "research":
            return True
        row = self.store.rows.get(_canonical(str(body.get("conversation", ""))) or "")
        return (
            row is not None
            and not row.deleted
            and row.team_id == team_id
            and row.type == "deep_research"
        )

    async def _sse(
        self, prefix: list[bytes], log: RunLog | None, drop_after: int | None
    ) -> AsyncIterator[bytes]:
        sent = 0
        for item in prefix:
            yield item
            sent += 1
            if drop_after is not None and sent >= drop_after:
                raise _DropConnection
        if log is None:
            return
        log.readers += 1
        index = log.start
        try:
            while True:
                if index < len(log.frames):
                    yield log.frames[index]
                    index += 1
                    sent += 1
                    if drop_after is not None and sent >= drop_after:
                        raise _DropConnection
                elif log.done:
                    return
                elif not await log.wait_past(index, self.keepalive_s):
                    yield KEEPALIVE
        finally:
            log.readers -= 1
            if self.trim_on_disconnect:
                # PostHog deletes a run's Redis stream when a reader finishes, so a reconnect
                # sees only what was written after this reader left.
                log.start = max(log.start, index)

    async def _append_message(
        self, request: Request, user: User, team_id: int, cid: str, _: str
    ) -> Response:
        row = self._own(cid, user, team_id)
        if row is None:
            return _not_found()
        try:
            data = v.validate(
                await self._body(request), [("content", v.char(max_length=10_000), True)]
            )
        except v.FieldError as error:
            return _validation_error(error)
        if self._take_action_failure():
            return _json(422, {"error": "Failed to append message"})
        message_id = str(uuid.uuid4())
        row.messages.append(ai_message(data["content"], message_id))
        self.store.save()
        return _json(201, {"id": message_id})

    async def _cancel(
        self, request: Request, user: User, team_id: int, cid: str, _: str
    ) -> Response:
        row = self._own(cid, user, team_id)
        if row is None:
            return _not_found()
        if row.status != "canceling":
            self.engine.cancel(row)
            if self._take_action_failure():  # PostHog still leaves the row idle
                return _json(422, {"error": "Failed to cancel conversation"})
        return Response(status_code=204)

    def _take_action_failure(self) -> bool:
        failing, self.engine.faults.action_failure = self.engine.faults.action_failure, False
        return failing

    async def _open(self, request: Request, user: User, team_id: int, cid: str, _: str) -> Response:
        detail = "This conversation is not on the sandbox runtime."
        return _validation_error(v.FieldError("invalid_input", detail, None))

    def _queue_row(self, cid: str, user: User, team_id: int) -> Row | Response:
        canonical = _canonical(cid)
        if canonical is None:  # Django's ValidationError escapes the view: a plain 500
            return _json(500, drf_error("server_error", "error", "A server error occurred."))
        row = self.store.rows.get(canonical)
        if row is None or row.deleted:
            return _json(404, {"error": "Conversation not found"})
        if row.user is not user or row.team_id != team_id:
            return _json(403, {"error": "Cannot access other users' conversations"})
        return row

    @staticmethod
    def _queue_body(row: Row) -> Response:
        return _json(200, {"messages": row.queue, "max_queue_messages": MAX_QUEUE_MESSAGES})

    async def _queue(
        self, request: Request, user: User, team_id: int, cid: str, _: str
    ) -> Response:
        row = self._queue_row(cid, user, team_id)
        if isinstance(row, Response):
            return row
        if request.method == "GET":
            return self._queue_body(row)
        try:
            data = v.validate(
                await self._body(request),
                [
                    ("content", v.char(max_length=40_000), True),
                    ("contextual_tools", v.dictionary, False),
                    ("ui_context", v.any_json, False),
                    ("billing_context", v.any_json, False),
                    ("agent_mode", v.choice(v.AGENT_MODES), False),
                ],
            )
        except v.FieldError as error:
            return _validation_error(error)
        if not v.human_message_ok(data.get("ui_context")):
            return _validation_error(
                v.FieldError("invalid_input", "Invalid message content.", None)
            )
        if self.engine.queue_drain and row.drain_closed:
            return _json(409, {"error": "not_running", "detail": NOT_RUNNING_DETAIL})
        if len(row.queue) >= MAX_QUEUE_MESSAGES:
            return _json(
                409, {"error": "queue_full", "detail": "Only two messages can be queued at a time."}
            )
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
        return self._queue_body(row)

    async def _queue_item(
        self, request: Request, user: User, team_id: int, cid: str, _: str, queue_id: str
    ) -> Response:
        row = self._queue_row(cid, user, team_id)
        if isinstance(row, Response):
            return row
        item = next((item for item in row.queue if item["id"] == queue_id), None)
        if item is None:
            return _json(404, {"detail": "Queue message not found."})
        if request.method == "DELETE":
            row.queue.remove(item)
            return self._queue_body(row)
        try:
            data = v.validate(
                await self._body(request), [("content", v.char(max_length=40_000), True)]
            )
        except v.FieldError as error:
            return _validation_error(error)
        item["content"] = data["content"]
        return self._queue_body(row)

    async def _clear_queue(
        self, request: Request, user: User, team_id: int, cid: str, *_: str
    ) -> Response:
        row = self._queue_row(cid, user, team_id)
        if isinstance(row, Response):
            return row
        row.queue.clear()
        return self._queue_body(row)

    # Control API

    async def _control(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if path == "/_emulator/health" and request.method == "GET":
            return _json(200, {"status": "ok"})
        if path == "/_emulator/stats" and request.method == "GET":
            return _json(
                200,
                {
                    "connections": len(self.connections_seen),
                    "peak_requests_in_flight": self.peak_requests_in_flight,
                    "conversations": len(self.store.rows),
                    "running": len(self.engine.sessions),
                },
            )
        if path != "/_emulator/faults":
            return _json(404, {"detail": "Not found."})
        if request.method == "DELETE":
            self.reset_faults()
            return _json(200, self.fault_state())
        if request.method == "GET":
            return _json(200, self.fault_state())
        if request.method != "POST":
            return _json(405, {"detail": f'Method "{request.method}" not allowed.'})
        try:
            body = await self._body(request)
            self.set_faults(body)
        except (v.FieldError, ValueError) as exc:
            return _json(400, {"detail": getattr(exc, "detail", str(exc))})
        return _json(200, self.fault_state())

    def set_faults(self, body: Any) -> None:
        """Apply a faults body (see the README); raises ValueError naming what is wrong."""
        if not isinstance(body, dict) or not body:
            raise ValueError('Send a JSON object of faults, e.g. {"status": 503, "count": 2}.')
        known = {"status", "retry_after", "count", "drop_after_events", "stall_s", *_FLAGS}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"Unknown fault keys {unknown}; known: {sorted(known)}.")
        faults = self.engine.faults
        if "status" in body:
            status = body["status"]
            if status not in (429, 500, 502, 503, 504):
                raise ValueError("'status' must be 429, 500, 502, 503 or 504.")
            count = _number(body.get("count", 1), "count", integer=True)
            retry_after = body.get("retry_after")
            if retry_after is not None:
                retry_after = _number(retry_after, "retry_after")
            faults.statuses.extend([(status, retry_after)] * int(count))
        if "drop_after_events" in body:
            faults.drop_after_events = int(
                _number(body["drop_after_events"], "drop_after_events", integer=True)
            )
        if "stall_s" in body:
            faults.stall_s = _number(body["stall_s"], "stall_s")
        for flag in _FLAGS:
            if flag in body and not isinstance(body[flag], bool):
                raise ValueError(f"'{flag}' must be true or false.")
        for flag in _APP_FLAGS & set(body):
            setattr(self, flag, body[flag])
        for flag in _NEXT_RUN_FLAGS & set(body):
            setattr(faults, flag, body[flag])
        if body.get("hold") is True:
            self.engine.hold()
        elif body.get("hold") is False:
            self.engine.release()

    def reset_faults(self) -> None:
        """Forget every pending fault and release held runs."""
        faults = self.engine.faults
        faults.statuses.clear()
        faults.drop_after_events = None
        faults.stall_s = None
        faults.unknown_events = False
        faults.action_failure = False
        faults.garble_utf8 = False
        self.engine.release()

    def fault_state(self) -> dict[str, Any]:
        faults = self.engine.faults
        return {
            "pending_statuses": [{"status": s, "retry_after": r} for s, r in faults.statuses],
            "drop_after_events": faults.drop_after_events,
            "stall_s": faults.stall_s,
            "unknown_events": faults.unknown_events,
            "action_failure": faults.action_failure,
            "scoped_keys": self.scoped_keys,
            "quota_exceeded": self.quota_exceeded,
            "throttle": self.throttle,
        }


def _fault_response(status: int, retry_after: float | None) -> Response:
    headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else None
    if status == 429:
        wait = math.ceil(retry_after) if retry_after is not None else 1
        detail = (
            f"Request was throttled. Expected available in {wait} second{'' if wait == 1 else 's'}."
        )
        return _json(429, drf_error("throttled_error", "throttled", detail), headers)
    if status == 500:
        return _json(500, drf_error("server_error", "error", "A server error occurred."), headers)
    text = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    return Response(
        f"<html><body><h1>{status} {text}</h1></body></html>", status, headers, "text/html"
    )


def _canonical(conversation_id: str) -> str | None:
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        return None


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


def _number(value: Any, name: str, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        raise ValueError(f"'{name}' must be a {'whole ' if integer else ''}number, 0 or more.")
    return float(value)
