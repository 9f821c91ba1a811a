"""Show PostHog AI's chart in a notebook: ask, get the chart's numbers, draw them.

Works in Jupyter as it is (`MaxClient` runs on its own thread, so no event-loop trouble): the
Vega-Lite spec is drawn by altair when it is installed, else the PNG (extra `charts`) is shown
with IPython's display. Run as a script, it prints the table and writes chart.png.
"""

import importlib
from pathlib import Path
from typing import Any

from max_tools import MaxClient
from max_tools.agent import render_chart
from max_tools.charts import to_png, vega_lite


def optional(module: str) -> Any:
    """A module that may not be installed (IPython, altair), or None."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def show(spec: dict[str, Any], png: bytes) -> None:
    """Draw the chart in a notebook, or say where it went."""
    ipython, display = optional("IPython"), optional("IPython.display")
    if ipython is not None and display is not None and ipython.get_ipython() is not None:
        altair = optional("altair")
        if altair is not None:
            display.display(altair.Chart.from_dict(spec))
        else:
            display.display(display.Image(png))
        return
    Path("chart.png").write_bytes(png)
    print(f"chart.png written ({len(png) // 1000} KB)")


with MaxClient.from_env() as client:
    reply = client.ask("Plot weekly signups by country")
    print(reply.text)
    chart, result = client.chart_data(reply.conversation_id, 1)
    table, _ = render_chart(reply.conversation_id, chart, result)
    print(table)
    spec = vega_lite(chart, result)
    show(spec, to_png(spec))
