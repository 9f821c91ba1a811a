"""The emulator's ASGI app: PostHog's conversations API, plus a control API for tests.

The endpoints live by concern: `_conversations` (list, retrieve, delete, the message stream,
append, cancel), `_queue`, `_sse` (stream bodies), `_control` (``/_emulator/``); routing and
authentication in `_routes`; every fault switch in `_faults.Faults`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from max_tools.emulator import _conversations, _queue
from max_tools.emulator._agent import Rule
from max_tools.emulator._control import ConversationState, EmulatorStats, control
from max_tools.emulator._control import conversation_state as _conversation_state
from max_tools.emulator._control import stats as _stats
from max_tools.emulator._engine import Engine, human_message
from max_tools.emulator._faults import Faults
from max_tools.emulator._oauth import OAuthServer, is_oauth_path
from max_tools.emulator._oauth_api import token_permission
from max_tools.emulator._oauth_routes import handle as oauth_endpoint
from max_tools.emulator._oauth_scopes import NO_REQUIRED_SCOPES
from max_tools.emulator._query import AsyncQueries, run_query
from max_tools.emulator._responses import fault_response, json_response, not_found
from max_tools.emulator._routes import API, QUERY, SCOPED_ACTIONS, authenticate, route, team
from max_tools.emulator._store import Store
from max_tools.emulator._throttle import Throttles
from max_tools.emulator._wire import drf_error

__all__ = ["EmulatorApp"]

_Handler = Callable[..., Awaitable[Response]]
_HANDLERS: dict[str, _Handler] = {
    "list": _conversations.list_conversations,
    "retrieve": _conversations.retrieve,
    "destroy": _conversations.destroy,
    "create": _conversations.create,
    "append_message": _conversations.append_message,
    "cancel": _conversations.cancel,
    "open": _conversations.open_sandbox,
    "queue": _queue.queue,
    "queue_item": _queue.queue_item,
    "clear_queue": _queue.clear_queue,
}


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
        region: the region the authorization server names (``us``, ``eu``, or None for
            self-hosted); see `OAuthServer`.
        cimd_http_loopback: accept ``http://`` loopback client ids as metadata document URLs.

    The switches (`throttle`, `quota_exceeded`, `scoped_keys`, `trim_on_disconnect`) and every
    fault live in `faults`. Call the testing methods (`conversation`, `stats`,
    `add_human_message`, `faults`) on the app's event loop; from another thread, use
    `RunningEmulator`'s methods or the control API.
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
        region: str | None = "us",
        cimd_http_loopback: bool = False,
    ) -> None:
        self.faults = Faults(
            scoped_keys=scoped_keys,
            quota_exceeded=quota_exceeded,
            throttle=throttle,
            trim_on_disconnect=trim_on_disconnect,
        )
        """Every fault switch; the control API's ``/_emulator/faults`` steers the same object."""
        self.store = Store(state_file)
        self.engine = Engine(
            self.store, rules, self.faults, queue_drain=queue_drain, delay_s=delay_s
        )
        self.keys = frozenset(keys) if keys is not None else None
        self.deleted_keys: set[str] = set()
        """SHA-256 digests of personal API keys deleted since start-up (refused with a 401)."""
        self.project_ids = frozenset(project_ids) if project_ids is not None else None
        self.current_project_id = current_project_id
        self.oauth = OAuthServer(
            self.store,
            projects=sorted(project_ids) if project_ids is not None else [current_project_id],
            current_project_id=current_project_id,
            region=region,
            cimd_http_loopback=cimd_http_loopback,
            default_user_key=sorted(keys)[0] if keys else "phx_emulator_key",
        )
        """PostHog's OAuth authorization server (``/oauth/``, ``/.well-known/``)."""
        self.keepalive_s = keepalive_s
        self.throttles = Throttles(clock)
        self.queries = AsyncQueries()
        self.started = anyio.Event()
        self.connections_seen: set[tuple[str, int]] = set()
        """Client (address, port) pairs that sent requests: one per connection opened."""
        self.requests_in_flight = 0
        self.peak_requests_in_flight = 0
        """The most HTTP requests that were being served at the same moment."""
        self.requests_served = 0
        """HTTP requests to PostHog's routes (not ``/_emulator/``): what a client spends."""

    # The testing interface

    def conversation(self, conversation_id: str) -> ConversationState | None:
        """What the emulator holds for a conversation (any user's), or None if there is none."""
        return _conversation_state(self, conversation_id)

    def stats(self) -> EmulatorStats:
        """Connections, peak concurrency, conversations and runs since start-up."""
        return _stats(self)

    def delete_key(self, key: str) -> None:
        """Delete a personal API key, as its user does in PostHog's settings.

        Every request that arrives with it afterwards gets PostHog's 401; a stream it opened
        before runs to its end (PostHog checks credentials when a request arrives).
        """
        self.deleted_keys.add(hashlib.sha256(key.encode()).hexdigest())

    def add_human_message(self, conversation_id: str, content: str) -> dict[str, Any]:
        """Store a human message in a conversation, as if its user wrote it in PostHog's UI.

        No run starts: the message is only in the conversation's history. Returns the stored
        message; raises LookupError when there is no such conversation.
        """
        state = self.conversation(conversation_id)
        if state is None or state.deleted:
            raise LookupError(f"There is no conversation {conversation_id}.")
        row = self.store.rows[state.id]
        message = human_message(content, str(uuid.uuid4()))
        row.messages.append(message)
        row.touch()
        self.store.save()
        return dict(message)

    # ASGI

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
        if not str(scope["path"]).startswith("/_emulator/"):
            self.requests_served += 1
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

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/_emulator/"):
            return await control(self, request)
        if is_oauth_path(path):
            return await oauth_endpoint(self.oauth, request)
        asked = QUERY.fullmatch(path)
        matched = asked or API.fullmatch(path)
        if matched is None:
            return not_found()
        pending = self.faults.take_status()
        if pending is not None:
            return fault_response(*pending)
        user = authenticate(request, self.keys, self.store, self.oauth, self.deleted_keys)
        if isinstance(user, Response):
            return user
        team_id = team(matched["project"], self.current_project_id, self.project_ids)
        if team_id is None:
            body = drf_error("invalid_request", "not_found", "Project not found.")
            return json_response(404, body)
        method = request.method
        if asked is not None:
            if denied := token_permission(self.oauth, request, "query", team_id):
                return denied
            return await _query_endpoint(self, request, asked["kind"], team_id)
        parts = [part for part in (matched["rest"] or "").split("/") if part]
        action, allowed = route(parts, method)
        if action is None:
            return not_found()
        if method not in allowed:
            detail = f'Method "{method}" not allowed.'
            return json_response(405, drf_error("invalid_request", "method_not_allowed", detail))
        if denied := token_permission(self.oauth, request, action, team_id):
            return denied
        if self.faults.scoped_keys and action in SCOPED_ACTIONS:
            body = drf_error("authentication_error", "permission_denied", NO_REQUIRED_SCOPES)
            return json_response(403, body)
        return await _HANDLERS[action](self, request, user, team_id, *parts)


async def _query_endpoint(
    app: EmulatorApp, request: Request, kind: str | None, team_id: int
) -> Response:
    method = request.method
    if method not in ("POST", "GET", "DELETE") or (method != "POST" and kind is None):
        detail = f'Method "{method}" not allowed.'
        return json_response(405, drf_error("invalid_request", "method_not_allowed", detail))
    if app.faults.scoped_keys:  # the emulator's scoped keys carry the conversation scopes only
        detail = "API key missing required scope 'query:read'"
        return json_response(403, drf_error("authentication_error", "permission_denied", detail))
    if method == "POST":
        polls = app.faults.query_polls
        return await run_query(request, kind, team_id=team_id, queries=app.queries, polls=polls)
    # GET and DELETE name an asynchronous query by its id where POST names a kind.
    if method == "GET":
        return app.queries.read(team_id, str(kind))
    return app.queries.cancel(team_id, str(kind))
