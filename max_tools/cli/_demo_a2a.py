"""The demo's A2A steps: max-a2a in front of the same emulator, driven by the A2A SDK's client.

The face is served in-process on a loopback port (as `max-a2a` serves it); the client reads its
agent card, streams a question, and answers an approval through input-required. Without the a2a
extra the steps say how to get it and pass, as the chart's PNG does without the charts extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from max_tools.cli._demo import DemoFailed, check

if TYPE_CHECKING:
    from max_tools.cli._demo import _Steps

__all__ = ["a2a_steps"]

_MISSING = "skipped: the A2A face needs the a2a extra (pip install 'max-tools[a2a]')"


async def a2a_steps(emulator: Any, step: _Steps) -> None:
    """Two steps: a streamed question, then an approval as input-required."""
    try:
        import httpx
        from a2a.client import ClientConfig, create_client

        from a2a_server import create_app
        from max_tools import AsyncMaxClient
        from max_tools.hosting import ServerKeyAuth
        from max_tools.serving import serve_asgi
    except ImportError:
        step("max-a2a: a question streamed with the A2A SDK's client")
        step.show(_MISSING)
        step("max-a2a: an approval as input-required, approved by the next message")
        step.show(_MISSING)
        return
    env = emulator.env()
    async with (
        AsyncMaxClient(
            api_key=env["POSTHOG_PERSONAL_API_KEY"],
            host=env["POSTHOG_HOST"],
            project_id=env["POSTHOG_PROJECT_ID"],
        ) as max_client,
        serve_asgi(create_app(ServerKeyAuth(max_client)), host="127.0.0.1", port=0) as port,
        httpx.AsyncClient(timeout=30) as http,
    ):
        url = f"http://127.0.0.1:{port}"
        client = await create_client(url, ClientConfig(streaming=True, httpx_client=http))
        async with client:
            card = (await http.get(f"{url}/.well-known/agent-card.json")).json()
            await _question(client, url, card, step)
            await _approval(client, step)


def _message(text: str | None = None, *, data: Any = None, task_id: str = "") -> Any:
    from a2a.helpers import new_data_part, new_text_part
    from a2a.types import Message, Role, SendMessageRequest

    parts = [new_text_part(text)] if text is not None else [new_data_part(data)]
    message = Message(message_id=f"demo-{id(parts)}", role=Role.ROLE_USER, parts=parts)
    message.task_id = task_id
    return SendMessageRequest(message=message)


async def _send(client: Any, request: Any, step: _Steps) -> tuple[Any, str, Any]:
    """Stream one message; returns the task, the answer artifact's text and the final status."""
    from a2a.helpers import get_text_parts

    task, answer, status, updates = None, "", None, 0
    async for event in client.send_message(request):
        if event.HasField("task"):
            task = event.task
        elif event.HasField("artifact_update") and event.artifact_update.artifact.artifact_id == (
            "answer"
        ):
            update = event.artifact_update
            chunk = "".join(get_text_parts(update.artifact.parts))
            answer = answer + chunk if update.append else chunk
            updates += 1
        elif event.HasField("status_update"):
            status = event.status_update.status
            line = " ".join(get_text_parts(status.message.parts)) if status.message else ""
            if line:
                step.show(f"status: {_first_sentence(line)}")
    if status is None:  # a resumed task streams updates only: its task was announced before
        raise DemoFailed("max-a2a should end the stream with the task's status")
    step.show(f"answer artifact ({updates} updates): {answer}")
    return task, answer, status


async def _question(client: Any, url: str, card: dict[str, Any], step: _Steps) -> None:
    from a2a.types import TaskState

    step("max-a2a: a question streamed with the A2A SDK's client")
    skills = ", ".join(skill["id"] for skill in card.get("skills", []))
    step.show(f"agent card at {url}/.well-known/agent-card.json; skills: {skills}")
    check(card.get("capabilities", {}).get("streaming") is True, "the card should offer streaming")
    task, answer, status = await _send(
        client, _message("How many users signed up last week?"), step
    )
    check(task is not None, "a new message should start a task")
    check(status.state == TaskState.TASK_STATE_COMPLETED, "the A2A task should complete")
    check(bool(answer), "the answer should reach the A2A client as an artifact")


async def _approval(client: Any, step: _Steps) -> None:
    from a2a.types import TaskState

    step("max-a2a: an approval as input-required, approved by the next message")
    task, _, status = await _send(client, _message("Delete the onboarding dashboard"), step)
    check(task is not None, "a new message should start a task")
    check(status.state == TaskState.TASK_STATE_INPUT_REQUIRED, "the task should wait for input")
    step.show('-> the client sends {"decision": "approve"} to the task')
    _, answer, done = await _send(
        client, _message(data={"decision": "approve"}, task_id=task.id), step
    )
    check(done.state == TaskState.TASK_STATE_COMPLETED, "the approved task should complete")
    check("carried out" in answer, "the answer should say the operation was carried out")


def _first_sentence(text: str) -> str:
    """A status line as the demo shows it: its first sentence, whole."""
    first = text.splitlines()[0]
    end = first.find(". ")
    return first[: end + 1] if end != -1 else first
