"""The three faces a fault is tried through: the core client, the MCP server, the LangChain tools."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from typing import Any

from mcp import Client

from langchain_integration import MaxTool
from max_tools import AsyncMaxClient, MaxError
from mcp_server import build_server


@dataclass
class Outcome:
    status: str | None = None
    text: str = ""
    conversation_id: str | None = None
    truncated: bool = False
    error: str | None = None


class CoreFace:
    name = "core"

    def __init__(self, client: AsyncMaxClient) -> None:
        self.client = client

    async def chat(
        self, message: str, conversation_id: str | None = None, wait_s: float = 30
    ) -> Outcome:
        try:
            reply = await self.client.ask(message, conversation_id=conversation_id, wait_s=wait_s)
        except MaxError as exc:  # bad arguments too: InvalidArgumentsError is one
            return Outcome(error=str(exc))
        return Outcome(reply.status.value, reply.text, reply.conversation_id)

    async def read(self) -> Outcome:
        try:
            page = await self.client.list_conversations()
        except MaxError as exc:
            return Outcome(error=str(exc))
        return Outcome("completed", str(page.count))

    async def healthy(self) -> bool:
        return (await self.read()).error is None


class ToolFace(abc.ABC):
    """A face that offers the tools to a model: an error is a result the model reads."""

    @abc.abstractmethod
    async def tool(self, name: str, arguments: dict[str, Any]) -> Outcome:
        """Call tool `name` with `arguments` the way this face's host would."""

    async def chat(
        self, message: str, conversation_id: str | None = None, wait_s: float = 30
    ) -> Outcome:
        arguments: dict[str, Any] = {"message": message, "wait_s": min(wait_s, 55)}
        if conversation_id:
            arguments["conversation_id"] = conversation_id
        return await self.tool("max_chat", arguments)

    async def read(self) -> Outcome:
        return await self.tool("max_list_conversations", {})

    async def healthy(self) -> bool:
        return (await self.read()).error is None


def _outcome(data: dict[str, Any], text: str) -> Outcome:
    return Outcome(
        data.get("status", "completed"),
        data.get("reply") or text,
        data.get("conversation_id"),
        bool(data.get("reply_truncated")),
    )


class MCPFace(ToolFace):
    name = "mcp"

    def __init__(self, client: AsyncMaxClient) -> None:
        self.client = client
        self.session: Client | None = None

    async def __aenter__(self) -> MCPFace:
        self.session = await Client(build_server(self.client)).__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.session is not None
        await self.session.__aexit__(*exc)

    async def tool(self, name: str, arguments: dict[str, Any]) -> Outcome:
        assert self.session is not None
        result = await self.session.call_tool(name, arguments)
        text = result.content[0].text  # type: ignore[union-attr]  # max-tools results are text blocks
        if result.is_error:
            return Outcome(error=text)
        return _outcome(result.structured_content or {}, text)

    async def healthy(self) -> bool:
        assert self.session is not None
        tools = await self.session.list_tools()
        return len(tools.tools) == 15 and await super().healthy()


class LangChainFace(ToolFace):
    name = "langchain"

    def __init__(self, client: AsyncMaxClient) -> None:
        self.tools = {
            name: MaxTool(action=name, client=client)
            for name in ("max_chat", "max_list_conversations")
        }

    async def tool(self, name: str, arguments: dict[str, Any]) -> Outcome:
        message = await self.tools[name].ainvoke(
            {"type": "tool_call", "id": str(uuid.uuid4()), "name": name, "args": arguments}
        )
        if message.status == "error":
            return Outcome(error=str(message.content))
        artifact = message.artifact
        return _outcome(artifact.model_dump() if artifact else {}, str(message.content))
