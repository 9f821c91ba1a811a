"""Response helpers every endpoint shares: JSON bodies, DRF errors, request bodies, ids."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from max_tools.emulator import _validation as v
from max_tools.emulator._wire import drf_error

__all__ = [
    "SSE_HEADERS",
    "canonical",
    "fault_response",
    "json_response",
    "not_found",
    "read_body",
    "validation_error",
]

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def not_found() -> Response:
    return json_response(404, drf_error("invalid_request", "not_found", "Not found."))


def validation_error(error: v.FieldError) -> Response:
    return json_response(400, drf_error("validation_error", error.code, error.detail, error.attr))


async def read_body(request: Request) -> Any:
    """The JSON body (an empty body is `{}`); raises `FieldError` as DRF's parser does."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise v.FieldError("parse_error", f"JSON parse error - {exc}", None) from exc


def canonical(conversation_id: str) -> str | None:
    """The UUID in its canonical spelling, or None when it is not one."""
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        return None


def fault_response(status: int, retry_after: float | None) -> Response:
    """What PostHog (or the proxy in front of it) answers with that status."""
    headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else None
    if status == 429:
        wait = math.ceil(retry_after) if retry_after is not None else 1
        detail = (
            f"Request was throttled. Expected available in {wait} second{'' if wait == 1 else 's'}."
        )
        return json_response(429, drf_error("throttled_error", "throttled", detail), headers)
    if status == 500:
        body = drf_error("server_error", "error", "A server error occurred.")
        return json_response(500, body, headers)
    text = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    return Response(
        f"<html><body><h1>{status} {text}</h1></body></html>", status, headers, "text/html"
    )
