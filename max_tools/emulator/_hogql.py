"""A small HogQL reader: what a ``HogQLQuery`` selects, or why PostHog would refuse it.

Not a parser of HogQL: enough of one to refuse what PostHog refuses in the queries people and
agents write (a statement that is not a SELECT, a table or a field that does not exist) with
PostHog's messages and error codes, and to name the result's columns. Fields are checked only
in a plain SELECT from one table: in a CTE, a subquery, a UNION, a lambda or a ``{filters}``
placeholder a name may be something else's, and refusing a query PostHog runs is worse than
running one it refuses.

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
_LITERALS_AND_COMMENTS = re.compile(r"(?s)'(?:[^'\\]|\\.)*'|--[^\n]*|/\*.*?\*/")
_CLAUSES = re.compile(
    r"(?is)^\s*select\s+(?P<select>.+?)"
    r"(?:\s+from\s+(?P<from>.+?))?"
    r"(?:\s+(?:where|prewhere)\s+(?P<where>.+?))?"
    r"(?:\s+group\s+by\s+(?P<group>.+?))?"
    r"(?:\s+having\s+(?P<having>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>.+?))?"
    r"(?:\s+limit\s+(?P<limit>\d+)(?:\s+offset\s+(?P<offset>\d+))?)?\s*;?\s*$"
)
_SELECT_LIST = re.compile(r"(?is)^\s*select\s+(?P<select>.+?)(?:\s+from\s+(?P<from>.+))?\s*;?\s*$")
_FROM = re.compile(r"(?is)^(?P<table>[A-Za-z_][\w.]*)(?:\s+(?:as\s+)?(?P<alias>[A-Za-z_]\w*))?$")
_ALIAS = re.compile(r"""(?i)\bas\s+([A-Za-z_$][\w$]*|"[^"]*"|`[^`]*`)""")
_IMPLICIT_ALIAS = re.compile(r"""(?P<before>[\w$)\]'"`]+)\s+(?P<alias>[A-Za-z_$][\w$]*)$""")
_CHAIN = re.compile(r"(?<![\w$.'])([A-Za-z_$][\w$]*+)(?:\.([A-Za-z_$][\w$]*+))?(?!\s*\()")
_QUOTED = re.compile(r'"([^"]*)"|`([^`]*)`')
_BEYOND_THIS_READER = re.compile(r"(?is)\(\s*select\b|\bunion\b|\bexcept\b|\bintersect\b|->|\{")
"""Subqueries, set operations, lambdas and placeholders (``{filters}``): fields there may be a
subquery's, a lambda's or a placeholder's, so none is checked (a false refusal is worse than a
missed one)."""


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
    order: tuple[int, bool] | None = None
    """The column the rows are sorted by (its index, and whether descending), if one is."""


def read_select(text: str) -> Select:
    """Read a HogQL SELECT (or a ``WITH ... SELECT``).

    Raises:
        HogQLError: a syntax error, an unknown table or an unknown field, as PostHog words them.
    """
    # Every mask keeps the text's length, so a position in one is the same place in `text`.
    comments_out = _LITERALS_AND_COMMENTS.sub(lambda m: _blank(m[0], keep_literal=True), text)
    masked = _LITERALS_AND_COMMENTS.sub(lambda m: _blank(m[0], keep_literal=False), text)
    flat = _flatten(masked)  # what is inside parentheses cannot split the outer clauses
    words = flat.split()
    first = words[0].lower() if words else ""
    start = _outer_select(flat) if first == "with" else 0
    if first not in ("select", "with") or start < 0:
        word = (text.split() or ["<EOF>"])[0]
        raise HogQLError(
            "hogql_syntax_error",
            f"Syntax error at line 1, column 0: mismatched input '{word}' expecting SELECT",
        )
    clean = comments_out.strip()
    flat = " " * start + flat[start:]  # after a WITH list, the SELECT that gives the rows
    matched = _CLAUSES.match(flat)
    if matched is None or first == "with" or _BEYOND_THIS_READER.search(masked):
        return _unchecked(clean, comments_out, flat)
    columns = _columns(comments_out, matched)
    limit = int(matched["limit"]) if matched["limit"] else None
    order = _order(comments_out, matched, columns)
    source = matched["from"]
    if source is None:
        _check_fields(matched, None, set(), masked)
        return Select(clean, columns, limit, None, order)
    found = _FROM.match(source.strip())
    if found is None:  # a joined source is beyond this reader: not checked
        return Select(clean, columns, limit, source.strip(), order)
    table = found["table"]
    if table not in TABLES:
        raise HogQLError("hogql_query_error", f"Unknown table `{table}`.")
    names = {table} | ({found["alias"]} if found["alias"] else set())
    _check_fields(matched, TABLES[table], names, masked)
    return Select(clean, columns, limit, table, order)


def _unchecked(clean: str, comments_out: str, flat: str) -> Select:
    """A query beyond this reader: its outer columns and LIMIT, no field checked."""
    listed = _SELECT_LIST.match(flat)
    if listed is None:  # unreachable: `flat` holds a top-level SELECT
        return Select(clean, [], None, None)
    limit = re.search(r"(?i)\blimit\s+(\d+)\s*(?:offset\s+\d+\s*)?;?\s*$", flat)
    columns = _columns(comments_out, listed)
    return Select(clean, columns, int(limit[1]) if limit else None, listed["from"])


def _order(text: str, clauses: re.Match[str], columns: list[str]) -> tuple[int, bool] | None:
    """The selected column the ORDER BY's first key names (by alias or as written), if any."""
    if clauses["order"] is None:
        return None
    start = clauses.start("order")
    a, b = _split(clauses["order"])[0]
    key = re.fullmatch(
        r"(?is)\s*(?P<expr>.+?)(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?:first|last))?\s*",
        text[start + a : start + b],
    )
    if key is None:
        return None
    named = _unquoted(key["expr"].strip())
    select = clauses.start("select")
    for index, (x, y) in enumerate(_split(clauses["select"])):
        written = text[select + x : select + y].strip()
        unaliased = re.sub(r"""(?i)\s+(?:as\s+)?(?:[\w$]+|"[^"]*"|`[^`]*`)$""", "", written)
        if named in (columns[index], written) or (written != columns[index] and named == unaliased):
            return index, (key["dir"] or "").lower() == "desc"
    return None


def _blank(found: str, *, keep_literal: bool) -> str:
    if found.startswith("'"):
        return found if keep_literal else "'" + " " * (len(found) - 2) + "'"
    return " " * len(found)  # a comment


def _flatten(masked: str) -> str:
    """`masked` with whatever is inside parentheses blanked (the parentheses kept)."""
    chars, depth = [], 0
    for char in masked:
        depth -= char == ")"
        chars.append(char if depth <= 0 or char in "()" else " ")
        depth += char == "("
    return "".join(chars)


def _outer_select(flat: str) -> int:
    """Where the SELECT after a ``WITH`` list begins (its subqueries are in parentheses)."""
    found = re.search(r"(?i)\bselect\b", flat)
    return found.start() if found else -1


def _columns(text: str, clauses: re.Match[str]) -> list[str]:
    start = clauses.start("select")
    return [_column(text[start + a : start + b].strip()) for a, b in _split(clauses["select"])]


def _check_fields(
    clauses: re.Match[str], fields: frozenset[str] | None, tables: set[str], masked: str
) -> None:
    """Every field named in the clauses resolves, or PostHog's QueryError for the first."""
    aliases = {_unquoted(alias) for alias in _ALIAS.findall(masked)}
    start = clauses.start("select")
    aliases |= {
        alias
        for a, b in _split(clauses["select"])
        if (alias := _alias(masked[start + a : start + b].strip())) is not None
    }
    for name in ("select", "where", "group", "having", "order"):
        if clauses[name] is None:
            continue
        # The clause as written (literals blanked), parentheses included.
        clause = masked[clauses.start(name) : clauses.end(name)]
        clause = _QUOTED.sub(lambda quoted: _quoted_field(quoted, aliases), clause)
        for first, second in _CHAIN.findall(clause):
            if first.lower() in _KEYWORDS or first in aliases:
                continue
            field = second if first in tables and second else first
            if fields is None or field not in fields:
                raise HogQLError("hogql_query_error", f"Unable to resolve field: {field}")


def _quoted_field(quoted: re.Match[str], aliases: set[str]) -> str:
    name = quoted[1] if quoted[1] is not None else quoted[2]
    return " " * len(quoted[0]) if name in aliases else name


def _unquoted(name: str) -> str:
    return name[1:-1] if name[:1] in '"`' and len(name) > 1 else name


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
    """The column an expression of the select list names: its alias, else the expression."""
    return _alias(expression) or expression


def _alias(expression: str) -> str | None:
    """The alias an expression of the select list takes, if any."""
    alias = re.search(r"""(?i)\s+as\s+([\w$]+|"[^"]*"|`[^`]*`)$""", expression)
    if alias:
        return _unquoted(alias[1])
    implicit = _IMPLICIT_ALIAS.search(expression)
    if (
        implicit
        and implicit["alias"].lower() not in _KEYWORDS
        and (implicit["before"].lower() == "end" or implicit["before"].lower() not in _KEYWORDS)
    ):
        return implicit["alias"]  # `count() c`: HogQL takes an alias without AS too
    return None
