"""DRF-style validation of request bodies: the first error, in field order, as PostHog gives it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AGENT_MODES",
    "UI_CONTEXT_KEYS",
    "FieldError",
    "any_json",
    "boolean",
    "char",
    "choice",
    "dictionary",
    "human_message_ok",
    "uuid_field",
    "validate",
]

AGENT_MODES = (
    "product_analytics",
    "sql",
    "session_replay",
    "error_tracking",
    "plan",
    "execution",
    "survey",
    "research",
    "flags",
    "llm_analytics",
    "sandbox",
)
"""The generated OpenAPI enum of `agent_mode` (reference section 2.4)."""

UI_CONTEXT_KEYS = frozenset(
    {
        "dashboards",
        "insights",
        "events",
        "actions",
        "error_tracking_issues",
        "evaluations",
        "notebooks",
        "form_answers",
        "voice_mode",
    }
)
"""`MaxUIContext` keys; the generated model forbids others (reference section 2.5)."""

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldError(Exception):
    """One DRF validation error: code (after exceptions-hog's rewrite), detail, attr."""

    code: str
    detail: str
    attr: str | None


Validator = Callable[[str, Any], Any]


def validate(body: Any, fields: list[tuple[str, Validator, bool]]) -> dict[str, Any]:
    """Validate `fields` (name, validator, required) in order; raise the first `FieldError`."""
    if not isinstance(body, dict):
        kind = "list" if isinstance(body, list) else type(body).__name__
        raise FieldError(
            "invalid_input", f"Invalid data. Expected a dictionary, but got {kind}.", None
        )
    data: dict[str, Any] = {}
    for name, check, required in fields:
        value = body.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise FieldError("required", "This field is required.", name)
            continue
        data[name] = check(name, value)
    return data


def char(*, max_length: int, allow_null: bool = False) -> Validator:
    """DRF `CharField`: strings (numbers are turned into strings), trimmed, not blank."""

    def check(name: str, value: Any) -> str | None:
        if value is None:
            if allow_null:
                return None
            raise FieldError("null", "This field may not be null.", name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldError("invalid_input", "Not a valid string.", name)
        text = str(value).strip()
        if not text:
            raise FieldError("blank", "This field may not be blank.", name)
        if len(text) > max_length:
            raise FieldError(
                "max_length", f"Ensure this field has no more than {max_length} characters.", name
            )
        return text

    return check


def uuid_field(name: str, value: Any) -> str:
    """DRF `UUIDField`: any form `uuid.UUID` reads, given back in hyphenated form."""
    if value is None:
        raise FieldError("null", "This field may not be null.", name)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise FieldError("invalid_input", "Must be a valid UUID.", name) from None


def dictionary(name: str, value: Any) -> dict[str, Any]:
    """DRF `DictField(child=JSONField())`."""
    if not isinstance(value, dict):
        kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(
            type(value), type(value).__name__
        )
        raise FieldError(
            "not_a_dict", f'Expected a dictionary of items but got type "{kind}".', name
        )
    return value


def any_json(name: str, value: Any) -> Any:
    """DRF `JSONField`: anything."""
    return value


def choice(choices: tuple[str, ...]) -> Validator:
    """DRF `ChoiceField`."""

    def check(name: str, value: Any) -> str:
        if value is None:
            raise FieldError("null", "This field may not be null.", name)
        if str(value) not in choices:
            raise FieldError("invalid_choice", f'"{value}" is not a valid choice.', name)
        return str(value)

    return check


def boolean(name: str, value: Any) -> bool:
    """DRF `BooleanField`."""
    truthy = {True, "true", "True", "TRUE", "1", "yes", "on", "y", "t"}
    falsy = {False, "false", "False", "FALSE", "0", "no", "off", "n", "f"}
    if isinstance(value, bool | int | str) and value in truthy:
        return True
    if isinstance(value, bool | int | str) and value in falsy:
        return False
    raise FieldError("invalid_input", "Must be a valid boolean.", name)


def human_message_ok(ui_context: Any) -> bool:
    """Whether PostHog's `HumanMessage` model accepts this `ui_context`."""
    if ui_context is None:
        return True
    if not isinstance(ui_context, dict) or set(ui_context) - UI_CONTEXT_KEYS:
        return False
    return all(
        isinstance(value, bool) if key == "voice_mode" else isinstance(value, dict | list)
        for key, value in ui_context.items()
        if value is not None
    )
