"""What to do about an error: one actionable sentence for each error an agent can act on."""

from __future__ import annotations

from max_tools._errors import APIStatusError, MaxError

__all__ = ["explain_error"]


def explain_error(exc: BaseException) -> str | None:
    """One actionable sentence for an error the agent can act on; None for programming errors.

    PostHog's error statuses say what happened and what to do in the tools' words, from the one
    advice table (`max_tools._advice`); the client's own errors already say it.
    """
    if isinstance(exc, APIStatusError):
        return exc.advice_for("tools")
    if isinstance(exc, MaxError):
        return str(exc)
    return None
