"""MaxToolkit(approvals="interrupt"): a person decides through LangGraph's interrupt()."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from langchain_integration import MaxToolkit
from max_tools.emulator import DEFAULT_KEY, RunningEmulator


class State(TypedDict, total=False):
    request: str
    result: str


def graph(emulator: RunningEmulator, tool: str = "max_chat") -> Any:
    tools = {
        t.name: t
        for t in MaxToolkit(
            api_key=DEFAULT_KEY, host=emulator.url, project_id=1, approvals="interrupt"
        ).get_tools()
    }

    async def ask(state: State) -> State:
        content = await tools[tool].ainvoke({"message": state["request"]})
        return {"result": str(content)}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


def humans(emulator: RunningEmulator, conversation_id: str) -> int:
    return sum(m["type"] == "human" for m in emulator.conversation(conversation_id).messages)


async def test_a_rejection_with_feedback_resumes_the_same_call(emulator: RunningEmulator) -> None:
    app, config = graph(emulator), {"configurable": {"thread_id": "t1"}}

    first = await app.ainvoke({"request": "Delete the onboarding dashboard"}, config)
    [paused] = first["__interrupt__"]
    card = paused.value
    assert card["status"] == "needs_approval" and card["approvals"][0]["tool"] == "delete_dashboard"

    done = await app.ainvoke(Command(resume={"decision": "reject", "feedback": "audits"}), config)

    assert "status: completed" in done["result"]
    assert "left everything as it was" in done["result"]
    assert humans(emulator, card["conversation_id"]) == 1  # the re-run did not ask again
    decisions = emulator.conversation(card["conversation_id"]).approvals
    assert [d["decision_status"] for d in decisions] == ["rejected"]


async def test_form_answers_resume_the_same_call(emulator: RunningEmulator) -> None:
    app, config = graph(emulator), {"configurable": {"thread_id": "t2"}}

    first = await app.ainvoke({"request": "Make me a chart"}, config)
    card = first["__interrupt__"][0].value
    assert [q["id"] for q in card["questions"]] == ["time_range", "breakdown"]

    done = await app.ainvoke(Command(resume={"answers": {"time_range": "Last 30 days"}}), config)

    assert "Thanks for the answers." in done["result"]
    assert humans(emulator, card["conversation_id"]) == 1


async def test_outside_a_graph_the_card_goes_to_the_agent(emulator: RunningEmulator) -> None:
    tool = MaxToolkit(
        api_key=DEFAULT_KEY, host=emulator.url, project_id=1, approvals="interrupt"
    ).get_tools()[0]

    content = await tool.ainvoke({"message": "Delete the onboarding dashboard"})

    assert "status: needs_approval" in str(content)


async def test_the_synchronous_path_interrupts_and_resumes_too(emulator: RunningEmulator) -> None:
    tools = {
        t.name: t
        for t in MaxToolkit(
            api_key=DEFAULT_KEY, host=emulator.url, project_id=1, approvals="interrupt"
        ).get_tools()
    }

    def ask(state: State) -> State:
        return {"result": str(tools["max_chat"].invoke({"message": state["request"]}))}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    app = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "sync"}}

    # A synchronous graph, run on a worker thread as a synchronous application would run it.
    start: Any = {"request": "Delete the onboarding dashboard"}
    first = await anyio.to_thread.run_sync(app.invoke, start, config)
    card = first["__interrupt__"][0].value
    done = await anyio.to_thread.run_sync(
        app.invoke, Command(resume={"decision": "approve"}), config
    )

    assert "carried out" in done["result"]
    assert humans(emulator, card["conversation_id"]) == 1


async def test_a_resume_value_of_the_wrong_shape_is_a_tool_error(emulator: RunningEmulator) -> None:
    app, config = graph(emulator), {"configurable": {"thread_id": "t3"}}
    await app.ainvoke({"request": "Delete the onboarding dashboard"}, config)

    done = await app.ainvoke(Command(resume="yes please"), config)

    assert "Resume the graph with a JSON object" in done["result"]


async def test_a_resume_without_answers_leaves_the_form_waiting(emulator: RunningEmulator) -> None:
    app, config = graph(emulator), {"configurable": {"thread_id": "t4"}}
    first = await app.ainvoke({"request": "Make me a chart"}, config)
    card = first["__interrupt__"][0].value

    done = await app.ainvoke(Command(resume={"decision": "approve"}), config)

    assert "Resume with the person's answers" in done["result"]
    assert "nothing was sent" in done["result"]
    messages = emulator.conversation(card["conversation_id"]).messages
    assert not any(m["type"] == "tool" for m in messages)  # the form was not dismissed
