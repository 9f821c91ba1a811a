"""The testing interface: what the emulator holds, and the control API under ``/_emulator/``.

Everything here is for people testing their own agents: it reads and steers the emulator from
outside, over HTTP (`control`) or from Python (`EmulatorApp`, `RunningEmulator`), through the
same views (`ConversationState`, `EmulatorStats`) and the same `Faults`.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from max_tools.emulator import _validation as v
from max_tools.emulator._backend import Backend
from max_tools.emulator._oauth_control import oauth_control
from max_tools.emulator._responses import canonical, json_response, read_body

__all__ = ["ConversationState", "EmulatorStats", "control", "move_to_sandbox"]

_CONVERSATIONS = "/_emulator/conversations/"


@dataclass(frozen=True, slots=True)
class ConversationState:
    """A conversation as the emulator holds it, including what the API does not show.

    Attributes:
        id: the conversation id.
        status: ``idle``, ``in_progress`` or ``canceling``.
        type: ``assistant`` or ``deep_research``.
        title: the generated title (None until the run titled it).
        deleted: whether it was deleted (PostHog keeps deleted rows).
        updated_at: when it last changed, in DRF's format.
        messages: every stored message, in order, as PostHog checkpoints them (a copy).
        queue: the queued follow-ups (a copy).
        running: whether a run is going on.
        readers: stream responses reading the running run now (0 when none runs).
        reconnects: responses that attached to the running run with ``content: null``.
        approvals: every approval decision, as retrieve's ``pending_approvals`` shows it.
        interrupt: what the paused run waits for (kind, tool_name, tool_call_id, args), if any.
        agent_runtime: ``langgraph``, or ``sandbox`` once moved (see `move_to_sandbox`).
        task: the task object list and retrieve show, or None.
    """

    id: str
    status: str
    type: str
    title: str | None
    deleted: bool
    updated_at: str
    messages: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    running: bool
    readers: int
    reconnects: int
    approvals: list[dict[str, Any]]
    interrupt: dict[str, Any] | None
    agent_runtime: str = "langgraph"
    task: dict[str, Any] | None = None

    def human_messages(self) -> list[str]:
        """The text of every human message, in order."""
        return [str(m.get("content")) for m in self.messages if m.get("type") == "human"]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EmulatorStats:
    """Counters since the emulator started.

    Attributes:
        connections: client connections seen (distinct address and port pairs).
        peak_requests_in_flight: the most HTTP requests served at the same moment.
        requests: HTTP requests to PostHog's routes (the ``/_emulator/`` ones not counted).
        conversations: conversations stored (deleted ones too).
        running: conversations with a run going on.
        running_conversations: their ids.
    """

    connections: int
    peak_requests_in_flight: int
    requests: int
    conversations: int
    running: int
    running_conversations: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def conversation_state(app: Backend, conversation_id: str) -> ConversationState | None:
    row = app.store.rows.get(canonical(conversation_id) or "")
    if row is None:
        return None
    session = app.engine.sessions.get(row.id)
    return ConversationState(
        id=row.id,
        status=row.status,
        type=row.type,
        title=row.title,
        deleted=row.deleted,
        updated_at=str(row.minimal()["updated_at"]),
        messages=copy.deepcopy(row.messages),
        queue=copy.deepcopy(row.queue),
        running=session is not None,
        readers=session.log.readers if session is not None else 0,
        reconnects=session.log.reconnects if session is not None else 0,
        approvals=row.pending_approvals(),
        interrupt=copy.deepcopy(row.interrupt),
        agent_runtime=row.agent_runtime,
        task=copy.deepcopy(row.task_object()),
    )


def move_to_sandbox(
    app: Backend, conversation_id: str, task: dict[str, Any] | None = None
) -> ConversationState:
    """Move a conversation to PostHog AI's sandbox runtime for good, as its owner would.

    PostHog does it when the owner continues the chat as a task (reference 16.3); from then on
    create, reconnect and resume answer 400 and retrieve shows ``agent_runtime: "sandbox"``.

    Args:
        app: the emulator.
        conversation_id: the conversation to move.
        task: the task object to show; by default the chat's mirror task, now with a real run.

    Raises:
        LookupError: the emulator has no such conversation.
        ValueError: `task` is not a JSON object.
    """
    row = app.store.rows.get(canonical(conversation_id) or "")
    if row is None or row.deleted:
        raise LookupError(f"There is no conversation {conversation_id}.")
    if task is not None and not isinstance(task, dict):
        raise ValueError('"task" must be a JSON object (or left out).')
    app.engine.cancel(row)  # its LangGraph run and queue end; the task goes on elsewhere
    row.agent_runtime = "sandbox"
    row.task = copy.deepcopy(task)
    app.store.mirror(row)  # the chat went on as its mirror task, which it keeps
    row.queue.clear()
    row.touch()
    app.store.save()
    state = conversation_state(app, row.id)
    assert state is not None  # noqa: S101 - the row was just found
    return state


def stats(app: Backend) -> EmulatorStats:
    return EmulatorStats(
        connections=len(app.connections_seen),
        peak_requests_in_flight=app.peak_requests_in_flight,
        requests=app.requests_served,
        conversations=len(app.store.rows),
        running=len(app.engine.sessions),
        running_conversations=list(app.engine.sessions),
    )


async def control(app: Backend, request: Request) -> Response:
    """Answer a request under ``/_emulator/``."""
    path = request.url.path.rstrip("/")
    method = request.method
    if path == "/_emulator/health" and method == "GET":
        return json_response(200, {"status": "ok"})
    if path == "/_emulator/stats" and method == "GET":
        return json_response(200, stats(app).to_json())
    if path == "/_emulator/faults":
        return await _faults(app, request)
    if path == "/_emulator/oauth" or path.startswith("/_emulator/oauth/"):
        return await oauth_control(app.oauth, request)
    if path.startswith(_CONVERSATIONS):
        return await _conversation(app, request, path[len(_CONVERSATIONS) :].split("/"))
    return json_response(404, {"detail": "Not found."})


async def _faults(app: Backend, request: Request) -> Response:
    if request.method == "DELETE":
        app.faults.reset()
    elif request.method == "POST":
        try:
            app.faults.apply(await read_body(request))
        except (v.FieldError, ValueError) as exc:
            return json_response(400, {"detail": getattr(exc, "detail", str(exc))})
    elif request.method != "GET":
        return _not_allowed(request)
    return json_response(200, app.faults.state())


async def _conversation(app: Backend, request: Request, parts: list[str]) -> Response:
    if len(parts) == 1 and request.method == "GET":
        state = conversation_state(app, parts[0])
        if state is None:
            return json_response(404, {"detail": "No such conversation."})
        return json_response(200, state.to_json())
    if len(parts) == 2 and parts[1] == "messages" and request.method == "POST":
        try:
            body = await read_body(request)
        except v.FieldError as exc:
            return json_response(400, {"detail": exc.detail})
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, str) or not content.strip():
            return json_response(400, {"detail": 'Send {"content": "<the message text>"}.'})
        try:
            message = app.add_human_message(parts[0], content)
        except LookupError as exc:
            return json_response(404, {"detail": str(exc)})
        return json_response(201, message)
    if len(parts) == 2 and parts[1] == "sandbox" and request.method == "POST":
        return await _move(app, request, parts[0])
    if len(parts) in (1, 2):
        return _not_allowed(request)
    return json_response(404, {"detail": "Not found."})


async def _move(app: Backend, request: Request, conversation_id: str) -> Response:
    body: Any = None
    if await request.body():
        try:
            body = await read_body(request)
        except v.FieldError as exc:
            return json_response(400, {"detail": exc.detail})
    if body is not None and not isinstance(body, dict):
        return json_response(400, {"detail": 'Send {} or {"task": {...}}.'})
    try:
        state = move_to_sandbox(app, conversation_id, (body or {}).get("task"))
    except LookupError as exc:
        return json_response(404, {"detail": str(exc)})
    except ValueError as exc:
        return json_response(400, {"detail": str(exc)})
    return json_response(200, state.to_json())


def _not_allowed(request: Request) -> Response:
    return json_response(405, {"detail": f'Method "{request.method}" not allowed.'})
