"""What to do about an error: one actionable sentence for each error an agent can act on."""

from __future__ import annotations

from max_tools._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConversationBusyError,
    InternalServerError,
    InvalidArgumentsError,
    MaxError,
    NotFoundError,
    PermissionDeniedError,
    QueueFullError,
    QueueNotRunningError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)

__all__ = ["explain_error"]


def explain_error(exc: BaseException) -> str | None:
    """One actionable sentence for an error the agent can act on; None for programming errors."""
    if isinstance(exc, InvalidArgumentsError | ConfigurationError):
        return str(exc)
    if isinstance(exc, QueueFullError):
        return (
            "The conversation already has 2 queued follow-ups (the most PostHog keeps); wait for "
            "the reply with max_wait, or remove one with max_delete_queued_message."
        )
    if isinstance(exc, QueueNotRunningError):
        return (
            "Nothing is running in this conversation to pick up a queued message; send it with "
            "max_chat."
        )
    if isinstance(exc, ConversationBusyError):
        return (
            "The conversation is busy answering an earlier message; follow it with max_wait, "
            "then send."
        )
    if isinstance(exc, RateLimitError):
        wait = (
            f"retry in {exc.retry_after:g} s"
            if exc.retry_after is not None
            else "retry in a minute"
        )
        return f"PostHog AI is rate limiting requests: {wait}."
    if isinstance(exc, NotFoundError):
        return (
            "Not found: no such conversation (or queued message) for this key and project; it may "
            "be deleted, another user's, or not titled yet. Check the id with "
            "max_list_conversations."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            "PostHog refused this action for this API key: append, cancel and the queue are "
            "refused "
            "to personal API keys with scopes; use a key without scopes, or chat and read only."
            if "Personal API Key" in (exc.detail or "") or "scopes" in str(exc)
            else "PostHog refused this action for this API key; check its scopes and project id."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "PostHog rejected the API key: check POSTHOG_PERSONAL_API_KEY, and that POSTHOG_HOST "
            "is the region the key belongs to (us or eu)."
        )
    if isinstance(exc, QuotaExceededError):
        return (
            "The PostHog organization has used up its AI credits; an admin can raise the limit "
            "in Billing."
        )
    if isinstance(exc, BadRequestError):
        return f"PostHog refused the request: {exc.detail or 'invalid request'}."
    if isinstance(exc, UnprocessableEntityError | InternalServerError):
        return f"PostHog could not do it right now ({exc.status_code}); try again in a moment."
    if isinstance(exc, APIStatusError):
        return f"PostHog answered {exc.status_code}: {exc.detail or 'unexpected status'}."
    if isinstance(exc, StreamError):
        return str(exc)
    if isinstance(exc, APIConnectionError):
        return str(exc)  # already says what failed and to check the network and POSTHOG_HOST
    if isinstance(exc, ValueError) and isinstance(exc, MaxError):
        return str(exc)
    return None
