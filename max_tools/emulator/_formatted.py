"""``formatted_results``: the text PostHog adds for MCP clients (header ``X-POSTHOG-CLIENT: mcp``).

PostHog renders a query's results for a language model (``format_query_results_for_llm``,
reference 15.3). Its exact form is not pinned by the reference [I]; the emulator writes the
same numbers as the response in plain lines: one ``date|value|...`` table per trends response
(one column per series), a ``column|column`` table for HogQL, the raw results otherwise.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["formatted_results"]


def formatted_results(query: dict[str, Any], response: dict[str, Any]) -> str:
    """The response's results as text lines for a language model."""
    results = response.get("results")
    if query.get("kind") == "HogQLQuery" and isinstance(results, list):
        lines = ["|".join(str(column) for column in response.get("columns") or [])]
        lines += ["|".join(str(value) for value in row) for row in results]
        return "\n".join(lines)
    if query.get("kind") == "TrendsQuery" and isinstance(results, list) and results:
        if "aggregated_value" in results[0]:
            return "\n".join(f"{item['label']}: {item['aggregated_value']}" for item in results)
        lines = ["Date|" + "|".join(str(item["label"]) for item in results)]
        for index, day in enumerate(results[0]["days"]):
            lines.append("|".join([day, *(str(item["data"][index]) for item in results)]))
        return "\n".join(lines)
    return json.dumps(results)
