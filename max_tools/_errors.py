"""Every error max-tools raises, in one tree.

::

    MaxError
    ├── ConfigurationError            a setting is missing or wrong; nothing was sent
    ├── InvalidArgumentsError         an id, message or number is not valid; nothing was sent
    ├── NotPendingError               the approval or form is no longer waiting; nothing was sent
    ├── SignInError                   signing in with PostHog (max-tools login) failed
    └── APIError                      talking to PostHog went wrong
        ├── APIStatusError            PostHog answered with an error status (.status_code, .body)
        │   ├── BadRequestError                 400
        │   │   └── ConversationMovedError      it moved to PostHog AI's newer runtime
        │   ├── AuthenticationError             401
        │   │   └── SignInExpiredError          the stored sign-in expired or was revoked
        │   ├── QuotaExceededError              402
        │   ├── PermissionDeniedError           403
        │   ├── NotFoundError                   404
        │   ├── ConflictError                   409
        │   │   ├── ConversationBusyError       a reply is already running
        │   │   ├── QueueFullError              two follow-ups are queued already
        │   │   └── QueueNotRunningError        no run will pick a queued message up
        │   ├── UnprocessableEntityError        422
        │   ├── RateLimitError                  429 (.retry_after)
        │   └── InternalServerError             >= 500
        ├── APIConnectionError        no answer: DNS, refused, reset, TLS
        │   └── APITimeoutError       no answer in time
        └── StreamError               the reply stream broke and could not be resumed

Messages say what happened and what to do next. They never contain the API key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from max_tools._advice import Face, advice

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConversationBusyError",
    "ConversationMovedError",
    "InternalServerError",
    "InvalidArgumentsError",
    "MaxError",
    "NotFoundError",
    "NotPendingError",
    "PermissionDeniedError",
    "QueueFullError",
    "QueueNotRunningError",
    "QuotaExceededError",
    "RateLimitError",
    "SignInError",
    "SignInExpiredError",
    "StreamError",
    "UnprocessableEntityError",
]


class MaxError(Exception):
    """Base class of every max-tools error."""


class ConfigurationError(MaxError, ValueError):
    """A setting is missing or cannot be right (key, host, project id).

    Attributes:
        situation: what the caller faces (``no_key``): the key of its advice, when the advice
            names a next step that each face words its own way.
    """

    def __init__(
        self, message: str, *, situation: str | None = None, head: str | None = None
    ) -> None:
        super().__init__(message)
        self.situation, self._head = situation, head

    def advice_for(self, face: Face) -> str:
        """The message with the next step in `face`'s words (its arguments, or its flags)."""
        if self.situation is None or self._head is None:
            return str(self)
        return f"{self._head} {advice(self.situation, face)}"


class InvalidArgumentsError(MaxError, ValueError):
    """An argument does not fit (a conversation id, a message, a number); nothing was sent.

    The message names the argument, what was expected and what to do.

    Attributes:
        argument: the name of the argument it is about (``conversation_id``, ``message``,
            ``wait_s``, ...), when it is about one.
        problem: what is wrong with that argument, without its name (``'x' is not a
            conversation id; ...``): for callers that name arguments their own way, as the
            command line names its flags.
    """

    def __init__(
        self, message: str, *, argument: str | None = None, problem: str | None = None
    ) -> None:
        super().__init__(message)
        self.argument = argument
        self.problem = problem


class NotPendingError(MaxError, ValueError):
    """The approval or form named is not waiting for an answer; nothing was sent.

    It was decided already (by someone else, or by a new message that skipped it), it is not
    the conversation's current one, it is unknown, or the conversation is running again.
    """


class SignInError(MaxError):
    """Signing in with PostHog failed: refused, timed out, or PostHog's OAuth server said no.

    Raised by `login`, `logout` and the OAuth requests behind them; the message says what
    happened and what to try.
    """


class APIError(MaxError):
    """Talking to the PostHog API failed."""


class APIStatusError(APIError):
    """PostHog answered with an error status.

    Attributes:
        status_code: the HTTP status.
        body: the parsed JSON body, or the text when it was not JSON.
        code: PostHog's error code (`not_found`, `queue_full`, ...) when it sent one.
        detail: PostHog's own sentence, when it sent one.
        attr: the request field the error is about, for validation errors.
        retry_after: seconds PostHog asked to wait before trying again (429, 503), if it said.
        situation: what the caller faces (``busy``, ``not_found``, ...): the key of its advice.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        code: str | None = None,
        detail: str | None = None,
        attr: str | None = None,
        retry_after: float | None = None,
        situation: str | None = None,
        head: str | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body, self.code, self.detail, self.attr = body, code, detail, attr  # PostHog's body
        self.retry_after = retry_after
        # The advice: its key, and what `advice_for` puts before and into another face's words.
        self.situation, self._head, self._values = situation, head, values or {}

    def advice_for(self, face: Face, *, cid: str = "<id>") -> str:
        """The message with the next step in `face`'s words (its tools, or its commands)."""
        if self.situation is None or self._head is None:
            return str(self)
        return f"{self._head} {advice(self.situation, face, cid=cid, **self._values)}"


class BadRequestError(APIStatusError):
    """400: PostHog refused the request as invalid."""


class ConversationMovedError(BadRequestError):
    """The conversation moved to PostHog AI's newer (sandbox) runtime for good.

    PostHog answers a send, reconnect or resume naming it with a 400 (reference 16.3); this API
    can still read it but cannot continue it with a personal API key. Continue it in PostHog's
    web app, or start a new conversation. Repeating the request fails the same way, so it is
    never retried. `status_code` is PostHog's answer (400 for a send; whatever the queue,
    append or cancel answered, once a read of the conversation showed it moved).
    """


class AuthenticationError(APIStatusError):
    """401: the API key was missing, unknown or expired."""


class SignInExpiredError(AuthenticationError):
    """The stored PostHog sign-in no longer works: it expired for good or was revoked.

    PostHog refused to refresh it (``invalid_grant``), or refused a fresh token. Signing in
    again (``max-tools login``) is the way out; repeating the request fails the same way.
    """


class QuotaExceededError(APIStatusError):
    """402: the organization used up its AI credits."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such conversation (or queue item) for this key and project."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the conversation's state."""


class ConversationBusyError(ConflictError):
    """409: the conversation is still answering an earlier message."""


class QueueFullError(ConflictError):
    """409: the conversation already has the most follow-ups PostHog keeps."""


class QueueNotRunningError(ConflictError):
    """409: nothing is running that would pick a queued message up; send it instead."""


class UnprocessableEntityError(APIStatusError):
    """422: PostHog could not carry the action out."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` says how many seconds to wait, when known."""


class InternalServerError(APIStatusError):
    """5xx: PostHog or a proxy in front of it failed."""


class APIConnectionError(APIError):
    """The request got no answer: the host could not be reached or the connection broke.

    Attributes:
        request_sent: False when the request surely never reached PostHog (connection refused,
            DNS failure); True when it may have.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request got no answer in time."""


class StreamError(APIError):
    """The reply stream broke or was malformed, and could not be resumed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: QuotaExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def parse_error_body(text: str) -> tuple[Any, str | None, str | None, str | None]:
    """Read either PostHog error shape into (body, code, detail, attr).

    The exceptions-hog shape is ``{"type", "code", "detail", "attr"}``; some endpoints answer
    ``{"error": ...}`` (sometimes with ``detail``) or DRF's plain ``{"detail": ...}``.
    """
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        snippet = " ".join(text.split())[:200] or None
        return text, None, snippet, None
    if not isinstance(body, dict):
        return body, None, None, None
    code = _text(body.get("code"))
    detail = _text(body.get("detail"))
    status = body.get("query_status")  # a failed asynchronous query (reference section 15.3)
    if detail is None and isinstance(status, dict):
        detail = _text(status.get("error_message"))
    error = _text(body.get("error"))
    if error is not None:
        # {"error": "queue_full", "detail": ...} carries a code, {"error": "Cannot ..."} a sentence.
        if detail is None and (" " in error or len(error) > 40):
            detail = error
        elif code is None:
            code = error
    return body, code, detail, _text(body.get("attr"))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def make_status_error(
    status_code: int,
    text: str,
    *,
    doing: str,
    host: str,
    is_us_cloud: bool,
    retry_after: float | None = None,
    scoped_action: bool = False,
    sending_message: bool = False,
) -> APIStatusError:
    """Build the error for one failed response.

    Args:
        status_code: the HTTP status.
        text: the response body, already scrubbed of the key.
        doing: what the client was doing, e.g. "cancel conversation 6a3e...".
        host: the PostHog host, to name in region advice.
        is_us_cloud: whether the host is US Cloud (a 401 elsewhere often means the wrong region).
        retry_after: seconds from a Retry-After header.
        scoped_action: the endpoint is one PostHog refuses to scoped personal API keys.
        sending_message: the request sent a new message (a 409 then means "busy").
    """
    body, code, detail, attr = parse_error_body(text)
    cls: type[APIStatusError] = _STATUS_CLASSES.get(
        status_code, InternalServerError if status_code >= 500 else APIStatusError
    )
    said = f" PostHog said: {detail}" if detail else ""
    if said and not said.endswith((".", "!", "?")):
        said += "."
    field = f" (field {attr!r})" if attr else ""
    head = f"Could not {doing}: {status_code}{field}.{said}"

    values: dict[str, str] = {}
    if status_code == 401:
        values["region"] = (
            f"The key must come from the same PostHog region as {host}: keys made on "
            "eu.posthog.com do not work on us.posthog.com and the other way round; "
            "check POSTHOG_HOST."
            if not is_us_cloud
            else "If your PostHog is in the EU region, set POSTHOG_HOST=eu."
        )
    if status_code == 429:
        values["retry"] = (
            f"retry in {retry_after:g} s"
            if retry_after is not None
            else "wait a minute before trying again"
        )
    situation = _situation(
        status_code, code, detail, scoped_action=scoped_action, sending=sending_message
    )
    scope = re.search(r"missing required scope '([^']+)'", detail or "")
    if status_code == 403 and scope is not None:
        situation, values["scope"] = "missing_scope", scope.group(1)
    cls = {
        "queue_full": QueueFullError,
        "not_running": QueueNotRunningError,
        "busy": ConversationBusyError,
    }.get(situation, cls)
    if situation == "moved":
        return moved_error(doing, status_code=status_code, body=body, code=code, detail=detail)
    message = f"{head} {advice(situation, 'python', **values)}"
    fields: dict[str, Any] = {
        "status_code": status_code,
        "body": body,
        "code": code,
        "detail": detail,
        "attr": attr,
        "retry_after": retry_after,
    }
    return cls(message, **fields, situation=situation, head=head, values=values)


SANDBOX_REFUSAL = "Sandbox conversations must be opened via the open endpoint."
"""PostHog's 400 detail for a send, reconnect or resume naming a moved conversation (16.3)."""


def moved_error(
    doing: str,
    *,
    status_code: int = 400,
    body: Any = None,
    code: str | None = None,
    detail: str | None = None,
) -> ConversationMovedError:
    """The error for a conversation that moved to the sandbox runtime, whatever PostHog said.

    Args:
        doing: what the client was doing, e.g. "send a message to conversation 6a3e...".
        status_code: PostHog's status (400 for a send; a read found the move otherwise).
        body: PostHog's parsed body, kept for callers that look.
        code: PostHog's error code, if it sent one.
        detail: PostHog's own sentence, if it sent one.
    """
    head = f"Could not {doing}:"
    return ConversationMovedError(
        f"{head} {advice('moved', 'python')}",
        status_code=status_code,
        body=body,
        code=code,
        detail=detail,
        situation="moved",
        head=head,
    )


_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    402: "quota",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limited",
}


def _situation(
    status_code: int, code: str | None, detail: str | None, *, scoped_action: bool, sending: bool
) -> str:
    """What a failed response means for the caller: the key of its advice."""
    if "other users' conversations" in (detail or ""):  # 400 or 403, by endpoint
        return "not_yours"
    if status_code == 400 and SANDBOX_REFUSAL in (detail or ""):
        return "moved"
    if status_code == 403 and scoped_action:
        return "scoped_key"
    if status_code == 409:
        if code in ("queue_full", "not_running"):
            return code
        return "busy" if sending else "conflict"
    if status_code >= 500:
        return "server"
    if 300 <= status_code < 400:
        return "redirect"
    return _BY_STATUS.get(status_code, "unexpected")
