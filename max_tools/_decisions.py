"""Answering a run that waits for a person: approve, reject, answer a form, dismiss it.

A resume is a send and must never be repeated blindly (reference 12.6): a second resume for the
same proposal fails at PostHog and may mark it `auto_rejected`. So before sending, the
conversation is read and the proposal (or form) must be the one it waits for; and when a resume
may have landed (no answer, a timeout, a 5xx), the stream finds out from the conversation
(running, or a `tool` message answering the paused call) before anything is sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

import anyio

from max_tools._arguments import conversation_id as conversation_id_of
from max_tools._errors import InvalidArgumentsError, NotPendingError, moved_error
from max_tools._interrupts import (
    Approval,
    Form,
    Interrupt,
    approval_resume,
    check_answers,
    dismiss_resume,
    find_interrupt,
    form_resume,
)
from max_tools._messages import FailureMessage
from max_tools._models import Conversation
from max_tools._reply import Reply
from max_tools._turn import answered

if TYPE_CHECKING:
    from max_tools._stream import FindLanded, ReplyStream
    from max_tools._turn import FollowOptions, OnEvent, Turns

__all__ = ["DecisionMethods"]


class DecisionMethods:
    """Mixed into `AsyncMaxClient`, which provides the methods declared here."""

    _paused: dict[str, list[Approval]]
    _resuming: dict[str, anyio.Lock]
    _turns: Turns

    if TYPE_CHECKING:

        async def get_conversation(self, conversation_id: str | uuid.UUID) -> Conversation: ...

        def _reply_stream(
            self,
            message: str | None,
            *,
            conversation_id: str | uuid.UUID | None,
            resume_payload: Any = None,
            find_landed: FindLanded | None = None,
        ) -> ReplyStream: ...

    async def approve(
        self,
        conversation_id: str | uuid.UUID,
        proposal_id: str,
        *,
        payload: Mapping[str, Any] | None = None,
        wait_s: float | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Approve a pending operation and follow the run as it carries it out.

        Args:
            conversation_id: the conversation that waits.
            proposal_id: the approval's `proposal_id` (from `Reply.approvals`).
            payload: arguments to change: merged over the proposed ones before the tool runs.
            wait_s: a time budget for following the run (see `ask`).
            on_event: called with each stream event as it arrives (see `ask`).

        Raises:
            NotPendingError: the proposal is not waiting (decided, stale, unknown); nothing
                was sent.
        """
        if payload is not None and not isinstance(payload, Mapping):
            raise InvalidArgumentsError(
                "payload must be a JSON object of the arguments to change, e.g. "
                '{"dashboard_id": 43}.'
            )
        return await self._decide(
            conversation_id, proposal_id, True, None, payload, wait_s, on_event
        )

    async def reject(
        self,
        conversation_id: str | uuid.UUID,
        proposal_id: str,
        *,
        feedback: str | None = None,
        wait_s: float | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Reject a pending operation (with optional feedback); PostHog AI then answers.

        Raises:
            NotPendingError: the proposal is not waiting; nothing was sent.
        """
        return await self._decide(
            conversation_id, proposal_id, False, feedback, None, wait_s, on_event
        )

    async def answer(
        self,
        conversation_id: str | uuid.UUID,
        answers: Mapping[str, str | list[str]],
        *,
        wait_s: float | None = None,
        on_event: OnEvent | None = None,
    ) -> Reply:
        """Answer the form PostHog AI asked, keyed by question id, and follow the run.

        A multi_select answer is a list of options; a multi_field question is answered per
        field id. Leave a question out to skip it. An empty `answers` dismisses the form.

        Raises:
            NotPendingError: no form is waiting in the conversation; nothing was sent.
            InvalidArgumentsError: an answer does not fit its question; nothing was sent.
        """

        def payload(interrupt: Interrupt) -> dict[str, Any]:
            if not answers:
                return dismiss_resume()
            return form_resume(check_answers(interrupt.form or Form(), answers))

        return await self._resume(conversation_id, "form", payload, wait_s, on_event)

    async def dismiss_form(
        self, conversation_id: str | uuid.UUID, **follow: Unpack[FollowOptions]
    ) -> Reply:
        """Decline to answer the form; PostHog AI goes on without the answers.

        The same as `answer` with no answers; `wait_s` and `on_event` are as in `answer`.
        """
        return await self.answer(conversation_id, {}, **follow)

    async def _decide(
        self,
        conversation_id: str | uuid.UUID,
        proposal_id: str,
        approve: bool,
        feedback: str | None,
        payload: Mapping[str, Any] | None,
        wait_s: float | None,
        on_event: OnEvent | None,
    ) -> Reply:
        proposal_id = str(proposal_id).strip()
        if not proposal_id:
            raise InvalidArgumentsError("proposal_id is empty; pass the id of a pending approval.")
        body = approval_resume(proposal_id, approve=approve, feedback=feedback, payload=payload)
        return await self._resume(
            conversation_id, "approval", lambda _: body, wait_s, on_event, proposal_id
        )

    async def _waiting(
        self, conversation_id: str | uuid.UUID, kind: str, proposal_id: str | None = None
    ) -> tuple[str, Interrupt]:
        """The conversation's current interrupt, checked to be of `kind` (and that proposal)."""
        cid = conversation_id_of(conversation_id)
        conversation = await self.get_conversation(cid)
        if conversation.moved:  # PostHog would refuse the resume (reference 16.3)
            raise moved_error(f"send a decision to conversation {cid}")
        if conversation.is_running:
            raise NotPendingError(
                f"Conversation {cid} is running: nothing waits for an answer now. Follow it with "
                "wait(); nothing was sent."
            )
        interrupt = find_interrupt(conversation.messages, conversation.pending_approvals)
        if proposal_id is not None:
            _check_proposal(cid, proposal_id, conversation, interrupt)
        if interrupt is None or interrupt.kind != kind:
            raise NotPendingError(
                f"Conversation {cid} is not waiting for form answers; nothing was sent."
            )
        return cid, interrupt

    async def _resume(
        self,
        conversation_id: str | uuid.UUID,
        kind: str,
        payload_for: Callable[[Interrupt], dict[str, Any]],
        wait_s: float | None,
        on_event: OnEvent | None,
        proposal_id: str | None = None,
    ) -> Reply:
        """Check what waits, send the resume once, then follow the run.

        In this process one resume per conversation is checked and sent at a time, so of two
        agents deciding at once one resumes the run and the other finds it decided or running.
        """
        cid = conversation_id_of(conversation_id)
        lock = self._resuming.setdefault(cid, anyio.Lock())
        async with lock:
            cid, interrupt = await self._waiting(cid, kind, proposal_id)
            payload = payload_for(interrupt)
            replies = self._reply_stream(
                None,
                conversation_id=cid,
                resume_payload=payload,
                find_landed=answered(_paused_call(interrupt, proposal_id)),
            )
            try:
                await replies.open()
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await replies.aclose()
                raise
            finally:
                if lock.statistics().tasks_waiting == 0:
                    self._resuming.pop(cid, None)
        self._paused.pop(cid, None)
        reply = await self._turns.follow(replies, wait_s, on_event)
        if proposal_id is not None and _failed_at_once(reply):
            # Someone else decided first (or the proposal went stale in between): PostHog
            # refused this resume without touching the conversation.
            conversation = await self.get_conversation(cid)
            decided = next(
                (a for a in conversation.pending_approvals if a.proposal_id == proposal_id), None
            )
            if decided is not None and not decided.pending:
                raise NotPendingError(
                    f"Proposal {proposal_id} in conversation {cid} was {_status(decided)} "
                    "meanwhile, by another decision; yours was not applied."
                )
        return reply


def _paused_call(interrupt: Interrupt, proposal_id: str | None) -> str:
    """The id of the tool call the resume answers."""
    if proposal_id is not None:
        for approval in interrupt.approvals:
            if approval.proposal_id == proposal_id and approval.original_tool_call_id:
                return approval.original_tool_call_id
    if interrupt.form is not None and interrupt.form.tool_call_id:
        return interrupt.form.tool_call_id
    return interrupt.calls[0].id or ""


def _check_proposal(
    cid: str, proposal_id: str, conversation: Conversation, interrupt: Interrupt | None
) -> None:
    known = {a.proposal_id: a for a in conversation.pending_approvals}
    approval = known.get(proposal_id)
    waiting = [a.proposal_id for a in interrupt.approvals] if interrupt is not None else []
    if approval is None:
        hint = f"the pending one is {waiting[0]}" if waiting else "none is pending"
        raise NotPendingError(
            f"Conversation {cid} has no approval {proposal_id} ({hint}); nothing was sent."
        )
    if not approval.pending:
        raise NotPendingError(
            f"Proposal {proposal_id} in conversation {cid} was already {_status(approval)}; "
            "nothing was sent."
        )
    if proposal_id not in waiting:
        raise NotPendingError(
            f"Proposal {proposal_id} in conversation {cid} is stale: the conversation moved on "
            "after it was proposed, so it can no longer be carried out; nothing was sent."
        )


def _status(approval: Approval) -> str:
    if approval.decision_status == "auto_rejected":
        return "skipped (a new message was sent instead of a decision)"
    return approval.decision_status


def _failed_at_once(reply: Reply) -> bool:
    """A resume that PostHog refused: a lone failure, nothing else."""
    return bool(reply.messages) and all(isinstance(m, FailureMessage) for m in reply.messages)
