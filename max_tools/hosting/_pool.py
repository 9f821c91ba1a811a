"""The one connection pool a hosted face sends every caller's PostHog requests through."""

from __future__ import annotations

import http.cookiejar
import urllib.request

import httpx

__all__ = ["shared_http_client"]


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: a cookie one user's answer set never reaches another."""

    def extract_cookies(self, response: object, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


def shared_http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The connection pool every request's client shares: no cookies, no credentials in it.

    Args:
        transport: what requests go through (tests record or fake PostHog there).
    """
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        follow_redirects=False,
        cookies=_NoCookies(),
    )
