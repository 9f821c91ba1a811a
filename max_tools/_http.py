"""The one place that talks HTTP: sends requests, retries, and turns httpx errors into ours."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

import httpx
from pydantic import BaseModel, ValidationError

from max_tools._config import Settings
from max_tools._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    SignInExpiredError,
    StreamError,
    make_status_error,
)
from max_tools._oauth import expired_error
from max_tools._retry import Attempts, Repeatable
from max_tools._signin_key import SignedInKey
from max_tools._sse import SSEDecoder, SSEEvent
from max_tools._version import __version__

__all__ = ["DEFAULT_TIMEOUT", "Created", "HTTPCore", "Sleep", "parse_answer"]

ModelT = TypeVar("ModelT", bound=BaseModel)

logger = logging.getLogger("max_tools")

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)
"""Connect 10 s; read 60 s between bytes (PostHog sends a keep-alive after 15 s of silence)."""

USER_AGENT = f"max-tools/{__version__}"
_EXPECTED_AVAILABLE = re.compile(r"available in (\d+) second")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class HTTPCore:
    """Sends requests to one PostHog project's conversations API."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.AsyncClient,
        timeout: httpx.Timeout | None,
        max_retries: int,
        sleep: Sleep,
    ) -> None:
        self.settings = settings
        self.max_retries = max_retries
        self.sleep = sleep
        self._client = client
        self._timeout = timeout
        self._key = settings.api_key
        self._headers = {"User-Agent": USER_AGENT}

    def url(self, path: str) -> str:
        """The absolute URL of `path`, relative to the conversations collection.

        A path that starts with ``/`` is relative to the project instead (``/query/``).
        """
        if path.startswith("/"):
            return f"{self.settings.host}/api/environments/{self.settings.project_id}{path}"
        return self.settings.api_base + path

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, int] | None = None,
        stream: bool = False,
        doing: str,
    ) -> httpx.Response:
        """Send one request, once. Raises `APIConnectionError` / `APITimeoutError` on no answer.

        With `stream=True` the body is not read; the caller closes the response. With a
        sign-in, a token about to end is refreshed first, and a 401 to a token is answered by
        refreshing it and sending the request once more (PostHog looks tokens up on every
        request, so a 401 has changed nothing).

        Raises:
            SignInExpiredError: PostHog refused to refresh the sign-in.
        """
        key = self._key
        if not isinstance(key, SignedInKey):
            return await self._send_once(
                method, path, key.get_secret_value(), json, params, stream, doing
            )
        token = await self._signed_in(key.fresh(self._client), doing)
        response = await self._send_once(method, path, token, json, params, stream, doing)
        if response.status_code != 401:
            return response
        await response.aclose()
        token = await self._signed_in(key.refresh(self._client, rejected=token), doing)
        return await self._send_once(method, path, token, json, params, stream, doing)

    async def _signed_in(self, getting: Awaitable[str], doing: str) -> str:
        """A sign-in's token; a refresh that failed for good says what the request was."""
        try:
            return await getting
        except SignInExpiredError:
            raise expired_error(doing) from None

    async def _send_once(
        self,
        method: str,
        path: str,
        token: str,
        json: Any,
        params: dict[str, int] | None,
        stream: bool,
        doing: str,
    ) -> httpx.Response:
        headers = dict(self._headers)
        headers["Authorization"] = f"Bearer {token}"
        headers["Accept"] = "text/event-stream" if stream else "application/json"
        request = self._client.build_request(
            method,
            self.url(path),
            json=json,
            params=params,
            headers=headers,
            timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        started = time.perf_counter()
        try:
            with self.transport_errors(doing=doing):
                response = await self._client.send(request, stream=stream)
        except APIConnectionError:
            logger.debug("%s %s -> no answer", method, request.url.path)
            raise
        logger.debug(
            "%s %s -> %d in %.3f s",
            method,
            request.url.path,
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    def connection_error(self, exc: httpx.TransportError, *, doing: str) -> APIConnectionError:
        """Our error for an httpx transport error."""
        sent = not isinstance(exc, _NOT_SENT)
        host = self.settings.host
        if isinstance(exc, httpx.TimeoutException):
            phase = {
                httpx.ConnectTimeout: "connecting to",
                httpx.PoolTimeout: "waiting for a free connection to",
                httpx.WriteTimeout: "sending to",
            }.get(type(exc), "waiting for an answer from")
            return APITimeoutError(
                f"Could not {doing}: timed out {phase} {host}. Check the network and "
                "POSTHOG_HOST, then try again.",
                request_sent=sent,
            )
        reason = self._scrub(str(exc)) or type(exc).__name__
        return APIConnectionError(
            f"Could not {doing}: no answer from {host} ({reason}). Check the network and "
            "POSTHOG_HOST, then try again.",
            request_sent=sent,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        repeatable: Repeatable,
        json: Any = None,
        params: dict[str, int] | None = None,
        scoped_action: bool = False,
        gone_ok_on_repeat: bool = False,
    ) -> httpx.Response | None:
        """Send a request with retries and return the successful (2xx) response.

        Args:
            method: the HTTP method.
            path: relative to the conversations collection.
            doing: what this does, for error messages ("cancel conversation ...").
            repeatable: how safe it is to send it again.
            json: the JSON body.
            params: query parameters.
            scoped_action: PostHog refuses this endpoint to scoped keys (for the 403 message).
            gone_ok_on_repeat: a 404 after an attempt that may have landed means it did:
                return None instead of raising (deletes).

        Raises:
            APIStatusError: PostHog answered with an error status (a subclass per status).
            APIConnectionError: no answer, after the retries allowed.
        """
        attempts = self.attempts(repeatable)
        while True:
            try:
                response = await self.send(method, path, json=json, params=params, doing=doing)
            except APIConnectionError as error:
                delay = attempts.after_no_answer(request_sent=error.request_sent)
                if delay is None:
                    raise
                await self.pause(delay, why=str(error))
                continue
            if response.is_success:
                return response
            if response.status_code == 404 and attempts.maybe_landed and gone_ok_on_repeat:
                return None
            error_ = self.status_error(response, doing=doing, scoped_action=scoped_action)
            delay = attempts.after_status(response.status_code, error_.retry_after)
            if delay is None:
                raise error_
            await self.pause(delay, why=f"{response.status_code} answer")

    def attempts(self, repeatable: Repeatable = Repeatable.ALWAYS) -> Attempts:
        """A fresh count of attempts for one request, under this client's retry limit."""
        return Attempts(max_retries=self.max_retries, repeatable=repeatable)

    async def pause(self, delay: float, *, why: str) -> None:
        """Wait before a retry."""
        logger.info("Retrying in %.2f s after %s", delay, why)
        await self.sleep(delay)

    def status_error(
        self,
        response: httpx.Response,
        *,
        doing: str,
        scoped_action: bool = False,
        sending_message: bool = False,
    ) -> APIStatusError:
        """Our error for an error response whose body has been read."""
        text = self._scrub(response.text)
        if response.status_code == 401 and isinstance(self._key, SignedInKey):
            return expired_error(doing)  # refreshed and still refused: revoked
        return make_status_error(
            response.status_code,
            text,
            doing=doing,
            host=self.settings.host,
            is_us_cloud=self.settings.is_us_cloud,
            retry_after=_parse_retry_after(response, text),
            scoped_action=scoped_action,
            sending_message=sending_message,
        )

    @asynccontextmanager
    async def event_stream(
        self, body: Any, *, doing: str, sending_message: bool
    ) -> AsyncIterator[AsyncGenerator[list[SSEEvent], None]]:
        """POST `body` to the conversations endpoint and own the streaming response.

        Yields its SSE events, in batches: those each chunk of the body finishes (transport
        errors while reading come as ours). An error status is
        read and raised as `APIStatusError`; whatever happens, the response is closed on exit.
        """
        response = await self.send("POST", "", json=body, stream=True, doing=doing)
        try:
            if not response.is_success:  # 200 in practice; PostHog's docs say 201
                with self.transport_errors(doing=doing):
                    await response.aread()
                raise self.status_error(response, doing=doing, sending_message=sending_message)
            events = self._sse(response, doing=doing)
            try:
                yield events
            finally:
                await events.aclose()
        finally:
            await response.aclose()

    async def _sse(
        self, response: httpx.Response, *, doing: str
    ) -> AsyncGenerator[list[SSEEvent], None]:
        # Checked when reading starts, so a wrong answer surfaces where the events are read.
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            raise StreamError(
                f"Could not {doing}: expected an event stream (Content-Type "
                f"text/event-stream), got {content_type or 'no content type'!r}. Check that "
                "POSTHOG_HOST points at PostHog itself, not a proxy or login page."
            )
        decoder = SSEDecoder()
        chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
        try:
            with self.transport_errors(doing=doing):
                async for chunk in chunks:
                    if events := decoder.feed(chunk):
                        yield events
        finally:
            await chunks.aclose()

    @contextmanager
    def transport_errors(self, *, doing: str) -> Iterator[None]:
        """Turn httpx transport errors into ours (the one place this translation happens)."""
        try:
            yield
        except httpx.TransportError as exc:
            raise self.connection_error(exc, doing=doing) from exc

    def _scrub(self, text: str) -> str:
        key = self._key
        for secret in key.secrets() if isinstance(key, SignedInKey) else [key.get_secret_value()]:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text


def _parse_retry_after(response: httpx.Response, text: str) -> float | None:
    if response.status_code not in (429, 503):
        return None
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                return None
            return max(0.0, when.timestamp() - time.time())
    found = _EXPECTED_AVAILABLE.search(text)  # DRF: "Expected available in 42 seconds."
    return float(found.group(1)) if found else None


class Created(BaseModel):
    """The answer of an endpoint that creates one thing."""

    id: str


def parse_answer(model: type[ModelT], response: httpx.Response | None, doing: str) -> ModelT:
    if response is None:
        raise APIError(f"Could not {doing}: PostHog sent no answer to read.")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        content_type = response.headers.get("content-type", "no content type")
        raise APIError(
            f"Could not {doing}: PostHog answered {response.status_code} ({content_type}) with "
            f"something that is not a {model.__name__.lstrip('_')}. Check that POSTHOG_HOST "
            "points at PostHog itself."
        ) from exc
