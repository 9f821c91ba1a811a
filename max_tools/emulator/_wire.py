"""Bytes on the wire, as PostHog writes them (reference sections 1.5, 3 and 5.2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "KEEPALIVE",
    "compact_json",
    "drf_error",
    "drf_time",
    "frame",
    "python_json",
    "utcnow",
]

KEEPALIVE = b": keepalive\n\n"
"""What PostHog sends after 15 s without an event."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def drf_time(moment: datetime | None) -> str | None:
    """DRF's datetime format: ISO 8601 with microseconds and `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compact_json(payload: dict[str, Any]) -> str:
    """Pydantic's `model_dump_json(exclude_none=True)`: compact, keys alphabetical, nulls gone."""
    kept = {key: payload[key] for key in sorted(payload) if payload[key] is not None}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def python_json(payload: dict[str, Any]) -> str:
    """Python's `json.dumps` defaults, as PostHog writes `conversation` events: spaces, nulls."""
    return json.dumps(payload)


def frame(event: str, data: str) -> bytes:
    """One SSE event: `event:` and `data:` lines and a blank line; no id or retry lines."""
    return f"event: {event}\ndata: {data}\n\n".encode()


def drf_error(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    """The exceptions-hog error body."""
    return {"type": type_, "code": code, "detail": detail, "attr": attr}
