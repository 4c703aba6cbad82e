"""Derivation guards that realistic bugs would break: each test fails on one small change.

Handoffs that did not happen, results that end a run, and results of parallel tool calls at a
handoff, on hand-built LlamaIndex-shaped records (``records``).
"""

from __future__ import annotations

from dataclasses import replace

from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, assistant, sys, tool_result, user

from otel_bridge import derive
from otel_bridge.spans import SpanEvent, freeze

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

HANDOFF = {"to_agent": "writer", "reason": "write it"}


def test_a_handoff_tool_that_raised_last_is_no_handoff() -> None:
    """The run ends with a handoff whose tool raised: nobody took over."""
    b = TraceBuilder()
    root = b.root(0, 30, status="ERROR")
    s1 = b.step(root, "researcher", 0, 10)
    b.llm(s1, 1, 9, [user("q")], [assistant(calls=[("c1", "handoff", HANDOFF)])])
    ct = b.call_tool(root, "c1", 11, 20)
    boom = SpanEvent("exception", 15 * 1_000_000, {"exception.message": "workflow stopped"})
    b.tool(ct, "handoff", HANDOFF, None, 12, 15, status="ERROR", events=(boom,))
    trace = derive(b.spans)
    assert trace.handoffs == []
    assert "handoff_rejected" in trace.issues


def test_a_refused_handoff_with_hidden_arguments_is_no_self_handoff() -> None:
    """Arguments not captured, the same agent goes on: no a -> a handoff is made up."""
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "researcher", 0, 10)
    b.llm(s1, 1, 9, [user("q")], [assistant(calls=[("c1", "handoff", HANDOFF)])])
    ct = b.call_tool(root, "c1", 11, 14)
    hidden = b.tool(ct, "handoff", {}, "Agent writer not found.", 12, 13)
    s2 = b.step(root, "researcher", 15, 25)
    b.llm(s2, 16, 24, [user("q")], [assistant("done myself")])
    without_input = freeze({k: v for k, v in hidden.attributes.items() if k != "input.value"})
    trace = derive([replace(s, attributes=without_input) if s is hidden else s for s in b.spans])
    assert trace.tool_calls[0].arguments is None
    assert trace.handoffs == []
    assert "handoff_rejected" in trace.issues


def test_a_run_that_ends_with_a_tool_keeps_its_result_and_answer() -> None:
    """return_direct (or a crash after the tool): the last result is nobody's next input."""
    b = TraceBuilder()
    root = b.root(0, 30)
    s1 = b.step(root, "calc", 0, 10)
    b.llm(s1, 1, 9, [sys("s"), user("2+3?")], [assistant(calls=[("c1", "add", {"a": 2})])])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    trace = derive(b.spans)
    assert trace.messages[-1] | {"agent": None} == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "c1",
        "name": "add",
        "agent": None,
    }
    assert trace.output == "5"


def test_parallel_tool_and_handoff_results_precede_the_next_agents_prompt() -> None:
    """One turn calls a tool and hands off: both results follow that turn, then the writer's
    system prompt."""
    b = TraceBuilder()
    root = b.root(0, 60)
    s1 = b.step(root, "researcher", 0, 10)
    calls = [("c1", "search", {"q": "x"}), ("c2", "handoff", HANDOFF)]
    b.llm(s1, 1, 9, [sys("research"), user("q")], [assistant(calls=calls)])
    b.tool(b.call_tool(root, "c1", 11, 14), "search", {"q": "x"}, "found", 12, 13)
    b.tool(b.call_tool(root, "c2", 15, 18), "handoff", HANDOFF, "Agent writer is now...", 16, 17)
    s2 = b.step(root, "writer", 20, 30)
    history = [
        sys("write"),
        user("q"),
        assistant(calls=calls),
        tool_result("c1", "found"),
        tool_result("c2", "Agent writer is now..."),
    ]
    b.llm(s2, 21, 29, history, [assistant("the text")])
    trace = derive(b.spans)
    assert [(m["role"], m.get("tool_call_id"), m["content"]) for m in trace.messages] == [
        ("system", None, "research"),
        ("user", None, "q"),
        ("assistant", None, ""),
        ("tool", "c1", "found"),
        ("tool", "c2", "Agent writer is now..."),
        ("system", None, "write"),
        ("assistant", None, "the text"),
    ]
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
