"""Without the `charts` extra, the faces still give a chart's numbers, and say what is missing.

The extra (vl-convert-python) is installed for the suite, so these tests run our commands in a
child process where importing it fails, as it does where it is not installed.
"""

from __future__ import annotations

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters
from mcp_types import ImageContent, TextContent

from max_tools.emulator import RunningEmulator
from tests.mcp.results import data, text

_WITHOUT_EXTRA = "import sys; sys.modules['vl_convert'] = None; "


async def test_max_get_chart_gives_the_table_and_the_spec_but_no_picture() -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=[
            "-c",
            _WITHOUT_EXTRA + "from mcp_server.cli import main; sys.exit(main(['--emulator']))",
        ],
    )
    with anyio.fail_after(60):
        async with Client(server) as mcp:
            asked = await mcp.call_tool("max_chat", {"message": "Plot weekly signups"})
            chart = await mcp.call_tool(
                "max_get_chart", {"conversation_id": data(asked)["conversation_id"]}
            )

    assert not chart.is_error, text(chart)
    assert [type(block) for block in chart.content] == [TextContent]  # no ImageContent
    assert not any(isinstance(block, ImageContent) for block in chart.content)
    assert "| day | $pageview |" in text(chart)
    assert data(chart)["series"] and data(chart)["vega_lite"]["mark"]["type"] == "line"


async def test_the_command_line_prints_the_table_and_names_the_extra_for_a_png(
    emulator: RunningEmulator,
) -> None:
    async def cli(*args: str) -> tuple[int, str, str]:
        code = _WITHOUT_EXTRA + f"from max_tools.cli import main; sys.exit(main({list(args)!r}))"
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, "-c", code], env={**os.environ, **emulator.env()}, check=False
            )
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    _, asked, _ = await cli("chat", "Plot weekly signups", "--json")
    cid = json.loads(asked)["conversation_id"]

    table_code, table, _ = await cli("chart", cid)
    png_code, _, png_err = await cli("chart", cid, "--png", "never-written.png")

    assert table_code == 0 and "$pageview" in table
    assert png_code == 2, png_err
    assert "pip install 'max-tools[charts]'" in png_err and "Traceback" not in png_err
