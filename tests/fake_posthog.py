"""A fake PostHog at the HTTP edge: scripted answers served through `httpx.MockTransport`."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from max_tools import AsyncMaxClient

KEY = "phx_test_key_0123456789abcdefghijklmnopqrstuvwxyz"
BASE = "/api/environments/2/conversations/"
CID = "6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def sse(event: str, data: dict[str, Any] | str) -> bytes:
    """One SSE event framed exactly as PostHog frames it (compact JSON for messages)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {text}\n\n".encode()


def conversation_event(status: str = "in_progress", title: str | None = None) -> bytes:
    """A `conversation` event: Python's default separators (with spaces), nulls kept."""
    payload = {
        "id": CID,
        "status": status,
        "title": title,
        "topic": None,
        "user": {"id": 42, "uuid": "u", "distinct_id": "d", "first_name": "Ana", "email": "a@x"},
        "created_at": "2025-06-02T09:14:03.512345Z",
        "updated_at": "2025-06-02T09:14:03.640001Z",
        "type": "assistant",
        "is_internal": False,
        "slack_thread_key": None,
        "slack_workspace_domain": None,
        "task": None,
    }
    return f"event: conversation\ndata: {json.dumps(payload)}\n\n".encode()


def human(content: str, mid: str = "h1", trace_id: str = "t1") -> bytes:
    return sse("message", {"content": content, "id": mid, "trace_id": trace_id, "type": "human"})


def chunk(text: str) -> bytes:
    """An id-less `ai` message: the whole text so far of the message being written."""
    return sse(
        "message",
        {
            "content": text,
            "meta": {"thinking": []},
            "server_tool_calls": [],
            "tool_calls": [],
            "type": "ai",
        },
    )


def ai(text: str, mid: str, **extra: Any) -> bytes:
    return sse("message", {"content": text, "id": mid, "type": "ai", **extra})


KEEPALIVE = b": keepalive\n\n"


class ByteStream(httpx.AsyncByteStream):
    """A response body sent in the given chunks, optionally failing or stalling at the end."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        error: Exception | None = None,
        stall: anyio.Event | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.error = error
        self.stall = stall
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.chunks:
            yield piece
        if self.stall is not None:
            await self.stall.wait()
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


def split(body: bytes, size: int) -> list[bytes]:
    """Cut a body into pieces of `size` bytes: mid-line and mid-character."""
    return [body[i : i + size] for i in range(0, len(body), size)]


def stream_response(
    *events: bytes,
    chunk_size: int | None = None,
    error: Exception | None = None,
    stall: anyio.Event | None = None,
    content_type: str = "text/event-stream",
) -> httpx.Response:
    body = b"".join(events)
    chunks = split(body, chunk_size) if chunk_size else list(events)
    return body_response(ByteStream(chunks, error=error, stall=stall), content_type=content_type)


def body_response(stream: ByteStream, *, content_type: str = "text/event-stream") -> httpx.Response:
    """A 200 streaming response whose body is `stream` (keep it to check it was closed)."""
    return httpx.Response(200, headers={"Content-Type": content_type}, stream=stream)


def json_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def drf_error(
    status: int, type_: str, code: str, detail: str, attr: str | None = None
) -> httpx.Response:
    return json_response(status, {"type": type_, "code": code, "detail": detail, "attr": attr})


def idle_refusal() -> httpx.Response:
    """PostHog's 400 to attaching to a conversation whose run is over."""
    return drf_error(
        400,
        "validation_error",
        "invalid_input",
        "Cannot continue streaming from an idle conversation",
    )


CONVERSATION_ROW: dict[str, Any] = {
    "id": CID,
    "status": "idle",
    "title": "Signups",
    "topic": None,
    "user": {"id": 42},
    "created_at": "2025-06-02T09:14:03.512345Z",
    "updated_at": "2025-06-02T09:14:41.001122Z",
    "type": "assistant",
    "is_internal": False,
    "slack_thread_key": None,
    "slack_workspace_domain": None,
    "task": None,
}
"""A conversation as PostHog lists it (the fields every conversation answer has)."""


def conversation_row(cid: str = CID, **fields: Any) -> dict[str, Any]:
    """`CONVERSATION_ROW` for conversation `cid`, with `fields` changed."""
    return {**CONVERSATION_ROW, "id": cid, **fields}


def stored_conversation(
    messages: Sequence[dict[str, Any]], *, status: str = "idle", title: str | None = "Signups"
) -> dict[str, Any]:
    """A conversation as PostHog retrieves it: the row, its messages and the retrieve-only fields."""
    return {
        **conversation_row(status=status, title=title),
        "messages": list(messages),
        "has_unsupported_content": False,
        "agent_mode": "product_analytics",
        "agent_runtime": "langgraph",
        "is_sandbox": False,
        "pending_approvals": [],
    }


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    answers: list[Answer]


@dataclass
class FakePostHog:
    """Answers requests from scripts: `on(method, path, *answers)`; the last answer repeats."""

    host: str = "https://us.posthog.com"
    routes: list[Route] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Script the answers to `method` on `path` (relative to the conversations URL)."""
        pattern = re.compile(re.escape(BASE + path) + r"$")
        self.routes.append(Route(method, pattern, list(answers)))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for route in self.routes:
            if route.method == request.method and route.pattern.match(request.url.path):
                answer = route.answers.pop(0) if len(route.answers) > 1 else route.answers[0]
                if isinstance(answer, Exception):
                    raise answer
                if callable(answer) and not isinstance(answer, httpx.Response):
                    return answer(request)
                return answer
        return json_response(404, {"detail": f"no script for {request.method} {request.url.path}"})

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def client(self, **options: Any) -> AsyncMaxClient:
        settings: dict[str, Any] = {
            "api_key": KEY,
            "host": self.host,
            "project_id": 2,
            "http_client": self.http_client(),
            "sleep": self.sleep,
        }
        settings.update(options)
        return AsyncMaxClient(**settings)

    def bodies(self, method: str = "POST", path: str = "") -> list[Any]:
        """JSON bodies of the requests sent to `method path`."""
        return [
            json.loads(r.content) if r.content else None
            for r in self.requests
            if r.method == method and r.url.path == BASE + path
        ]
