"""The scripted agent: rules decide what the emulated PostHog AI answers, and how slowly.

A rules file is JSON (a list of rules, or ``{"rules": [...]}``) or TOML (``[[rules]]`` tables).
Rules are tried in order and the first whose ``match`` is found in the message wins; a built-in
default answers everything else. Keys of a rule:

``match``          regular expression searched in the message (case-insensitive); required
``reply``          the answer; ``{message}`` is replaced by the message
``chunks``         how many partial chunks stream before the final answer (default 12)
``delay_s``        seconds between chunks (default 0.08), so ``chunks * delay_s`` is the length
``title``          the conversation title set on its first run
``visualization``  true: add an ``ai/viz`` visualization (a trends chart; a HogQL table when the
                   message asks for SQL); the default answer then quotes its numbers
``fail``           true: end the run with an ``ai/failure`` message instead of an answer
``approval``       ``{tool_name, preview, payload}``: the run stops at a call of ``tool_name``
                   with ``payload`` as its arguments, waiting for a person's approval; ``reply``
                   is the answer once it is approved or rejected
``form``           ``{questions = [...]}``: PostHog's ``MultiQuestionForm`` questions; the run
                   stops at a ``create_form`` call; ``reply`` is the answer once it is answered
``client_tool``    a tool name: the run stops at a call only a browser can run (section 14)

The built-in default asks approval before deleting something or changing a feature flag, and
asks a short form for a vague chart request ("make me a chart").
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from max_tools.emulator._charts import SQL_WORDS, chart_answer
from max_tools.emulator._interrupts import Pause, default_pause, pause_from_rule
from max_tools.emulator._texts import default_answer

__all__ = ["DEFAULT_RULE", "Rule", "RulesError", "load_rules", "pick_rule"]

_CHART_WORDS = re.compile(r"\b(chart|graph|plot|trends?|over time|visuali[sz]e|insight)\b", re.I)
_KEYS = {
    "match",
    "reply",
    "chunks",
    "delay_s",
    "title",
    "visualization",
    "fail",
    "approval",
    "form",
    "client_tool",
}


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the rule and the key."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One scripted behaviour."""

    match: str = ""
    reply: str | None = None
    chunks: int = 12
    delay_s: float = 0.08
    title: str | None = None
    visualization: bool | None = None
    fail: bool = False
    approval: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    client_tool: str | None = None

    def pause(self, message: str) -> Pause | None:
        """Where the run stops for a person (or a browser), if it does."""
        if self.client_tool is not None:
            return Pause("client", self.client_tool, {"request": message})
        scripted = pause_from_rule(self.approval, self.form)
        if scripted is None and self is DEFAULT_RULE:
            return default_pause(message)
        return scripted

    def answer(self, message: str, chart: dict[str, Any] | None = None) -> str:
        """The answer text for `message`; about `chart`'s numbers when the run drew one."""
        if self.reply is not None:
            return self.reply.replace("{message}", message)
        if chart is not None:
            return chart_answer(message, chart)
        return default_answer(message)

    def wants_visualization(self, message: str) -> bool:
        """Whether the run shows a trends visualization."""
        if self.visualization is not None:
            return self.visualization
        return bool(_CHART_WORDS.search(message) or SQL_WORDS.search(message))

    def title_for(self, message: str) -> str:
        """The title given to a new conversation."""
        if self.title:
            return self.title
        words = re.sub(r"\s+", " ", message).strip().rstrip("?.!").split(" ")
        title = " ".join(words[:6])
        return (title[:1].upper() + title[1:])[:80] or "New conversation"


DEFAULT_RULE = Rule()


def pick_rule(rules: Sequence[Rule], message: str) -> Rule:
    """The first rule whose pattern is found in the message, else the default."""
    for rule in rules:
        if re.search(rule.match, message, re.IGNORECASE):
            return rule
    return DEFAULT_RULE


def load_rules(source: str | Path | Sequence[dict[str, Any]]) -> list[Rule]:
    """Read rules from a JSON or TOML file, or from already-parsed dicts.

    Raises:
        RulesError: the file cannot be read or a rule is malformed.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(f"Cannot read the rules file {path}: {exc.strerror}.") from exc
        try:
            data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise RulesError(
                f"The rules file {path} is not valid {path.suffix[1:] or 'JSON'}: {exc}"
            ) from exc
        if isinstance(data, dict):
            data = data.get("rules")
        if not isinstance(data, list):
            raise RulesError(
                f"The rules file {path} must hold a list of rules (or a 'rules' list)."
            )
        raw: Sequence[Any] = data
    else:
        raw = source
    return [_rule(item, index) for index, item in enumerate(raw, start=1)]


def _rule(item: Any, index: int) -> Rule:
    where = f"rule {index}"
    if not isinstance(item, dict):
        raise RulesError(f"{where} must be a table/object of keys, not {type(item).__name__}.")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise RulesError(f"{where} has unknown keys {unknown}; known keys: {sorted(_KEYS)}.")
    match = item.get("match")
    if not isinstance(match, str) or not match:
        raise RulesError(f"{where} needs 'match', a regular expression.")
    try:
        re.compile(match)
    except re.error as exc:
        raise RulesError(f"{where}: 'match' is not a valid regular expression ({exc}).") from exc
    chunks = item.get("chunks", DEFAULT_RULE.chunks)
    delay = item.get("delay_s", DEFAULT_RULE.delay_s)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 0 <= chunks <= 10_000:
        raise RulesError(f"{where}: 'chunks' must be a whole number from 0 to 10000.")
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3_600:
        raise RulesError(f"{where}: 'delay_s' must be a number of seconds from 0 to 3600.")
    for key in ("reply", "title"):
        if key in item and not isinstance(item[key], str):
            raise RulesError(f"{where}: '{key}' must be a string.")
    for key in ("visualization", "fail"):
        if key in item and not isinstance(item[key], bool):
            raise RulesError(f"{where}: '{key}' must be true or false.")
    _check_pause(item, where)
    return Rule(
        match=match,
        reply=item.get("reply"),
        chunks=chunks,
        delay_s=float(delay),
        title=item.get("title"),
        visualization=item.get("visualization"),
        fail=item.get("fail", False),
        approval=item.get("approval"),
        form=item.get("form"),
        client_tool=item.get("client_tool"),
    )


def _check_pause(item: dict[str, Any], where: str) -> None:
    """The `approval`, `form` and `client_tool` keys, checked as PostHog would need them."""
    if sum(key in item for key in ("approval", "form", "client_tool")) > 1:
        raise RulesError(f"{where}: use only one of 'approval', 'form' and 'client_tool'.")
    approval = item.get("approval")
    if approval is not None:
        if not isinstance(approval, dict) or not isinstance(approval.get("tool_name"), str):
            raise RulesError(f"{where}: 'approval' must be a table with a 'tool_name' string.")
        if not isinstance(approval.get("preview", ""), str):
            raise RulesError(f"{where}: 'approval.preview' must be a string.")
        if not isinstance(approval.get("payload", {}), dict):
            raise RulesError(
                f"{where}: 'approval.payload' must be a table of the call's arguments."
            )
    form = item.get("form")
    if form is not None:
        questions = form.get("questions") if isinstance(form, dict) else None
        if not isinstance(questions, list) or not 1 <= len(questions) <= 4:
            raise RulesError(f"{where}: 'form' must be a table with 1 to 4 'questions'.")
        for number, question in enumerate(questions, start=1):
            if not (
                isinstance(question, dict)
                and isinstance(question.get("id"), str)
                and isinstance(question.get("question"), str)
            ):
                raise RulesError(
                    f"{where}: form question {number} needs an 'id' and a 'question' string."
                )
    if "client_tool" in item and not isinstance(item["client_tool"], str):
        raise RulesError(f"{where}: 'client_tool' must be a tool name.")
