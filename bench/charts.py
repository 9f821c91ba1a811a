"""Chart rendering: query result to PNG with max-tools, against vl-convert-python on the same spec.

The baseline renders the same Vega-Lite spec with `vl_convert.vegalite_to_png` directly, in the
same run; the figure that matters is the ratio max-tools / baseline (target <= 1.2). Then the
sizes: the PNG of a 30-point trend (target <= 100 KB) and the Markdown table of 3 series of 30
points (target <= 2,000 characters).

Run: uv run python -m bench.charts [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import vl_convert

from max_tools import Chart, QueryResult, Series
from max_tools.agent import render_chart
from max_tools.charts import to_png, vega_lite

DAYS = [f"2026-11-{day:02d}" for day in range(1, 31)]


def trend(series: int) -> tuple[Chart, QueryResult]:
    query = {"kind": "TrendsQuery", "series": [{"event": "$pageview"}], "interval": "day"}
    chart = Chart(index=1, kind="TrendsQuery", query=query, title="Weekly signups by country")
    result = QueryResult(
        kind="TrendsQuery",
        series=[
            Series(
                label=f"Country {n}",
                days=DAYS,
                labels=DAYS,
                data=[float(100 + (i * 37 + n * 11) % 90) for i in range(30)],
                count=0,
            )
            for n in range(series)
        ],
    )
    return chart, result


def timed(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    chart, result = trend(1)
    spec = vega_lite(chart, result)
    to_png(spec)  # warm both up (vl-convert starts its engine on first use)
    ours = timed(lambda: to_png(vega_lite(chart, result)), rounds)
    baseline = timed(lambda: vl_convert.vegalite_to_png(spec), rounds)
    png = to_png(spec)
    three = trend(3)
    table, _ = render_chart("6a3e2c1e-8f1b-4a55-9f6e-0c3b8d1a2f77", *three)
    print("chart rendering, query result to PNG (median of", rounds, "rounds)")
    print(f"  max-tools (spec + PNG)  : {ours * 1000:8.1f} ms")
    print(f"  vl-convert, same spec   : {baseline * 1000:8.1f} ms")
    print(f"  ratio                   : {ours / baseline:8.2f}  (target <= 1.2)")
    print("sizes")
    print(f"  PNG, 30-point trend     : {len(png) / 1000:8.1f} KB  (target <= 100)")
    print(f"  table, 3 x 30 points    : {len(table):8d} chars  (target <= 2,000)")


if __name__ == "__main__":
    main()
