"""The catalogue of agent actions: one list that the MCP server and the LangChain tools render.

Each action has a name, a human title, a model-facing description, a pydantic parameters model
(whose field descriptions are what the model reads), safety flags, a result model, and a runner
that returns compact text plus structured data. Adapters stay thin: they translate arguments in
and results, progress and errors out.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from max_tools._client import AsyncMaxClient
from max_tools._errors import (
    ConfigurationError,
    InvalidArgumentsError,
)
from max_tools.agent import _params as params
from max_tools.agent import _runners as runners
from max_tools.agent._charts import ChartResult
from max_tools.agent._conversations import ConversationListResult, ConversationView
from max_tools.agent._params import _Params, describe_invalid_arguments
from max_tools.agent._progress import Progress
from max_tools.agent._render import (
    AppendResult,
    CancelResult,
    ChatResult,
    DeleteResult,
    QueueResult,
)
from max_tools.agent._runners import ActionResult

__all__ = [
    "ACTIONS",
    "ACTIONS_BY_NAME",
    "Action",
    "ActionResult",
    "input_schema",
    "parse_arguments",
    "select_actions",
]

logger = logging.getLogger("max_tools")

Runner = Callable[[AsyncMaxClient, Any, Progress | None], Awaitable[ActionResult]]


@dataclass(frozen=True, slots=True)
class Action:
    """One agent action, as both adapters expose it."""

    name: str
    title: str
    description: str
    params: type[_Params]
    result: type[BaseModel]
    read_only: bool
    destructive: bool
    idempotent: bool
    run: Runner
    waits_for_people: bool = False
    """Its result may wait for a person (an approval or a form): faces may ask them."""


class _Effect(NamedTuple):
    """What an action does to PostHog's state: the MCP tool annotations it gets."""

    read_only: bool
    destructive: bool
    idempotent: bool


_READS = _Effect(read_only=True, destructive=False, idempotent=True)
_ADDS = _Effect(read_only=False, destructive=False, idempotent=False)
"""Each call adds something (a message, a queued follow-up, a run)."""
_SETS = _Effect(read_only=False, destructive=False, idempotent=True)
"""Calling it again changes nothing more (cancel, an edit)."""
_REMOVES = _Effect(read_only=False, destructive=True, idempotent=True)
_DECIDES = _Effect(read_only=False, destructive=True, idempotent=False)
"""Carries out (or refuses) an operation PostHog AI proposed: it may delete or overwrite."""


def _action(
    run: Runner,
    params: type[_Params],
    result: type[BaseModel],
    effect: _Effect,
    *,
    waits_for_people: bool = False,
) -> Action:
    """The action `max_<runner name>`; its title and description are the runner's docstring."""
    title, _, description = (inspect.getdoc(run) or "").partition("\n\n")
    return Action(
        name=f"max_{run.__name__}",
        title=title.rstrip("."),
        description=" ".join(description.split()),
        params=params,
        result=result,
        run=run,
        waits_for_people=waits_for_people,
        **effect._asdict(),
    )


# One row per tool, in the order they are listed.
ACTIONS: tuple[Action, ...] = (
    _action(runners.chat, params.ChatParams, ChatResult, _ADDS, waits_for_people=True),
    _action(runners.wait, params.WaitParams, ChatResult, _READS, waits_for_people=True),
    _action(runners.approve, params.ApproveParams, ChatResult, _DECIDES, waits_for_people=True),
    _action(runners.answer, params.AnswerParams, ChatResult, _ADDS, waits_for_people=True),
    _action(runners.list_conversations, params.ListParams, ConversationListResult, _READS),
    _action(runners.get_conversation, params.GetParams, ConversationView, _READS),
    _action(runners.get_chart, params.ChartParams, ChartResult, _READS),
    _action(runners.append_message, params.AppendParams, AppendResult, _ADDS),
    _action(runners.cancel, params.ConversationParams, CancelResult, _SETS),
    _action(runners.list_queue, params.ConversationParams, QueueResult, _READS),
    _action(runners.queue_message, params.QueueMessageParams, QueueResult, _ADDS),
    _action(runners.update_queued_message, params.UpdateQueuedParams, QueueResult, _SETS),
    _action(runners.delete_queued_message, params.QueueItemParams, QueueResult, _REMOVES),
    _action(runners.clear_queue, params.ConversationParams, QueueResult, _REMOVES),
    _action(runners.delete_conversation, params.ConversationParams, DeleteResult, _REMOVES),
)


ACTIONS_BY_NAME: Mapping[str, Action] = MappingProxyType({a.name: a for a in ACTIONS})
"""The actions by name."""


def input_schema(action: Action) -> dict[str, Any]:
    """The JSON schema of an action's arguments, as both adapters publish it."""
    return action.params.model_json_schema()


def select_actions(*, read_only: bool = False, names: Sequence[str] | None = None) -> list[Action]:
    """The actions to expose: all, only read-only ones, and/or those named.

    Raises:
        ConfigurationError: a name is not an action.
    """
    known = {action.name: action for action in ACTIONS}
    if names is not None:
        wanted = [name.strip() for name in names if name.strip()]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ConfigurationError(
                f"Unknown tool name(s) {', '.join(unknown)}; the tools are {', '.join(known)}."
            )
        chosen = [action for action in ACTIONS if action.name in wanted]
    else:
        chosen = list(ACTIONS)
    return [action for action in chosen if action.read_only or not read_only]


def parse_arguments(action: Action, arguments: dict[str, Any]) -> _Params:
    """Validate tool arguments against the action's parameters.

    Raises:
        InvalidArgumentsError: one sentence naming each bad argument and what it needs.
    """
    try:
        return action.params.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidArgumentsError(describe_invalid_arguments(action.name, exc)) from None
