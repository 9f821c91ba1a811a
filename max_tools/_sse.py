"""Server-sent events decoded from bytes a whole event at a time: the reply stream's hot path.

A reply is tens of thousands of small events (every partial chunk is one). Decoding line by
line, as text, costs more than validating the messages; here a chunk of bytes is split at the
blank lines that end events, and each event's `data` stays bytes, which pydantic-core validates
without a decoded copy. The format is the WHATWG one: a leading byte-order mark is dropped,
lines end in LF, CRLF or CR, a line starting with ``:`` is a comment (PostHog's
``: keepalive``), ``data`` lines join with LF, an event without data is no event, and one
unfinished when the body ends is dropped.
"""

from __future__ import annotations

__all__ = ["SSEDecoder", "SSEEvent"]

SSEEvent = tuple[str, bytes]
"""One event: its name (``message`` when the stream names none) and its data, as sent."""

_NAMES = {name.encode(): name for name in ("message", "conversation", "update", "status")}
"""PostHog's event names, decoded once."""


class SSEDecoder:
    """Turns the chunks of an event stream, split anywhere, into its events."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # the start of an unfinished event, chunk by chunk
        self._after_cr = False
        self._started = False  # whether any byte came yet (a byte-order mark may lead)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that `chunk` finishes, in order."""
        if not chunk:
            return []
        if not self._started:
            self._started = True
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")  # a leading byte-order mark is no text
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split between two chunks
        if b"\r" in chunk:
            self._after_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            self._after_cr = False
        if not chunk:
            return []
        pending = self._pending
        ends_event = b"\n\n" in chunk or (
            chunk.startswith(b"\n") and bool(pending) and pending[-1].endswith(b"\n")
        )
        if not ends_event:
            pending.append(chunk)  # joined once the event is complete: linear in its size
            return []
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
        *blocks, rest = chunk.split(b"\n\n")
        self._pending = [rest] if rest else []
        return [event for block in blocks if (event := _event(block)) is not None]


def _event(block: bytes) -> SSEEvent | None:
    """The event that the lines of `block` make, or None without data (as the format says)."""
    lines = block.split(b"\n")
    if len(lines) == 2 and lines[0][:7] == b"event: " and lines[1][:6] == b"data: ":
        return _name(lines[0][7:]), lines[1][6:]  # the shape of nearly every event PostHog sends
    name = b""
    data: list[bytes] = []
    for line in lines:
        if not line or line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value  # other fields (id, retry) mean nothing to a reply
    if not data:
        return None
    return _name(name), b"\n".join(data)


def _name(raw: bytes) -> str:
    return _NAMES.get(raw) or raw.decode("utf-8", "replace") or "message"
