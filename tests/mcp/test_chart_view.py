"""max_get_chart's MCP Apps view, opened in real headless Chromium inside a small host page.

The host page (served on 127.0.0.1) plays the host's side of the MCP Apps protocol: it frames
the ``ui://`` resource's HTML, answers ``ui/initialize`` with a theme, and after
``ui/notifications/initialized`` sends the tool input and the real tool result that max-mcp
returned through the official MCP client. Chromium takes a screenshot, which is read back.

Chromium comes from Debian's packages; ``scripts/check`` installs it when it runs as root.
Without it this test fails under CI and is skipped, saying what is missing, elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import TextResourceContents
from PIL import Image

from max_tools import AsyncMaxClient
from mcp_server import build_server
from tests.mcp.results import data

VIEW_URI = "ui://max-tools/chart"
SERIES_COLOURS = {"#4c78a8", "#f58518", "#e45756"}  # Vega's first three category colours
WIDTH, HEIGHT = 760, 900

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
html,body{margin:0;background:#808080}iframe{border:0;width:100%;height:100vh;display:block}
</style></head><body><iframe id="view" src="/view.html"></iframe><script>
const THEME = __THEME__, ARGUMENTS = __ARGUMENTS__, RESULT = __RESULT__;
const view = document.getElementById("view");
const send = (message) => view.contentWindow.postMessage({jsonrpc: "2.0", ...message}, "*");
window.addEventListener("message", (event) => {
  if (event.source !== view.contentWindow) return;
  const message = event.data;
  if (message.method === "ui/initialize") {
    send({id: message.id, result: {
      protocolVersion: "2026-01-26",
      hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: {},
      hostContext: {theme: THEME, displayMode: "inline", platform: "web"},
    }});
  } else if (message.method === "ui/notifications/initialized") {
    send({method: "ui/notifications/tool-input", params: {arguments: ARGUMENTS}});
    send({method: "ui/notifications/tool-result", params: RESULT});
  }
});
</script></body></html>"""


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = (
            "Chromium is not installed, so the MCP Apps view cannot be opened in a browser: "
            "install Debian's package with `apt-get install -y chromium` (scripts/check does so "
            "when it runs as root)."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture
async def apps_host(max_client: AsyncMaxClient) -> AsyncIterator[Client]:
    """The official MCP client, announcing MCP Apps support as a host that renders views does."""
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(build_server(max_client), extensions=[apps]) as client:
        yield client


@contextmanager
def served(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve `pages` (path -> HTML) on a free 127.0.0.1 port; yields the base URL."""

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def screenshot(chromium: str, url: str, out: Path) -> Image.Image:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--virtual-time-budget=10000",
            f"--screenshot={out}",
            url,
        ]
        with anyio.fail_after(90):
            await anyio.run_process(command, check=True)
    image = Image.open(out).convert("RGB")
    image.load()
    return image


async def open_view(
    apps_host: Client, chromium: str, theme: str, out: Path
) -> tuple[Image.Image, dict[str, Any]]:
    asked = data(
        await apps_host.call_tool("max_chat", {"message": "Plot weekly signups by country"})
    )
    arguments = {"conversation_id": asked["conversation_id"], "chart": 1}
    result = await apps_host.call_tool("max_get_chart", arguments)
    [resource] = (await apps_host.read_resource(VIEW_URI)).contents
    assert isinstance(resource, TextResourceContents) and resource.mime_type == APP_MIME_TYPE
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    host = (
        HOST_PAGE.replace("__THEME__", json.dumps(theme))
        .replace("__ARGUMENTS__", json.dumps(arguments))
        .replace("__RESULT__", json.dumps(wire).replace("</", "<\\/"))
    )
    pages = {"/host.html": host.encode(), "/view.html": resource.text.encode()}
    with served(pages) as base:
        image = await screenshot(chromium, f"{base}/host.html", out)
    return image, data(result)


def colours(image: Image.Image) -> set[tuple[int, ...]]:
    counted = image.getcolors(maxcolors=image.width * image.height) or []
    return {colour for _, colour in counted if isinstance(colour, tuple)}


def near(colour: tuple[int, ...], hex_colour: str, tolerance: int = 24) -> bool:
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def luminance(colour: tuple[int, ...]) -> float:
    red, green, blue = colour
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_view_draws_the_chart_and_table_in_the_hosts_theme(
    apps_host: Client, chromium: str, theme: str, tmp_path: Path
) -> None:
    image, result = await open_view(apps_host, chromium, theme, tmp_path / f"view-{theme}.png")

    assert image.size == (WIDTH, HEIGHT)
    background = image.getpixel((5, 5))
    assert isinstance(background, tuple)
    if theme == "dark":
        assert luminance(background) < 60, background
    else:
        assert luminance(background) > 220, background
    # The chart: its three series (one per country) are drawn in three distinct colours.
    chart_colours = colours(image.crop((0, 30, WIDTH, 400)))
    drawn = {hexa for hexa in SERIES_COLOURS if any(near(c, hexa) for c in chart_colours)}
    assert drawn == SERIES_COLOURS
    assert len(chart_colours) > 20  # lines, points, axes and labels, not a blank area
    # The table below it: text in the page's foreground colour, on the theme's background.
    table_colours = colours(image.crop((0, 420, WIDTH, HEIGHT)))
    text_like = [c for c in table_colours if abs(luminance(c) - luminance(background)) > 120]
    assert text_like, "no text was drawn below the chart"
    assert len(result["series"]) == 3


async def test_the_tool_links_the_view_and_only_apps_hosts_get_the_svg(
    apps_host: Client, mcp: Client
) -> None:
    [chart_tool] = [t for t in (await apps_host.list_tools()).tools if t.name == "max_get_chart"]
    assert chart_tool.meta == {"ui": {"resourceUri": VIEW_URI}}
    listed = {r.uri: r for r in (await apps_host.list_resources()).resources}
    assert listed[VIEW_URI].mime_type == APP_MIME_TYPE
    [page] = (await apps_host.read_resource(VIEW_URI)).contents
    assert isinstance(page, TextResourceContents)
    assert "<script src" not in page.text and "https://" not in page.text  # nothing to fetch
    assert len(page.text) <= 8_000
    asked = data(await mcp.call_tool("max_chat", {"message": "Plot weekly signups"}))
    arguments = {"conversation_id": asked["conversation_id"]}

    for_apps = await apps_host.call_tool("max_get_chart", arguments)
    plain = await mcp.call_tool("max_get_chart", arguments)

    svg = (for_apps.meta or {})["max-tools/chart-svg"]
    assert svg.startswith("<svg") and 'stroke="currentColor"' in svg
    assert 'fill="white"' not in svg  # no background of its own: the page's shows through
    assert "max-tools/chart-svg" not in (plain.meta or {})
    assert data(for_apps) == data(plain)  # the model's share is the same for every host
