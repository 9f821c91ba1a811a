"""The scripted agent's default answer (shared by ordinary and resumed runs)."""

from __future__ import annotations

import zlib

__all__ = ["default_answer"]


def default_answer(message: str) -> str:
    """A deterministic answer that reflects the question (so tests can assert on it)."""
    digest = zlib.crc32(message.encode())
    count = 1_000 + digest % 9_000
    change = digest % 19 - 6
    trend = f"up {change}%" if change > 0 else f"down {-change}%" if change < 0 else "flat"
    return (
        f'Here is what I found for "{message.strip()}": {count:,} matching events in the last '
        f"7 days, {trend} on the week before."
    )
