"""The data-quality flags of a RunTrace (``issues``), each produced from hand-built records.

Each test asserts the whole list, so a flag that appears where it should not fails too.
"""

from __future__ import annotations

import dataclasses

from support.fresh_prices import prices_not_memoised
from support.records import MS, TraceBuilder, assistant, handoff_trace, user

from otel_bridge import derive, derive_all

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def test_a_clean_run_has_no_issues() -> None:
    assert derive(handoff_trace().spans).issues == []


def test_spans_read_twice_are_flagged_and_counted_once() -> None:
    """The same spans exported twice (an exporter retry) or read from two files."""
    spans = handoff_trace().spans
    tool, writer_call = spans[5], spans[-1]
    assert (tool.name, writer_call.name) == ("FunctionTool.acall", "OpenAI.achat")
    renamed = dataclasses.replace(writer_call, name="OpenAI.achat (again)")  # same span id

    trace = derive([*spans, tool, renamed])
    assert trace.issues == ["duplicate_spans"]
    assert len(trace.llm_calls) == 3 and len(trace.tool_calls) == 2
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (550, 52)
    assert trace.agents["writer"].llm_calls == 1
    assert len(trace.messages) == 8


def test_a_model_call_of_no_known_agent_is_flagged_when_there_are_several() -> None:
    """A call made outside any agent step, in a two-agent run: nobody can be charged for it."""
    b = handoff_trace()
    root = next(s for s in b.spans if s.parent_id is None)
    b.llm(root, 61, 70, [user("Summarise the brief.")], [assistant("Summary.")], usage=(40, 4))

    trace = derive(b.spans)
    assert trace.issues == ["unknown_agent"]
    assert [c.agent for c in trace.llm_calls] == ["researcher", "researcher", "writer", None]
    assert {name: s.usage.input_tokens for name, s in trace.agents.items()} == {
        "researcher": 250,
        "writer": 300,
    }
    assert trace.usage.input_tokens == 590  # the run's total still counts the call


def test_a_run_without_model_calls_is_flagged() -> None:
    b = TraceBuilder()
    root = b.root(0, 30)
    b.tool(b.call_tool(root, "c1", 5, 20), "lookup", {"key": "k"}, "v", 6, 19)

    trace = derive(b.spans)
    assert trace.issues == ["no_llm_calls"]
    assert trace.usage.total_tokens == 0 and trace.usage.complete
    assert [(t.name, t.output) for t in trace.tool_calls] == [("lookup", "v")]
    assert (trace.input, trace.output, trace.messages) == (None, None, [])


def test_evicted_spans_are_the_only_issue_of_an_otherwise_clean_run() -> None:
    assert derive(handoff_trace().spans, evicted_spans=3).issues == ["evicted_spans"]
    assert [t.issues for t in derive_all(handoff_trace().spans, evicted={0xABC: 1})] == [
        ["evicted_spans"]
    ]


def test_a_run_missing_its_root_says_so_three_ways() -> None:
    spans = [s for s in handoff_trace().spans if s.parent_id is not None]
    trace = derive(spans)
    assert trace.issues == ["orphan_spans", "multiple_roots", "no_root_span"]
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
    assert trace.start_ns == 1 * MS and trace.end_ns == 60 * MS
