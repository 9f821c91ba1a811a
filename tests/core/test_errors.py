"""The error table: each status and body shape becomes the right error with a useful message."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import max_tools
from max_tools import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MaxError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    UnprocessableEntityError,
)
from tests.fake_posthog import CID, KEY, FakePostHog, json_response


@pytest.mark.parametrize(
    ("status", "body", "error_type", "says"),
    [
        (
            400,
            {
                "type": "validation_error",
                "code": "blank",
                "detail": "This field may not be blank.",
                "attr": "content",
            },
            BadRequestError,
            "field 'content'",
        ),
        (
            401,
            {
                "type": "authentication_error",
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
                "attr": None,
            },
            AuthenticationError,
            "POSTHOG_PERSONAL_API_KEY",
        ),
        (
            402,
            {
                "type": "server_error",
                "code": "quota_limit_exceeded",
                "detail": "Your organization reached its AI credit usage limit.",
                "attr": None,
            },
            QuotaExceededError,
            "credits",
        ),
        (
            403,
            {
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "You do not have permission.",
                "attr": None,
            },
            PermissionDeniedError,
            "conversation:read",
        ),
        (
            404,
            {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None},
            NotFoundError,
            "POSTHOG_PROJECT_ID",
        ),
        (404, {"detail": "Not found."}, NotFoundError, "Not found."),
        (
            409,
            {"type": "server_error", "code": "conflict", "detail": "Conflict", "attr": None},
            ConflictError,
            "current state",
        ),
        (
            422,
            {"error": "Failed to append message"},
            UnprocessableEntityError,
            "Failed to append message",
        ),
        (
            429,
            {"type": "throttled_error", "code": "throttled", "detail": "Slow down.", "attr": None},
            RateLimitError,
            "Rate limited",
        ),
        (500, "<html>Server Error (500)</html>", InternalServerError, "Server Error (500)"),
        (418, {"detail": "I'm a teapot"}, APIStatusError, "teapot"),
        (301, None, APIStatusError, "redirect"),
    ],
)
async def test_each_status_becomes_its_error_with_advice(
    posthog: FakePostHog, status: int, body: Any, error_type: type[APIStatusError], says: str
) -> None:
    if isinstance(body, str):
        answer = httpx.Response(status, text=body)
    else:
        answer = json_response(
            status, body, headers={"Location": "https://eu.posthog.com/"} if status == 301 else None
        )
    posthog.on("GET", f"{CID}/", answer)

    async with posthog.client(max_retries=0) as client:
        with pytest.raises(error_type) as caught:
            await client.get_conversation(CID)

    error = caught.value
    assert type(error) is error_type
    assert error.status_code == status
    assert says in str(error)
    assert str(error).startswith(f"Could not read conversation {CID}: {status}")
    assert isinstance(error, MaxError)


async def test_both_body_shapes_give_code_and_detail(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/queue/", json_response(404, {"error": "Conversation not found"}))
    posthog.on(
        "GET",
        f"{CID}/queue/",
        json_response(
            400,
            {
                "type": "validation_error",
                "code": "invalid_input",
                "detail": "Must be a valid UUID.",
                "attr": "conversation",
            },
        ),
    )

    async with posthog.client() as client:
        with pytest.raises(NotFoundError) as hand_written:
            await client.queue_message(CID, "x")
        with pytest.raises(BadRequestError) as drf:
            await client.get_queue(CID)

    assert hand_written.value.detail == "Conversation not found"
    assert hand_written.value.body == {"error": "Conversation not found"}
    assert (drf.value.code, drf.value.detail, drf.value.attr) == (
        "invalid_input",
        "Must be a valid UUID.",
        "conversation",
    )


async def test_a_401_off_us_cloud_mentions_the_region(posthog: FakePostHog) -> None:
    posthog.on("GET", "", json_response(401, {"detail": "Invalid token."}))

    async with posthog.client(host="eu") as client:
        with pytest.raises(
            AuthenticationError, match=r"same PostHog region as https://eu\.posthog\.com"
        ):
            await client.list_conversations()


async def test_a_401_on_us_cloud_suggests_the_eu_region(posthog: FakePostHog) -> None:
    posthog.on("GET", "", json_response(401, {"detail": "Invalid token."}))

    async with posthog.client() as client:
        with pytest.raises(AuthenticationError, match="POSTHOG_HOST=eu"):
            await client.list_conversations()


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("PATCH", f"{CID}/cancel/", lambda c: c.cancel(CID)),
        ("POST", f"{CID}/append_message/", lambda c: c.append_message(CID, "x")),
        ("GET", f"{CID}/queue/", lambda c: c.get_queue(CID)),
        ("POST", f"{CID}/queue/clear/", lambda c: c.clear_queue(CID)),
    ],
)
@pytest.mark.parametrize(
    "detail",
    [
        "This action does not support personal API key access",  # newest PostHog
        "This action does not support Personal API Key access",  # older PostHog
    ],
)
async def test_a_403_on_custom_actions_explains_the_scoped_key_refusal(
    posthog: FakePostHog, method: str, path: str, call: Any, detail: str
) -> None:
    body = {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": detail,
        "attr": None,
    }
    posthog.on(method, path, json_response(403, body))

    async with posthog.client() as client:
        with pytest.raises(PermissionDeniedError, match="keys that have scopes") as caught:
            await call(client)

    assert detail in str(caught.value)


async def test_the_key_never_appears_in_errors_even_when_echoed(posthog: FakePostHog) -> None:
    posthog.on("GET", f"{CID}/", json_response(401, {"detail": f"Key {KEY} is not valid"}))
    posthog.on("GET", "", httpx.ConnectError(f"failed for Bearer {KEY}"))

    async with posthog.client(max_retries=0) as client:
        with pytest.raises(AuthenticationError) as status_error:
            await client.get_conversation(CID)
        with pytest.raises(max_tools.APIConnectionError) as connection_error:
            await client.list_conversations()

    for error in (status_error.value, connection_error.value):
        assert KEY not in str(error) and KEY not in repr(error)
        assert KEY not in repr(getattr(error, "body", ""))
    assert "[redacted]" in str(status_error.value)


async def test_a_read_timeout_is_an_api_timeout_error_after_retries(posthog: FakePostHog) -> None:
    posthog.on("GET", "", httpx.ReadTimeout("timed out"))

    async with posthog.client(max_retries=1) as client:
        with pytest.raises(APITimeoutError, match="timed out waiting for an answer"):
            await client.list_conversations()

    assert len(posthog.requests) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_reads_are_retried_through_gateway_errors(posthog: FakePostHog, status: int) -> None:
    ok = json_response(200, {"count": 0, "next": None, "previous": None, "results": []})
    posthog.on("GET", "", json_response(status, {"detail": "bad gateway"}), ok)

    async with posthog.client() as client:
        page = await client.list_conversations()

    assert page.count == 0
    assert len(posthog.requests) == 2 and len(posthog.sleeps) == 1


async def test_a_500_is_not_retried(posthog: FakePostHog) -> None:
    posthog.on("GET", "", json_response(500, {"detail": "boom"}))

    async with posthog.client() as client:
        with pytest.raises(InternalServerError):
            await client.list_conversations()

    assert len(posthog.requests) == 1


async def test_append_is_retried_only_when_posthog_surely_did_not_act(posthog: FakePostHog) -> None:
    posthog.on(
        "POST",
        f"{CID}/append_message/",
        json_response(503, None, headers={"Retry-After": "15"}),
        json_response(201, {"id": "m1"}),
    )
    posthog.on(
        "PATCH",
        f"{CID}/cancel/",
        json_response(502, {"detail": "bad gateway"}),
        httpx.Response(204),
    )

    async with posthog.client() as client:
        assert await client.append_message(CID, "note") == "m1"
        await client.cancel(CID)

    assert posthog.sleeps[0] == 15.0
    assert len(posthog.requests) == 4


async def test_append_is_not_retried_after_a_bad_gateway(posthog: FakePostHog) -> None:
    posthog.on("POST", f"{CID}/append_message/", json_response(502, {"detail": "bad gateway"}))

    async with posthog.client() as client:
        with pytest.raises(InternalServerError):
            await client.append_message(CID, "note")

    assert len(posthog.requests) == 1


async def test_retry_after_as_an_http_date_is_understood(posthog: FakePostHog) -> None:
    posthog.on(
        "GET",
        "",
        json_response(
            429, {"detail": "slow"}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        ),
        json_response(200, {"count": 0, "results": []}),
    )

    async with posthog.client() as client:
        await client.list_conversations()

    assert posthog.sleeps == [0.0]  # a date in the past: retry at once
