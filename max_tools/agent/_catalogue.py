"""The catalogue of agent actions: one list that the MCP server and the LangChain tools render.

Each action has a name, a human title, a model-facing description, a pydantic parameters model
(whose field descriptions are what the model reads), safety flags, a result model, and a runner
that returns compact text plus structured data. Adapters stay thin: they translate arguments in
and results, progress and errors out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from max_tools._client import AsyncMaxClient
from max_tools._errors import (
    ConfigurationError,
    InvalidArgumentsError,
)
from max_tools.agent import _runners as runners
from max_tools.agent._charts import ChartResult
from max_tools.agent._params import (
    AnswerParams,
    AppendParams,
    ApproveParams,
    ChartParams,
    ChatParams,
    ConversationParams,
    GetParams,
    ListParams,
    QueueItemParams,
    QueueMessageParams,
    UpdateQueuedParams,
    WaitParams,
    _Params,
    describe_invalid_arguments,
)
from max_tools.agent._progress import Progress
from max_tools.agent._render import (
    AppendResult,
    CancelResult,
    ChatResult,
    ConversationListResult,
    ConversationView,
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

# Results and the catalogue


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


ACTIONS: tuple[Action, ...] = (
    Action(
        name="max_chat",
        title="Ask PostHog AI",
        description=(
            "Ask PostHog AI (Max) a product-analytics question, or continue a conversation. "
            "Streams the reply for up to wait_s seconds; returns it with the conversation_id. "
            "in_progress: call max_wait with it. A busy conversation queues the message."
        ),
        params=ChatParams,
        result=ChatResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=runners.chat,
        waits_for_people=True,
    ),
    Action(
        name="max_wait",
        title="Wait for a PostHog AI reply",
        description=(
            "Follow a reply still being written (in_progress or queued) until it ends or wait_s "
            "runs out; returns it so far. Works from any process."
        ),
        params=WaitParams,
        result=ChatResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=runners.wait,
        waits_for_people=True,
    ),
    Action(
        name="max_approve",
        title="Decide on a PostHog AI operation",
        description=(
            "Pass on a person's decision on an operation PostHog AI proposed (needs_approval), "
            "then follow the run like max_chat."
        ),
        params=ApproveParams,
        result=ChatResult,
        read_only=False,
        destructive=True,
        idempotent=False,
        run=runners.approve,
        waits_for_people=True,
    ),
    Action(
        name="max_answer",
        title="Answer PostHog AI's questions",
        description=(
            "Pass on a person's answers to PostHog AI's questions (needs_answer), then follow "
            "the run like max_chat."
        ),
        params=AnswerParams,
        result=ChatResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=runners.answer,
        waits_for_people=True,
    ),
    Action(
        name="max_list_conversations",
        title="List PostHog AI conversations",
        description=(
            "List your PostHog AI conversations, newest first: id, title, status and last update."
        ),
        params=ListParams,
        result=ConversationListResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=runners.list_conversations,
    ),
    Action(
        name="max_get_conversation",
        title="Read a PostHog AI conversation",
        description=("Read a conversation: its status, title and its latest messages, compactly."),
        params=GetParams,
        result=ConversationView,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=runners.get_conversation,
    ),
    Action(
        name="max_get_chart",
        title="Read a chart's numbers",
        description="The numbers behind chart N (from 1) of a conversation, as a table.",
        params=ChartParams,
        result=ChartResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=runners.get_chart,
    ),
    Action(
        name="max_append_message",
        title="Store an assistant message",
        description=(
            "Store an assistant message in a conversation without running PostHog AI (for notes "
            "such as a ticket confirmation)."
        ),
        params=AppendParams,
        result=AppendResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=runners.append,
    ),
    Action(
        name="max_cancel",
        title="Cancel a PostHog AI reply",
        description=(
            "Stop the reply being written in a conversation and clear its queued follow-ups. "
            "Harmless when nothing is running."
        ),
        params=ConversationParams,
        result=CancelResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=runners.cancel,
    ),
    Action(
        name="max_list_queue",
        title="List queued follow-ups",
        description=(
            "List the follow-up messages queued in a conversation (they run after the current "
            "reply)."
        ),
        params=ConversationParams,
        result=QueueResult,
        read_only=True,
        destructive=False,
        idempotent=True,
        run=runners.list_queue,
    ),
    Action(
        name="max_queue_message",
        title="Queue a follow-up",
        description=(
            "Queue a follow-up message to run when the current reply ends (at most 2 can wait)."
        ),
        params=QueueMessageParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=False,
        run=runners.queue_message,
    ),
    Action(
        name="max_update_queued_message",
        title="Edit a queued follow-up",
        description=("Change the text of a queued follow-up before it runs."),
        params=UpdateQueuedParams,
        result=QueueResult,
        read_only=False,
        destructive=False,
        idempotent=True,
        run=runners.update_queued,
    ),
    Action(
        name="max_delete_queued_message",
        title="Remove a queued follow-up",
        description=("Remove one queued follow-up so it never runs."),
        params=QueueItemParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=runners.delete_queued,
    ),
    Action(
        name="max_clear_queue",
        title="Clear queued follow-ups",
        description=("Remove every queued follow-up of a conversation."),
        params=ConversationParams,
        result=QueueResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=runners.clear_queue,
    ),
    Action(
        name="max_delete_conversation",
        title="Delete a PostHog AI conversation",
        description=(
            "Delete a conversation of yours. It disappears from lists and cannot be continued."
        ),
        params=ConversationParams,
        result=DeleteResult,
        read_only=False,
        destructive=True,
        idempotent=True,
        run=runners.delete_conversation,
    ),
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
