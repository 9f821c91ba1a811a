"""The package's front door: what is exported, and that it stays sorted and complete."""

from __future__ import annotations

import importlib

import pytest

import max_tools


def _isort_style(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then everything else.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_every_name_exists() -> None:
    assert max_tools.__all__ == sorted(max_tools.__all__, key=_isort_style)
    assert len(set(max_tools.__all__)) == len(max_tools.__all__)
    missing = [name for name in max_tools.__all__ if not hasattr(max_tools, name)]
    assert missing == []


def test_every_public_name_defined_in_the_core_is_exported() -> None:
    public = {
        name
        for name, value in vars(max_tools).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("max_tools._")
    }
    assert public <= set(max_tools.__all__)


def test_the_issue_contract_names_are_exported() -> None:
    contract = {
        "AsyncMaxClient",
        "MaxClient",
        "Reply",
        "ReplyStatus",
        "Conversation",
        "Queue",
        "MaxError",
        "APIError",
        "APIStatusError",
        "BadRequestError",
        "AuthenticationError",
        "QuotaExceededError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "ConversationBusyError",
        "QueueFullError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
        "APIConnectionError",
        "APITimeoutError",
        "StreamError",
        "ConfigurationError",
        "UnknownMessage",
    }
    assert contract <= set(max_tools.__all__)


@pytest.mark.parametrize("package", ["max_tools", "mcp_server", "langchain_integration"])
def test_each_package_imports_and_is_typed(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    from pathlib import Path

    assert (Path(module.__file__).parent / "py.typed").exists()


def test_the_error_tree_matches_its_drawing() -> None:
    assert issubclass(max_tools.ConversationBusyError, max_tools.ConflictError)
    assert issubclass(max_tools.QueueFullError, max_tools.ConflictError)
    assert issubclass(max_tools.ConflictError, max_tools.APIStatusError)
    assert issubclass(max_tools.APITimeoutError, max_tools.APIConnectionError)
    assert issubclass(max_tools.APIConnectionError, max_tools.APIError)
    assert issubclass(max_tools.StreamError, max_tools.APIError)
    assert issubclass(max_tools.APIError, max_tools.MaxError)
    assert issubclass(max_tools.ConfigurationError, max_tools.MaxError)


def test_public_classes_report_the_package_as_their_module() -> None:
    classes = [getattr(max_tools, name) for name in max_tools.__all__]
    private = [
        cls.__qualname__
        for cls in classes
        if isinstance(cls, type) and cls.__module__ != "max_tools"
    ]
    assert private == []
    assert repr(max_tools.NotFoundError) == "<class 'max_tools.NotFoundError'>"


def test_bad_arguments_are_max_errors_and_value_errors() -> None:
    assert issubclass(max_tools.InvalidArgumentsError, max_tools.MaxError)
    assert issubclass(max_tools.InvalidArgumentsError, ValueError)
    assert "InvalidArgumentsError" in (max_tools._errors.__doc__ or "")
