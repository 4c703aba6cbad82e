"""Timings on hand-built records: where the wall time of a run went, with literal expectations.

Every value below is worked out by hand from the span times (milliseconds); overlaps (parallel
calls, parallel tools, spans nested in spans) count once, and a streaming call lasts until the
end of its agent step.
"""

from __future__ import annotations

from support.fresh_prices import prices_not_memoised
from support.records import MS, TraceBuilder, assistant, handoff_trace, user

from otel_bridge import RunTrace, derive
from otel_bridge.maseval_adapter._runs import summarize

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def timings_ms(trace: RunTrace) -> dict[str, object]:
    """The run's timings in whole milliseconds, per agent too."""
    t = trace.timings
    return {
        "wall": t.wall_ns / MS,
        "llm": t.llm_ns / MS,
        "tool": t.tool_ns / MS,
        "other": t.other_ns / MS,
        "per_agent": {name: ns / MS for name, ns in t.per_agent_ns.items()},
    }


def agent_ms(trace: RunTrace) -> dict[str, float]:
    """Each agent's ``duration`` in milliseconds."""
    return {name: stats.duration_ns / MS for name, stats in trace.agents.items()}


def test_parallel_calls_and_parallel_tools_count_once() -> None:
    """Two LLM calls overlap (12-30, 20-40); two tools of one turn run at once (62-75, 64-84)."""
    b = TraceBuilder()
    root = b.root(0, 100)
    step = b.step(root, "a", 10, 60)
    both = assistant(calls=[("c1", "add", {}), ("c2", "add", {})])
    b.llm(step, 12, 30, [user("q")], [both])
    b.llm(step, 20, 40, [user("q")], [assistant("thinking")])
    b.tool(b.call_tool(root, "c1", 61, 80), "add", {}, "1", 62, 75)
    b.tool(b.call_tool(root, "c2", 63, 85), "add", {}, "2", 64, 84)

    trace = derive(b.spans)
    assert timings_ms(trace) == {
        "wall": 100,
        "llm": 28,  # 12-40
        "tool": 22,  # 62-84
        "other": 50,  # 100 - 28 - 22
        "per_agent": {"a": 72},  # step 10-60, then tools 62-84
    }
    assert agent_ms(trace) == {"a": 72}
    assert trace.to_dict()["timings"] == {
        "wall_s": 0.1,
        "llm_s": 0.028,
        "tool_s": 0.022,
        "other_s": 0.05,
        "per_agent_s": {"a": 0.072},
    }
    assert trace.to_dict()["agents"]["a"]["duration_s"] == 0.072


def test_nested_spans_count_once() -> None:
    """A model call seen twice (a wrapper around the client) and a model called inside a tool."""
    b = TraceBuilder()
    root = b.root(0, 200)
    step = b.step(root, "a", 0, 50)
    outer = b.llm(step, 5, 45, [user("q")], [assistant(calls=[("c1", "ask", {})])], name="M.achat")
    b.llm(outer, 10, 40, [user("q")], [assistant(calls=[("c1", "ask", {})])], name="M.chat")
    tool = b.tool(b.call_tool(root, "c1", 55, 105), "ask", {}, "inner answer", 60, 100)
    b.llm(tool, 70, 90, [user("inner q")], [assistant("inner answer")])

    trace = derive(b.spans)
    assert [(c.start_ns / MS, c.end_ns / MS, c.agent) for c in trace.llm_calls] == [
        (5, 45, "a"),
        (70, 90, "a"),
    ]
    assert timings_ms(trace) == {
        "wall": 200,
        "llm": 60,  # 5-45 and 70-90
        "tool": 40,  # 60-100
        "other": 120,  # 200 - (5-45) - (60-100): the call inside the tool is tool time too
        "per_agent": {"a": 90},  # step 0-50, tool 60-100
    }
    assert agent_ms(trace) == {"a": 90}


def test_a_streaming_call_lasts_until_the_end_of_its_step() -> None:
    """Streaming spans end before the first token (10-12, 322-323); their steps end later."""
    b = TraceBuilder()
    root = b.root(0, 400)
    first_step = b.step(root, "a", 10, 300)
    call = assistant(calls=[("c1", "add", {})])
    b.llm(first_step, 10, 12, [user("q")], [call], name="OpenAI.astream_chat", first_token=40)
    b.tool(b.call_tool(root, "c1", 305, 320), "add", {}, "3", 306, 318)
    second_step = b.step(root, "a", 321, 390)
    answer = [assistant("3")]
    b.llm(second_step, 322, 323, [user("q")], answer, name="OpenAI.astream_chat", first_token=330)

    trace = derive(b.spans)
    calls = [(c.start_ns / MS, c.end_ns / MS) for c in trace.llm_calls]
    assert calls == [(10, 300), (322, 390)]
    assert [c.time_to_first_token_ns for c in trace.llm_calls] == [30 * MS, 8 * MS]
    assert [c.to_dict()["duration_s"] for c in trace.llm_calls] == [0.29, 0.068]
    assert timings_ms(trace) == {
        "wall": 400,
        "llm": 358,  # 10-300 and 322-390
        "tool": 12,  # 306-318
        "other": 30,  # 0-10, 300-306, 318-322, 390-400
        "per_agent": {"a": 371},  # steps 10-300 and 321-390, tool 306-318
    }


def test_each_agent_gets_its_own_steps_calls_and_tools() -> None:
    """researcher: steps 1-10 and 15-25, tools 12-13 and 27-28 (the handoff); writer: 30-60."""
    trace = derive(handoff_trace().spans)
    assert timings_ms(trace) == {
        "wall": 100,
        "llm": 43,  # 2-9, 16-24, 31-59
        "tool": 2,  # 12-13, 27-28
        "other": 55,
        "per_agent": {"researcher": 21, "writer": 30},
    }
    assert agent_ms(trace) == {"researcher": 21, "writer": 30}
    assert trace.to_dict()["timings"]["per_agent_s"] == {"researcher": 0.021, "writer": 0.03}


def test_idle_time_with_no_span_open_is_other_time() -> None:
    """Nothing but the root runs between 30 and 70: that is neither model nor tool time."""
    b = TraceBuilder()
    root = b.root(0, 100)
    b.llm(b.step(root, "a", 10, 30), 11, 29, [user("q")], [assistant(calls=[("c1", "t", {})])])
    b.tool(b.call_tool(root, "c1", 70, 95), "t", {}, "ok", 71, 94)

    trace = derive(b.spans)
    assert timings_ms(trace) == {
        "wall": 100,
        "llm": 18,
        "tool": 23,
        "other": 59,  # 0-11, 29-71, 94-100
        "per_agent": {"a": 43},  # step 10-30, tool 71-94
    }


def test_the_adapters_totals_add_runs_up() -> None:
    """gather_traces() sums timings over runs: per agent, and the whole."""
    first = derive(handoff_trace().spans)
    second = TraceBuilder(trace_id=0xDEF)
    root = second.root(0, 50)
    second.llm(second.step(root, "writer", 5, 25), 6, 24, [user("again")], [assistant("ok")])
    totals = summarize([first, derive(second.spans)])

    assert totals["timings"] == {
        "wall_s": 0.15,  # 100 + 50
        "llm_s": 0.061,  # 43 + 18
        "tool_s": 0.002,
        "other_s": 0.087,  # 55 + 32
        "per_agent_s": {"researcher": 0.021, "writer": 0.05},  # writer 30 + 20
    }
    assert {name: a["duration_s"] for name, a in totals["agents"].items()} == {
        "researcher": 0.021,
        "writer": 0.05,
    }
