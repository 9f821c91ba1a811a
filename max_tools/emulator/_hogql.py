"""A small HogQL reader: what a ``HogQLQuery`` selects, or why PostHog would refuse it.

Not a parser of HogQL: enough of one to refuse what PostHog refuses in the queries people and
agents write (a statement that is not a SELECT, a table or a field that does not exist) with
PostHog's messages and error codes, and to name the result's columns.

PostHog's query view turns an exposed HogQL error into a DRF ``ValidationError`` carrying the
error's ``code_name`` (``posthog/api/query.py``: ``ValidationError(str(e), getattr(e,
"code_name", None))``): ``hogql_syntax_error`` for a syntax error, ``hogql_query_error`` for a
query that parses but names a table or field that does not exist (``posthog/hogql/errors.py``).
The messages are the resolver's: ``Unable to resolve field: foo``, ``Unknown table `foo`.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HogQLError", "Select", "read_select"]

TABLES: dict[str, frozenset[str]] = {
    "events": frozenset(
        {
            "uuid",
            "event",
            "properties",
            "timestamp",
            "distinct_id",
            "elements_chain",
            "elements_chain_href",
            "elements_chain_texts",
            "elements_chain_ids",
            "elements_chain_elements",
            "created_at",
            "$session_id",
            "$window_id",
            "person_id",
            "person",
            "pdi",
            "poe",
            "session",
            "event_person_id",
            *(f"{prefix}{index}" for prefix in ("$group_", "group_", "goe_") for index in range(5)),
        }
    ),
    "persons": frozenset(
        {"id", "created_at", "team_id", "properties", "is_identified", "pdi", "$virt_revenue"}
    ),
    "person_distinct_ids": frozenset({"distinct_id", "person_id", "person", "team_id"}),
    "sessions": frozenset(
        {
            "session_id",
            "distinct_id",
            "id",
            "$start_timestamp",
            "$end_timestamp",
            "$session_duration",
            "duration",
            "$entry_current_url",
            "$entry_pathname",
            "$end_current_url",
            "$end_pathname",
            "$entry_referring_domain",
            "$entry_utm_source",
            "$entry_utm_campaign",
            "$entry_utm_medium",
            "$channel_type",
            "$pageview_count",
            "$autocapture_count",
            "$screen_count",
            "$is_bounce",
            "$last_external_click_url",
            "person",
            "pdi",
            "events",
        }
    ),
    "groups": frozenset({"index", "key", "created_at", "team_id", "properties"}),
}
"""PostHog's core HogQL tables and their top-level fields (nested keys are not checked)."""

_KEYWORDS = frozenset(
    """
    select distinct from where prewhere group by having order limit offset with ties as asc
    desc nulls first last and or not in like ilike is null true false between case when then
    else end on using join inner left right full outer cross any all array interval second
    minute hour day week month quarter year settings sample final window over partition rows
    range unbounded preceding following current row exists union except intersect cast
    """.split()  # noqa: SIM905  # a word list reads better as words than as 76 quoted lines
)
"""Words that are syntax, not field names."""
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_CLAUSES = re.compile(
    r"(?is)^select\s+(?P<select>.+?)"
    r"(?:\s+from\s+(?P<from>.+?))?"
    r"(?:\s+(?:where|prewhere)\s+(?P<where>.+?))?"
    r"(?:\s+group\s+by\s+(?P<group>.+?))?"
    r"(?:\s+having\s+(?P<having>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>.+?))?"
    r"(?:\s+limit\s+(?P<limit>\d+)(?:\s+offset\s+(?P<offset>\d+))?)?\s*;?\s*$"
)
_FROM = re.compile(r"(?is)^(?P<table>[A-Za-z_][\w.]*)(?:\s+(?:as\s+)?(?P<alias>[A-Za-z_]\w*))?$")
_ALIAS = re.compile(r"(?i)\bas\s+([A-Za-z_$][\w$]*)")
_CHAIN = re.compile(r"(?<![\w$.'])([A-Za-z_$][\w$]*+)(?:\.([A-Za-z_$][\w$]*+))?(?!\s*\()")
_QUOTED = re.compile(r'"([^"]*)"|`([^`]*)`')


class HogQLError(Exception):
    """A query PostHog refuses: `code` is the error's ``code_name``, the message its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Select:
    """What a SELECT asks for: its columns (alias or printed expression) and its LIMIT."""

    text: str
    columns: list[str]
    limit: int | None
    table: str | None
    """The table selected from; None for a select without FROM (one row)."""


def read_select(text: str) -> Select:
    """Read a HogQL SELECT.

    Raises:
        HogQLError: a syntax error, an unknown table or an unknown field, as PostHog words them.
    """
    text = text.strip()
    # String literals keep their length (so positions still match `text`), not their words.
    masked = _STRING.sub(lambda literal: "'" + " " * (len(literal[0]) - 2) + "'", text)
    matched = _CLAUSES.match(masked)
    if matched is None or not matched["select"].strip():
        word = (text.split() or ["<EOF>"])[0]
        raise HogQLError(
            "hogql_syntax_error",
            f"Syntax error at line 1, column 0: mismatched input '{word}' expecting SELECT",
        )
    start = matched.start("select")
    columns = [_column(text[start + a : start + b].strip()) for a, b in _split(matched["select"])]
    limit = int(matched["limit"]) if matched["limit"] else None
    source = matched["from"]
    if source is None:
        _check_fields(matched, None, set(), masked)
        return Select(text, columns, limit, None)
    found = _FROM.match(source.strip())
    if found is None:  # a joined or nested source is beyond this reader: not checked
        return Select(text, columns, limit, source.strip())
    table = found["table"]
    if table not in TABLES:
        raise HogQLError("hogql_query_error", f"Unknown table `{table}`.")
    names = {table} | ({found["alias"]} if found["alias"] else set())
    _check_fields(matched, TABLES[table], names, masked)
    return Select(text, columns, limit, table)


def _check_fields(
    clauses: re.Match[str], fields: frozenset[str] | None, tables: set[str], masked: str
) -> None:
    """Every field named in the clauses resolves, or PostHog's QueryError for the first."""
    aliases = set(_ALIAS.findall(masked))
    for name in ("select", "where", "group", "having", "order"):
        clause = clauses[name]
        if not clause:
            continue
        clause = _QUOTED.sub(lambda quoted: quoted[1] or quoted[2], clause)
        for first, second in _CHAIN.findall(clause):
            if first.lower() in _KEYWORDS or first in aliases:
                continue
            field = second if first in tables and second else first
            if fields is None or field not in fields:
                raise HogQLError("hogql_query_error", f"Unable to resolve field: {field}")


def _split(select: str) -> list[tuple[int, int]]:
    """Where the select list's expressions are (commas inside parentheses do not split)."""
    spans, depth, begin = [], 0, 0
    for index, char in enumerate(select):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            spans.append((begin, index))
            begin = index + 1
    return [*spans, (begin, len(select))]


def _column(expression: str) -> str:
    alias = re.search(r"(?i)\s+as\s+([\w$]+)$", expression)
    return alias[1] if alias else expression
