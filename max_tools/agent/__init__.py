"""The agent layer: what every face of max-tools (MCP, LangChain, the CLI) shares.

The catalogue of actions (their argument models, runners and annotations), progress while a
reply is awaited, what-to-do advice for errors (`explain_error`), compact rendering of results,
and the settings helpers the faces need (serving an ASGI app lives in `max_tools.serving`).
Faces import from here and from `max_tools`, never from private modules (an import-linter
contract holds them to it), so this `__all__` is the contract between the core and its faces.
"""

from max_tools._config import is_loopback, normalize_host, resolve_settings
from max_tools.agent._advice import explain_error
from max_tools.agent._catalogue import (
    ACTIONS,
    ACTIONS_BY_NAME,
    Action,
    ActionResult,
    input_schema,
    parse_arguments,
    select_actions,
)
from max_tools.agent._charts import ChartResult, render_chart, visualization_summary
from max_tools.agent._conversations import (
    MOVED_NOTE,
    ConversationView,
    render_conversation,
    transcript_markdown,
)
from max_tools.agent._params import DEFAULT_WAIT_S, MAX_WAIT_S, describe_invalid_arguments
from max_tools.agent._progress import Progress, describe_event
from max_tools.agent._render import ChatOutline, ChatResult, render_chat, render_queue
from max_tools.agent._results import MAX_RESULT_CHARS

__all__ = [
    "ACTIONS",
    "ACTIONS_BY_NAME",
    "DEFAULT_WAIT_S",
    "MAX_RESULT_CHARS",
    "MAX_WAIT_S",
    "MOVED_NOTE",
    "Action",
    "ActionResult",
    "ChartResult",
    "ChatOutline",
    "ChatResult",
    "ConversationView",
    "Progress",
    "describe_event",
    "describe_invalid_arguments",
    "explain_error",
    "input_schema",
    "is_loopback",
    "normalize_host",
    "parse_arguments",
    "render_chart",
    "render_chat",
    "render_conversation",
    "render_queue",
    "resolve_settings",
    "select_actions",
    "transcript_markdown",
    "visualization_summary",
]
