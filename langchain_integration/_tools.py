"""LangChain tools for PostHog AI: one `MaxTool` per catalogue action, and `MaxToolkit`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, Literal

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.runnables import ensure_config
from langchain_core.tools import BaseTool, BaseToolkit, ToolException
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)

from langchain_integration._people import settle, settle_sync, steps_for
from max_tools import AsyncMaxClient, ConfigurationError, MaxClient, Settings, agent

__all__ = ["PROGRESS_EVENT", "MaxTool", "MaxToolkit"]

logger = logging.getLogger("langchain_integration")

PROGRESS_EVENT = "max_progress"
"""Name of the custom events sent while max_chat / max_wait wait for PostHog AI."""

Client = MaxClient | AsyncMaxClient


class _Connections:
    """The clients tools use: the caller's, or short-lived ones made from the settings.

    A tool cannot know when its caller is done with it (or, for async calls, when the caller's
    event loop ends), so unless a client is passed in, each call opens a client and closes it.
    Pass ``client=MaxClient(...)`` (sync) or ``client=AsyncMaxClient(...)`` (async) to reuse
    connections across calls.
    """

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self._given = client

    @contextmanager
    def sync(self) -> Iterator[MaxClient]:
        if isinstance(self._given, MaxClient):
            yield self._given
            return
        with MaxClient(**self._options()) as client:
            yield client

    @asynccontextmanager
    async def current(self) -> AsyncIterator[AsyncMaxClient]:
        if isinstance(self._given, AsyncMaxClient):
            yield self._given
            return
        async with AsyncMaxClient(**self._options()) as client:
            yield client

    def _options(self) -> dict[str, Any]:
        s = self.settings
        return {"api_key": s.api_key, "host": s.host, "project_id": s.project_id}


def _resolve(
    client: Client | None,
    api_key: SecretStr | str | None,
    host: str | None,
    project_id: int | str | None,
) -> Settings:
    if client is not None:
        return client.settings
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    return agent.resolve_settings(api_key=key, host=host, project_id=project_id)


class MaxTool(BaseTool):
    """One PostHog AI action as a LangChain tool; `MaxToolkit.get_tools()` makes all of them.

    Setup:
        Install ``max-tools[langchain]`` and set ``POSTHOG_PERSONAL_API_KEY`` (and
        ``POSTHOG_HOST`` / ``POSTHOG_PROJECT_ID`` when they are not US Cloud / ``@current``).

    Instantiate:
        .. code-block:: python

            from langchain_integration import MaxTool

            tool = MaxTool(action="max_chat")  # or pass client=, api_key=, host=, project_id=

    Invoke:
        .. code-block:: python

            tool.invoke({"message": "How many users signed up last week?"})
            # content: compact text with the conversation_id; artifact: the typed result

    Use within an agent:
        .. code-block:: python

            from langchain.agents import create_agent

            agent = create_agent(model, tools=MaxToolkit().get_tools())
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    action: str = Field(description="The catalogue action this tool runs, e.g. max_chat.")
    name: str = ""  # filled in from the catalogue
    description: str = ""  # filled in from the catalogue
    client: MaxClient | AsyncMaxClient | None = Field(default=None, exclude=True, repr=False)
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    host: str | None = None
    project_id: int | str | None = None
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], str] | None = True
    handle_validation_error: Any = None  # our formatter, set per action below
    approvals: Literal["agent", "interrupt"] = "agent"
    """Who gets an approval card or a form: the agent (as the tool result), or a person through
    LangGraph's `interrupt()` (resume with `Command(resume=...)`)."""

    _connections: _Connections = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _from_catalogue(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        action = agent.ACTIONS_BY_NAME.get(str(data.get("action")))
        if action is None:
            raise ValueError(
                f"action must be one of {', '.join(agent.ACTIONS_BY_NAME)}; "
                f"got {data.get('action')!r}"
            )
        data.setdefault("handle_validation_error", _validation_message(action.name))
        data["name"] = data.get("name") or action.name
        data["description"] = data.get("description") or action.description
        # The published schema is the catalogue's, the one MCP publishes; the catalogue validates
        # the arguments once, in our words (parse_arguments), not LangChain beforehand.
        data.setdefault("args_schema", agent.input_schema(action))
        return data

    def __init__(self, **data: Any) -> None:
        """Resolve the settings now, so a missing key fails at construction.

        Raises:
            ConfigurationError: the key is missing or a setting is wrong.
        """
        super().__init__(**data)
        settings = _resolve(self.client, self.api_key, self.host, self.project_id)
        self.api_key = SecretStr(settings.api_key.get_secret_value())
        self.host = settings.host
        self.project_id = settings.project_id
        self._connections = _Connections(settings, self.client)

    @property
    def catalogue_action(self) -> agent.Action:
        """The catalogue entry behind this tool."""
        return agent.ACTIONS_BY_NAME[self.action]

    def _run(self, **arguments: Any) -> tuple[str, BaseModel]:
        action = self.catalogue_action
        params = self._params(arguments)
        writer = _stream_writer()
        config = ensure_config()  # this run's config; the action runs on the client's thread

        async def progress(count: float, message: str) -> None:
            data = self._progress_data(count, message)
            with suppress(RuntimeError):  # no parent run: nobody is listening
                dispatch_custom_event(PROGRESS_EVENT, data, config=config)
            if writer is not None:
                writer(data)

        steps = steps_for(self.approvals, action.name, arguments)
        try:
            with self._connections.sync() as client:

                def run(step: agent.Action, step_params: Any) -> agent.ActionResult:
                    async def call(client: AsyncMaxClient) -> agent.ActionResult:
                        return await step.run(client, step_params, progress)

                    return client.run_async(call)

                kept = steps.kept(0) if steps is not None else None
                result = kept or run(action, params)
                if steps is not None:
                    result = settle_sync(steps, result, run)
        except Exception as exc:  # the tool's boundary: actionable errors become ToolExceptions
            raise _tool_exception(exc) from exc
        return result.text, result.data

    async def _arun(self, **arguments: Any) -> tuple[str, BaseModel]:
        action = self.catalogue_action
        params = self._params(arguments)
        writer = _stream_writer()

        async def progress(count: float, message: str) -> None:
            data = self._progress_data(count, message)
            with suppress(RuntimeError):  # no parent run: nobody is listening
                await adispatch_custom_event(PROGRESS_EVENT, data)
            if writer is not None:
                writer(data)

        steps = steps_for(self.approvals, action.name, arguments)
        try:
            async with self._connections.current() as client:

                async def run(step: agent.Action, step_params: Any) -> agent.ActionResult:
                    return await step.run(client, step_params, progress)

                kept = steps.kept(0) if steps is not None else None
                result = kept or await run(action, params)
                if steps is not None:
                    result = await settle(steps, result, run)
        except Exception as exc:  # the tool's boundary: actionable errors become ToolExceptions
            raise _tool_exception(exc) from exc
        return result.text, result.data

    def _params(self, arguments: dict[str, Any]) -> Any:
        try:
            return agent.parse_arguments(self.catalogue_action, arguments)
        except ValueError as exc:
            raise ToolException(str(exc)) from exc

    def _progress_data(self, count: float, message: str) -> dict[str, Any]:
        return {"tool": self.name, "progress": count, "message": message}


def _validation_message(tool: str) -> Callable[[ValidationError], str]:
    def describe(exc: ValidationError) -> str:
        return agent.describe_invalid_arguments(tool, exc)

    return describe


def _tool_exception(exc: Exception) -> Exception:
    """A ToolException for what the agent can act on; anything else is handed on unchanged."""
    if isinstance(exc, ConfigurationError):
        return exc
    message = agent.explain_error(exc)
    return ToolException(message) if message is not None else exc


def _stream_writer() -> Callable[[Any], None] | None:
    """LangGraph's stream writer when running inside a graph (stream_mode="custom")."""
    try:
        from langgraph.config import get_stream_writer
    except ImportError:
        return None
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):  # not inside a LangGraph run
        return None


class MaxToolkit(BaseToolkit):
    """PostHog AI (Max) for LangChain and LangGraph agents: the max-tools actions as tools.

    Setup:
        Install ``max-tools[langchain]`` and set ``POSTHOG_PERSONAL_API_KEY`` (and
        ``POSTHOG_HOST`` / ``POSTHOG_PROJECT_ID`` if needed). No account? Serve the emulator:
        ``max-tools emulator`` prints the variables to set.

    Instantiate:
        .. code-block:: python

            from langchain_integration import MaxToolkit

            toolkit = MaxToolkit()  # from the environment
            toolkit = MaxToolkit(read_only=True, tools=["max_chat", "max_wait"])
            toolkit = MaxToolkit(client=my_async_max_client)  # share a client

    Invoke:
        .. code-block:: python

            tools = {tool.name: tool for tool in toolkit.get_tools()}
            message = tools["max_chat"].invoke(
                {"type": "tool_call", "id": "1", "name": "max_chat",
                 "args": {"message": "How many signups last week?"}}
            )
            message.content   # compact text with the conversation_id
            message.artifact  # the typed result (ChatResult)

    Use within an agent:
        .. code-block:: python

            from langchain.agents import create_agent

            agent = create_agent(model, tools=toolkit.get_tools())
            async for mode, chunk in agent.astream(inputs, stream_mode=["updates", "custom"]):
                ...  # "custom" chunks are max_chat / max_wait progress

    Progress: while max_chat and max_wait wait for PostHog AI, each update goes out as a custom
    event named ``max_progress`` (``astream_events``) and, inside LangGraph, through the stream
    writer (``stream_mode="custom"``), as ``{"tool", "progress", "message"}``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: MaxClient | AsyncMaxClient | None = Field(default=None, exclude=True, repr=False)
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    host: str | None = None
    project_id: int | str | None = None
    read_only: bool = False
    tools: list[str] | None = None
    approvals: Literal["agent", "interrupt"] = "agent"
    """``agent`` (default): an approval card or a form comes back to the agent as the result.
    ``interrupt``: inside a LangGraph graph with a checkpointer, the tool pauses the graph with
    `interrupt()`; resume it with ``Command(resume={"decision": "approve"})``,
    ``{"decision": "reject", "feedback": ...}`` or ``{"answers": {...}}``."""

    _connections: _Connections = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        """Check the settings and tool names now, so mistakes fail at construction.

        Raises:
            ConfigurationError: the key is missing, a setting is wrong, or a tool is unknown.
        """
        super().__init__(**data)
        settings = _resolve(self.client, self.api_key, self.host, self.project_id)
        agent.select_actions(read_only=self.read_only, names=self.tools)
        self._connections = _Connections(settings, self.client)

    def get_tools(self) -> list[BaseTool]:
        """The tools, sharing this toolkit's connections."""
        tools: list[BaseTool] = []
        settings = self._connections.settings
        for action in agent.select_actions(read_only=self.read_only, names=self.tools):
            tool = MaxTool(
                action=action.name,
                client=self.client,
                api_key=SecretStr(settings.api_key.get_secret_value()),
                host=settings.host,
                project_id=settings.project_id,
                approvals=self.approvals,
            )
            tool._connections = self._connections
            tools.append(tool)
        return tools
