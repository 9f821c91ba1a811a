"""What the scopes of a PostHog sign-in let a caller do, action by action.

Following PostHog's `APIScopePermission`: ``:write`` covers ``:read`` and ``*`` covers all.
Reading actions need ``conversation:read``, the others ``conversation:write``, and the chart
action ``query:read`` besides (it runs the chart's query).
"""

from __future__ import annotations

from collections.abc import Sequence

from max_tools.agent import ACTIONS_BY_NAME

__all__ = ["covers", "missing_scope"]

_CHART_ACTION = "max_get_chart"  # the one action that runs a query of its own


def covers(granted: frozenset[str], scope: str) -> bool:
    """Whether `granted` includes `scope` (``kind:write`` covers ``kind:read``, ``*`` all)."""
    if "*" in granted or scope in granted:
        return True
    kind, _, level = scope.partition(":")
    return level == "read" and f"{kind}:write" in granted


def missing_scope(action: str, granted: frozenset[str]) -> str | None:
    """The scope `action` (a catalogue name, e.g. ``max_chat``) needs that `granted` lacks.

    None when it may be used. An unknown name counts as an action that writes.
    """
    known = ACTIONS_BY_NAME.get(action)
    read_only = known is not None and known.read_only
    needed: Sequence[str] = (("conversation:read",) if read_only else ("conversation:write",)) + (
        ("query:read",) if action == _CHART_ACTION else ()
    )
    for scope in needed:
        if not covers(granted, scope):
            return scope
    return None
