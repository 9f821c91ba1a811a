"""A key that never shows itself: in a repr, a str, a format or a log line."""

from __future__ import annotations

__all__ = ["APIKey"]


class APIKey:
    """A personal API key that never shows itself in a repr, str or format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the key itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "APIKey('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, APIKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
