"""Delegations: an agent run inside another agent's tool or run, and the task it was given."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.genai_spans import genai_chat, invoke_agent
from support.records import MS, TraceBuilder, assistant, user

from otel_bridge import derive
from otel_bridge.conventions import genai_attributes as genai

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


@pytest.mark.parametrize(
    ("arguments", "task"),
    [
        ({"task": "Find the figures.", "about": "otel"}, "Find the figures."),
        ({"query": "Find the figures.", "limit": 3}, "Find the figures."),  # the only text
        ({"b": "two", "a": "one"}, '{"a": "one", "b": "two"}'),  # several texts: all, sorted
        ({"limit": 3}, '{"limit": 3}'),
    ],
)
def test_a_delegations_task_is_read_from_the_tools_arguments(
    arguments: dict[str, Any], task: str
) -> None:
    """The manager's tool runs the researcher agent (LlamaIndex's agent-in-a-tool shape)."""
    b = TraceBuilder()
    root = b.root(0, 60)
    s1 = b.step(root, "manager", 0, 10)
    b.llm(s1, 1, 9, [user("Report.")], [assistant(calls=[("c1", "research", arguments)])])
    ct = b.call_tool(root, "c1", 11, 50)
    tool = b.tool(ct, "research", arguments, "figures", 12, 49)
    inner = b.step(tool, "researcher", 13, 40)
    b.llm(inner, 14, 39, [user("Find the figures.")], [assistant("figures")])
    (delegation,) = derive(b.spans).delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "manager",
        "researcher",
        task,
    )
    assert (delegation.at_ns, delegation.tool_call_id) == (12 * MS, "c1")


def test_each_agent_run_inside_another_agents_tool_is_one_delegation() -> None:
    """Two turns of the researcher inside one tool are one delegation; a second tool runs the
    reviewer; the manager's own turn inside its own tool delegates nothing."""
    b = TraceBuilder()
    root = b.root(0, 100)
    s1 = b.step(root, "manager", 0, 10)
    asked = [("c1", "research", {"task": "Dig."}), ("c2", "review", {"task": "Check."})]
    b.llm(s1, 1, 9, [user("Report.")], [assistant(calls=[*asked, ("c3", "recheck", {})])])
    research = b.tool(b.call_tool(root, "c1", 11, 40), "research", {"task": "Dig."}, "ok", 12, 39)
    for start in (13, 25):  # two turns of one agent run
        turn = b.step(research, "researcher", start, start + 10)
        b.llm(turn, start + 1, start + 9, [user("Dig.")], [assistant("dug")])
    review = b.tool(b.call_tool(root, "c2", 41, 60), "review", {"task": "Check."}, "ok", 42, 59)
    turn = b.step(review, "reviewer", 43, 58)
    b.llm(turn, 44, 57, [user("Check.")], [assistant("checked")])
    recheck = b.tool(b.call_tool(root, "c3", 61, 80), "recheck", {}, "ok", 62, 79)
    turn = b.step(recheck, "manager", 63, 78)
    b.llm(turn, 64, 77, [user("Again.")], [assistant("again")])
    found = derive(b.spans).delegations
    assert [(d.from_agent, d.to_agent, d.task, d.tool_call_id, d.at_ns) for d in found] == [
        ("manager", "researcher", "Dig.", "c1", 12 * MS),
        ("manager", "reviewer", "Check.", "c2", 42 * MS),
    ]


def test_an_agent_run_inside_another_agents_run_is_one_delegation_per_agent() -> None:
    """A managed agent's run nested in its manager's: one delegation, whatever the number of
    its runs there; an agent inside its own run, or under a span the trace lacks, is none."""
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = invoke_agent(b, "manager", 0, 95, root)
    b.span("chat", 1, 5, manager, attrs=genai_chat(call=("m1", "researcher")))
    b.span("chat", 6, 9, manager, attrs=genai_chat("Over to the researcher."))  # no call in it
    first = invoke_agent(b, "researcher", 10, 30, manager)
    b.span("chat", 11, 19, first, attrs=genai_chat("dug"))
    itself = invoke_agent(b, "researcher", 20, 29, first)
    b.span("chat", 21, 28, itself, attrs=genai_chat("dug deeper"))
    second = invoke_agent(b, "researcher", 40, 60, manager)
    b.span("chat", 41, 59, second, attrs=genai_chat("dug again"))
    b.span("chat", 61, 65, manager, attrs=genai_chat(call=("m2", "researcher")))  # later
    lost = invoke_agent(b, "helper", 70, 80, manager)
    b.span("chat", 71, 79, lost, attrs=genai_chat("helped"))
    b.spans[b.spans.index(lost)] = replace(lost, parent_id=0xDEAD)  # its parent never arrived
    found = derive(b.spans).delegations
    assert [(d.from_agent, d.to_agent, d.tool_call_id, d.at_ns) for d in found] == [
        ("manager", "researcher", "m1", 10 * MS)
    ]


def test_a_delegation_asked_with_plain_text_has_that_text_as_its_task() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = invoke_agent(b, "manager", 0, 95, root)
    call = {"type": "tool_call", "id": "c5", "name": "ask_writer", "arguments": "Write it up."}
    chat = {
        **genai_chat(),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [call]}]),
    }
    b.span("chat", 1, 9, manager, attrs=chat)  # the model asked with text, not JSON
    asking = {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: "ask_writer",
        genai.TOOL_CALL_ID: "c5",
        genai.TOOL_CALL_ARGUMENTS: "Write it up.",  # text, not JSON
        genai.TOOL_CALL_RESULT: "written",
    }
    tool = b.span("execute_tool ask_writer", 10, 50, manager, attrs=asking)
    writer = invoke_agent(b, "writer", 11, 49, tool)
    b.span("chat", 12, 48, writer, attrs=genai_chat("written"))
    (delegation,) = derive(b.spans).delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "manager",
        "writer",
        "Write it up.",
    )
    assert (delegation.tool_call_id, delegation.at_ns) == ("c5", 10 * MS)
