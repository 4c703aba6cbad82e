"""LangGraph runs recorded as OTLP JSON (tests/support/record_langgraph.py) derive to the full
RunTrace.

Expected figures are the recorded scripts' literals (tests/support/langgraph_scenarios.py); these
tests need neither LangGraph nor the scripted server.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from support.paths import DATA

from otel_bridge import RunTrace, derive, load_spans

DATA = DATA / "langgraph"
QUERY = "Tell me about otel"
ANSWER = "OTel is a CNCF project."
SEARCH_RESULT = "OpenTelemetry is a CNCF project."


def run(name: str) -> RunTrace:
    return derive(load_spans(str(DATA / f"{name}.otlp.json")))


def usage(trace: RunTrace) -> tuple[int, int, int, int]:
    u = trace.usage
    return (u.input_tokens, u.output_tokens, u.total_tokens, u.cached_input_tokens)


def shape(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(agent, role, content, tool call names, tool_call_id) of each message."""
    return [
        (
            m.get("agent"),
            m["role"],
            m.get("content"),
            tuple(c["function"]["name"] for c in m.get("tool_calls", ())),
            m.get("tool_call_id"),
        )
        for m in messages
    ]


def test_one_tool_call_gives_messages_tokens_tools_and_the_answer() -> None:
    trace = run("one_tool")
    assert (trace.status, trace.input, trace.output) == ("ok", QUERY, ANSWER)
    assert trace.labels["framework"] == "langgraph"
    assert trace.issues == []
    assert usage(trace) == (230, 18, 248, 64)
    assert [(c.agent, c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == [
        ("researcher", 100, 10),
        ("researcher", 130, 8),
    ]
    assert [c.usage.cached_input_tokens for c in trace.llm_calls] == [0, 64]
    assert [c.model for c in trace.llm_calls] == ["gpt-4o-mini", "gpt-4o-mini"]
    (tool,) = trace.tool_calls
    call_id = tool.tool_call_id
    assert call_id is not None and call_id.startswith("call_")
    assert (tool.agent, tool.name, tool.arguments, tool.output, tool.status, tool.error) == (
        "researcher",
        "search",
        {"query": "otel"},
        SEARCH_RESULT,
        "ok",
        None,
    )
    assert shape(trace.messages) == [
        ("researcher", "system", "You research.", (), None),
        ("researcher", "user", QUERY, (), None),
        ("researcher", "assistant", "", ("search",), None),
        ("researcher", "tool", SEARCH_RESULT, (), call_id),
        ("researcher", "assistant", ANSWER, (), None),
    ]
    assert json.loads(trace.messages[2]["tool_calls"][0]["function"]["arguments"]) == {
        "query": "otel"
    }
    assert trace.messages[2]["tool_calls"][0]["id"] == call_id
    stats = trace.agents["researcher"]
    assert (stats.llm_calls, stats.tool_calls, stats.errors) == (2, 1, 0)
    assert stats.usage.input_tokens == 230
    assert trace.handoffs == [] and trace.delegations == []
    assert trace.cost.total_usd is not None and trace.cost.total_usd > 0
    assert trace.timings.wall_ns > 0 and trace.timings.llm_ns > 0 and trace.timings.tool_ns > 0


def test_parallel_tool_calls_each_have_their_id_arguments_and_result() -> None:
    trace = run("parallel_tools")
    assert usage(trace) == (300, 29, 329, 100)
    assert [(t.name, t.arguments, t.output) for t in trace.tool_calls] == [
        ("search", {"query": "otel"}, SEARCH_RESULT),
        ("word_count", {"text": "open telemetry rocks"}, "3"),
    ]
    ids = [t.tool_call_id for t in trace.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    assert shape(trace.messages)[2:5] == [
        ("counter", "assistant", "", ("search", "word_count"), None),
        ("counter", "tool", SEARCH_RESULT, (), ids[0]),
        ("counter", "tool", "3", (), ids[1]),
    ]


def test_a_raising_tool_is_an_error_of_its_agent_and_the_model_sees_the_error() -> None:
    trace = run("tool_raises")
    assert (trace.status, trace.output) == ("ok", "The tool failed.")
    (tool,) = trace.tool_calls
    assert (tool.agent, tool.name, tool.status) == ("tryer", "explode", "error")
    assert tool.error == "RuntimeError: tool exploded: boom"
    assert tool.arguments == {"reason": "boom"}
    assert tool.tool_call_id is not None  # from the tools node: the span itself has none
    assert trace.agents["tryer"].errors == 1
    result = [m for m in trace.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in result] == [tool.tool_call_id]
    assert str(result[0]["content"]).startswith("Error: RuntimeError('tool exploded: boom')")


def test_create_react_agent_is_named_after_its_graph() -> None:
    trace = run("react_agent")
    assert list(trace.agents) == ["researcher"]
    assert usage(trace) == (230, 18, 248, 0)
    assert [t.agent for t in trace.tool_calls] == ["researcher"]
    assert trace.output == ANSWER


def test_swarm_handoff_passes_control_with_tokens_per_agent() -> None:
    trace = run("swarm")
    assert usage(trace) == (210, 21, 231, 32)
    assert {
        n: (a.usage.input_tokens, a.usage.cached_input_tokens, a.llm_calls)
        for n, a in trace.agents.items()
    } == {
        "researcher": (150, 0, 2),
        "writer": (60, 32, 1),
    }
    transfer = trace.tool_calls[1]
    assert (transfer.name, transfer.arguments, transfer.output) == (
        "transfer_to_writer",
        {},
        "Successfully transferred to writer",
    )
    (handoff,) = trace.handoffs
    assert (handoff.from_agent, handoff.to_agent, handoff.tool_call_id) == (
        "researcher",
        "writer",
        transfer.tool_call_id,
    )
    assert trace.delegations == []
    assert shape(trace.messages)[4:] == [
        ("researcher", "assistant", "", ("transfer_to_writer",), None),
        ("researcher", "tool", "Successfully transferred to writer", (), transfer.tool_call_id),
        ("writer", "system", "You write.", (), None),
        ("writer", "assistant", ANSWER, (), None),
    ]
    assert trace.output == ANSWER


def test_supervisor_transfers_and_the_transfer_back_are_handoffs() -> None:
    trace = run("supervisor")
    assert usage(trace) == (450, 29, 479, 64)
    assert [c.agent for c in trace.llm_calls] == [
        "supervisor",
        "researcher",
        "researcher",
        "supervisor",
    ]
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [
        ("supervisor", "researcher"),
        ("researcher", "supervisor"),
    ]
    assert trace.handoffs[0].tool_call_id == trace.tool_calls[0].tool_call_id
    # The transfer back is a turn langgraph-supervisor wrote for the researcher.
    back = [m for m in trace.messages if m.get("content") == "Transferring back to supervisor"]
    assert [(m["agent"], m["tool_calls"][0]["function"]["name"]) for m in back] == [
        ("researcher", "transfer_back_to_supervisor")
    ]
    # ... with the id langgraph-supervisor gave that call: the handoff back's id.
    assert trace.handoffs[1].tool_call_id == back[0]["tool_calls"][0]["id"]
    assert trace.handoffs[1].tool_call_id == "79868677-43f7-4df1-a63a-e7697b0df88d"
    assert [(t.agent, t.name) for t in trace.tool_calls] == [
        ("supervisor", "transfer_to_researcher"),
        ("researcher", "search"),
    ]
    assert trace.output == ANSWER


def test_a_node_returning_command_goto_hands_off() -> None:
    trace = run("command_goto")
    assert [(h.from_agent, h.to_agent, h.tool_call_id) for h in trace.handoffs] == [
        ("planner", "writer", None)
    ]
    assert {n: a.usage.input_tokens for n, a in trace.agents.items()} == {
        "planner": 40,
        "writer": 70,
    }


def test_a_tool_of_ones_own_returning_command_goto_hands_off() -> None:
    """A recorded tool span rewritten as a custom tool (no handoff metadata, another name)
    whose Command says ``goto``: still a handoff, to the agent that takes over."""
    spans = load_spans(str(DATA / "swarm.otlp.json"))
    rewritten = []
    for span in spans:
        if span.attributes.get("tool.name") == "transfer_to_writer":
            attrs = {k: v for k, v in span.attributes.items() if "transfer" not in k}
            attrs["tool.name"] = "pass_work"
            attrs["metadata"] = attrs["metadata"].replace("__handoff_destination", "x")
            span = dataclasses.replace(span, name="pass_work", attributes=attrs)
        rewritten.append(span)
    trace = derive(rewritten)
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
    assert trace.tool_calls[1].name == "pass_work"
