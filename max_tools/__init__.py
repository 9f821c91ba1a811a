"""max-tools: let AI agents talk to PostHog AI ("Max").

The async client `AsyncMaxClient` does the work; `MaxClient` is its synchronous facade.
"""

from max_tools._client import MAX_APPEND_CHARS, MAX_MESSAGE_CHARS, AsyncMaxClient, ClientState
from max_tools._config import APIKey, Settings
from max_tools._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConversationBusyError,
    ConversationMovedError,
    InternalServerError,
    InvalidArgumentsError,
    MaxError,
    NotFoundError,
    NotPendingError,
    PermissionDeniedError,
    QueueFullError,
    QueueNotRunningError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from max_tools._events import (
    ConversationEvent,
    MessageEvent,
    StatusEvent,
    StreamEvent,
    UnknownEvent,
    UpdateEvent,
)
from max_tools._interrupts import (
    Approval,
    ApprovalStatus,
    Form,
    FormField,
    FormOption,
    FormQuestion,
    QuickReply,
)
from max_tools._messages import (
    AIMessage,
    ArtifactMessage,
    BaseMessage,
    ContextMessage,
    FailureMessage,
    HumanMessage,
    Message,
    MultiVisualizationMessage,
    NotebookMessage,
    PlanningMessage,
    ReasoningMessage,
    TaskExecutionMessage,
    ToolCall,
    ToolResultMessage,
    UnknownMessage,
    VisualizationMessage,
)
from max_tools._models import (
    AgentMode,
    Conversation,
    ConversationPage,
    ConversationStatus,
    ConversationSummary,
    Queue,
    QueuedMessage,
    User,
)
from max_tools._query import Chart, QueryResult, Series
from max_tools._reply import Reply, ReplyStatus, Turn
from max_tools._stream import ReplyStream
from max_tools._sync import MaxClient, SyncReplyStream
from max_tools._version import __version__

__all__ = [
    "MAX_APPEND_CHARS",
    "MAX_MESSAGE_CHARS",
    "AIMessage",
    "APIConnectionError",
    "APIError",
    "APIKey",
    "APIStatusError",
    "APITimeoutError",
    "AgentMode",
    "Approval",
    "ApprovalStatus",
    "ArtifactMessage",
    "AsyncMaxClient",
    "AuthenticationError",
    "BadRequestError",
    "BaseMessage",
    "Chart",
    "ClientState",
    "ConfigurationError",
    "ConflictError",
    "ContextMessage",
    "Conversation",
    "ConversationBusyError",
    "ConversationEvent",
    "ConversationMovedError",
    "ConversationPage",
    "ConversationStatus",
    "ConversationSummary",
    "FailureMessage",
    "Form",
    "FormField",
    "FormOption",
    "FormQuestion",
    "HumanMessage",
    "InternalServerError",
    "InvalidArgumentsError",
    "MaxClient",
    "MaxError",
    "Message",
    "MessageEvent",
    "MultiVisualizationMessage",
    "NotFoundError",
    "NotPendingError",
    "NotebookMessage",
    "PermissionDeniedError",
    "PlanningMessage",
    "QueryResult",
    "Queue",
    "QueueFullError",
    "QueueNotRunningError",
    "QueuedMessage",
    "QuickReply",
    "QuotaExceededError",
    "RateLimitError",
    "ReasoningMessage",
    "Reply",
    "ReplyStatus",
    "ReplyStream",
    "Series",
    "Settings",
    "StatusEvent",
    "StreamError",
    "StreamEvent",
    "SyncReplyStream",
    "TaskExecutionMessage",
    "ToolCall",
    "ToolResultMessage",
    "Turn",
    "UnknownEvent",
    "UnknownMessage",
    "UnprocessableEntityError",
    "UpdateEvent",
    "User",
    "VisualizationMessage",
    "__version__",
]

# Public names report the package as their home, as httpx's do, so tracebacks and docs read
# `max_tools.NotFoundError` rather than the private module that defines it.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and _value.__module__.startswith("max_tools._"):
        _value.__module__ = "max_tools"
del _name, _value
