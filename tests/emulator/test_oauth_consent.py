"""The emulator's consent page and client ID metadata documents, over HTTP."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.responses import JSONResponse

from max_tools.emulator import RunningEmulator
from max_tools.serving import serve_asgi
from tests.emulator.oauth import Code, authorize_params, pkce, query, register
from tests.mcp.test_chart_view import chromium, screenshot

__all__ = ["chromium"]  # the fixture, shared with the chart view's browser test

pytestmark = pytest.mark.anyio


class Form(HTMLParser):
    """The consent form's fields: inputs, selects (with their options), and the buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self.buttons: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found["value"]
        elif tag == "select":
            self._select = found["name"]
            self.selects[found["name"]] = []
        elif tag == "option" and self._select is not None:
            self.selects[self._select].append((found["value"], "selected" in found))
        elif tag == "button":
            self.buttons.append((found["name"], found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def chosen(self) -> dict[str, str]:
        """What the browser would send as the selects stand."""
        return {
            name: next((value for value, selected in options if selected), options[0][0])
            for name, options in self.selects.items()
        }


async def _page(http: httpx.AsyncClient) -> tuple[Form, str, dict[str, str]]:
    """The consent page for a newly registered client whose name holds markup."""
    client = await register(http, client_name="Acme <b>Agent</b>")
    return await _page_for(http, client["client_id"])


async def _page_for(http: httpx.AsyncClient, client_id: str) -> tuple[Form, str, dict[str, str]]:
    """The consent page for `client_id`, with the verifier and request a code would need."""
    verifier, challenge = pkce()
    params = authorize_params(client_id, code_challenge=challenge)
    response = await http.get("/oauth/authorize/", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    form = Form()
    form.feed(response.text)
    return form, verifier, params


@pytest.mark.parametrize("emulator_options", [{"project_ids": [1, 2]}])
async def test_the_consent_page_shows_the_client_its_scopes_and_the_projects(
    http: httpx.AsyncClient,
) -> None:
    form, _, _ = await _page(http)
    text = " ".join(form.text)
    assert "Authorize Acme Agent" in " ".join(text.split())
    assert [value for value, _ in form.selects["scope_conversation"]] == ["write", "read", "none"]
    assert [value for value, _ in form.selects["scope_query"]] == ["read", "none"]
    assert [value for value, _ in form.selects["project"]] == ["all", "1", "2"]
    assert [value for value, _ in form.selects["user_id"]] == ["1"]
    assert ("allow", "true") in form.buttons
    assert ("allow", "false") in form.buttons
    assert form.hidden["state"] == "st4te"


@pytest.mark.parametrize("emulator_options", [{"project_ids": [1, 2]}])
async def test_allowing_on_the_consent_page_gives_a_code_for_what_was_chosen(
    http: httpx.AsyncClient,
) -> None:
    form, verifier, params = await _page(http)
    choices = {**form.hidden, **form.chosen(), "scope_query": "none", "project": "2"}
    answer = await http.post("/oauth/authorize/", data={**choices, "allow": "true"})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:53682/callback?code=")
    assert query(location)["state"] == "st4te"
    code = Code(query(location)["code"], verifier, params)
    tokens = await http.post("/oauth/token/", data=code.token_request())
    assert tokens.json()["scope"] == "conversation:write"
    assert tokens.json()["scoped_teams"] == [2]


async def test_denying_on_the_consent_page_redirects_with_access_denied(
    http: httpx.AsyncClient,
) -> None:
    form, _, _ = await _page(http)
    answer = await http.post("/oauth/authorize/", data={**form.hidden, "allow": "false"})
    assert answer.status_code == 302
    assert query(answer.headers["location"]) == {"error": "access_denied", "state": "st4te"}


async def test_the_spa_style_json_consent_answers_redirect_to(http: httpx.AsyncClient) -> None:
    form, _, _ = await _page(http)
    body = {
        **form.hidden,
        "scope": "conversation:read",
        "access_level": "team",
        "scoped_teams": [1],
        "allow": True,
    }
    answer = await http.post("/oauth/authorize/", json=body)
    assert answer.status_code == 200
    assert "code" in query(answer.json()["redirect_to"])
    denied = await http.post("/oauth/authorize/", json={**body, "allow": False})
    assert query(denied.json()["redirect_to"])["error"] == "access_denied"


# Client ID metadata documents

CIMD_URL = "https://tool.example.com/oauth/client-metadata.json"


async def test_a_registered_metadata_document_is_the_client(http: httpx.AsyncClient) -> None:
    document = {
        "client_id": CIMD_URL,
        "client_name": "Example tool",
        "redirect_uris": ["http://127.0.0.1/callback"],
    }
    await http.post("/_emulator/oauth/cimd", json={"client_id": CIMD_URL, "document": document})
    form, _, _ = await _page_for(http, CIMD_URL)
    assert "Example tool" in " ".join(form.text)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"client_id": CIMD_URL + "/", "redirect_uris": ["http://127.0.0.1/cb"]}, "client_id"),
        ({"client_id": CIMD_URL, "redirect_uris": []}, "redirect_uris"),
        ({"client_id": CIMD_URL, "redirect_uris": ["http://127.0.0.1/a b"]}, "redirect_uris"),
        (
            {
                "client_id": CIMD_URL,
                "redirect_uris": ["http://127.0.0.1/cb"],
                "token_endpoint_auth_method": "client_secret_post",
            },
            "token_endpoint_auth_method",
        ),
        (["not", "an", "object"], "object"),
    ],
)
async def test_a_metadata_document_posthog_refuses_is_a_400(
    http: httpx.AsyncClient, document: Any, problem: str
) -> None:
    await http.post("/_emulator/oauth/cimd", json={"client_id": CIMD_URL, "document": document})
    response = await http.get("/oauth/authorize/", params=authorize_params(CIMD_URL))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert problem in response.json()["error_description"]


@pytest.mark.parametrize("emulator_options", [{"cimd_http_loopback": True}])
async def test_an_http_loopback_metadata_document_is_fetched_when_allowed(
    http: httpx.AsyncClient,
) -> None:
    seen: list[dict[str, str]] = []
    document: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        response = JSONResponse(document)
        await response(scope, receive, send)

    async with serve_asgi(app, host="127.0.0.1", port=0) as port:
        url = f"http://127.0.0.1:{port}/client.json"
        document.update(
            client_id=url, client_name="Local tool", redirect_uris=["http://127.0.0.1/callback"]
        )
        form, _, _ = await _page_for(http, url)
    assert "Local tool" in " ".join(form.text)
    assert seen[0]["user-agent"] == "PostHog-CIMD/1.0"
    assert seen[0]["accept"] == "application/json"


async def test_an_http_client_id_is_not_a_metadata_document_by_default(
    http: httpx.AsyncClient,
) -> None:
    params = authorize_params("http://127.0.0.1:9/client.json")
    response = await http.get("/oauth/authorize/", params=params)
    assert response.json()["error_description"] == "Invalid client_id parameter value."


ALLOW_BLUE = (0x1D, 0x4A, 0xFF)


async def test_the_consent_page_renders_in_headless_chromium(
    http: httpx.AsyncClient, emulator: RunningEmulator, chromium: str, tmp_path: Path
) -> None:
    client = await register(http, client_name="Acme Agent")
    url = f"{emulator.url}/oauth/authorize/?{urlencode(authorize_params(client['client_id']))}"
    out = tmp_path / "consent.png"
    image = await screenshot(chromium, url, out)
    colours = image.getcolors(maxcolors=1 << 20) or []
    blue = sum(count for count, colour in colours if colour == ALLOW_BLUE)
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert blue > 1500, "the Allow button is not drawn"
    assert white > image.width * image.height // 4, "the consent card is not drawn"
