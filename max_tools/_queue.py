"""The follow-up queue's methods of `AsyncMaxClient` (PostHog's `/queue/` endpoints)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from max_tools._arguments import conversation_id as conversation_id_of
from max_tools._arguments import message_options, message_text
from max_tools._arguments import queue_id as queue_id_of
from max_tools._http import HTTPCore, parse_answer
from max_tools._models import Conversation, Queue
from max_tools._moved import refused_if_moved
from max_tools._retry import Repeatable

__all__ = ["QueueMethods"]


class QueueMethods:
    """Mixed into `AsyncMaxClient`; it provides `_http` and `get_conversation`.

    A refused change to the queue of a conversation that moved to PostHog AI's newer runtime
    raises `ConversationMovedError` (see `_moved`).
    """

    _http: HTTPCore

    if TYPE_CHECKING:

        async def get_conversation(self, conversation_id: str | uuid.UUID) -> Conversation: ...

    async def get_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """The follow-ups waiting for the running reply to end."""
        cid = conversation_id_of(conversation_id)
        return await self._queue_request("GET", f"{cid}/queue/", f"read the queue of {cid}")

    async def queue_message(
        self,
        conversation_id: str | uuid.UUID,
        message: str,
        *,
        agent_mode: str | None = None,
        ui_context: dict[str, Any] | None = None,
        contextual_tools: dict[str, Any] | None = None,
        billing_context: dict[str, Any] | None = None,
    ) -> Queue:
        """Queue a follow-up; it runs when the current reply ends (PostHog keeps at most 2).

        Raises:
            QueueFullError: two follow-ups are queued already.
            QueueNotRunningError: nothing is running that would pick it up; send it instead.
        """
        cid = conversation_id_of(conversation_id)
        body: dict[str, Any] = {"content": message_text(message)}
        body.update(message_options(agent_mode, ui_context, contextual_tools, billing_context))
        return await self._queue_request(
            "POST",
            f"{cid}/queue/",
            f"queue a message in {cid}",
            json=body,
            repeatable=Repeatable.IF_NOT_RECEIVED,
        )

    async def update_queued_message(
        self, conversation_id: str | uuid.UUID, queue_id: str, message: str
    ) -> Queue:
        """Change the text of a queued follow-up."""
        cid, qid = conversation_id_of(conversation_id), queue_id_of(queue_id)
        return await self._queue_request(
            "PATCH",
            f"{cid}/queue/{qid}/",
            f"edit queued message {qid} of {cid}",
            json={"content": message_text(message)},
        )

    async def delete_queued_message(self, conversation_id: str | uuid.UUID, queue_id: str) -> Queue:
        """Remove one queued follow-up."""
        cid, qid = conversation_id_of(conversation_id), queue_id_of(queue_id)
        doing = f"remove queued message {qid} of {cid}"
        async with refused_if_moved(self.get_conversation, cid, doing):
            response = await self._http.request(
                "DELETE",
                f"{cid}/queue/{qid}/",
                doing=doing,
                repeatable=Repeatable.ALWAYS,
                scoped_action=True,
                gone_ok_on_repeat=True,
            )
        if response is None:  # an earlier attempt removed it
            return await self.get_queue(cid)
        return parse_answer(Queue, response, doing)

    async def clear_queue(self, conversation_id: str | uuid.UUID) -> Queue:
        """Remove every queued follow-up."""
        cid = conversation_id_of(conversation_id)
        return await self._queue_request("POST", f"{cid}/queue/clear/", f"clear the queue of {cid}")

    async def _queue_request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        json: Any = None,
        repeatable: Repeatable = Repeatable.ALWAYS,
    ) -> Queue:
        cid = path.split("/", 1)[0]
        async with refused_if_moved(self.get_conversation, cid, doing):
            response = await self._http.request(
                method, path, json=json, doing=doing, repeatable=repeatable, scoped_action=True
            )
        return parse_answer(Queue, response, doing)
