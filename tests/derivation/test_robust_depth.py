"""Derivation and the export's enrichment are linear in the depth of the parent chain.

Work is counted, not timed: the number of Python lines executed (``sys.settrace``), for a chain
and for a chain four times as deep. Linear work gives a ratio near 4, the old per-span walk up
the ancestors gave about 16; the bound of 6 is generous. The same chains must also derive to
what they say, and ``SpanIndex.nearest`` must hold for bad trees (cycles, children that start
before their parents, missing parents). Figures: ``python benchmarks/bench_derive.py``.
"""

from __future__ import annotations

import pytest
from support.records import chain
from support.work_count import lines_run

from otel_bridge import derive
from otel_bridge.spans import SpanIndex, SpanRecord
from otel_bridge.telemetry._export_view import export_plan

SHALLOW, DEEP = 400, 1600
LINEAR = 6.0  # allowed growth of work for 4x the depth


KINDS = [("TOOL",), ("TOOL", "LLM"), ("STEP", "TOOL", "LLM")]


@pytest.mark.parametrize("kinds", KINDS, ids=["-".join(k) for k in KINDS])
def test_derive_work_grows_linearly_with_depth(kinds: tuple[str, ...]) -> None:
    shallow, deep = chain(SHALLOW, kinds), chain(DEEP, kinds)
    derive(shallow)  # warm caches (attribute-key tables) before counting
    ratio = lines_run(lambda: derive(deep)) / lines_run(lambda: derive(shallow))
    assert ratio < LINEAR


@pytest.mark.parametrize("kinds", KINDS, ids=["-".join(k) for k in KINDS])
def test_export_enrichment_work_grows_linearly_with_depth(kinds: tuple[str, ...]) -> None:
    shallow, deep = chain(SHALLOW, kinds), chain(DEEP, kinds)
    export_plan(shallow, "both")
    deep_lines = lines_run(lambda: export_plan(deep, "both"))
    ratio = deep_lines / lines_run(lambda: export_plan(shallow, "both"))
    assert ratio < LINEAR


def test_a_deep_chain_of_tools_derives_every_tool_once() -> None:
    trace = derive(chain(10_000, ("TOOL",)))
    assert len(trace.tool_calls) == 10_000
    assert trace.tool_calls[-1].arguments == {"i": 9999}
    assert trace.issues == ["no_llm_calls"]


def test_in_a_chain_of_tools_and_llm_spans_only_the_outermost_llm_span_is_a_call() -> None:
    trace = derive(chain(10_000, ("TOOL", "LLM")))
    assert len(trace.tool_calls) == 5_000
    assert [(c.usage.input_tokens, c.agent) for c in trace.llm_calls] == [(3, None)]


# ---- SpanIndex.nearest on bad trees ----------------------------------------------------------


def span(span_id: int, parent_id: int | None, start: int) -> SpanRecord:
    return SpanRecord(0xABC, span_id, parent_id, f"s{span_id}", start, start + 10)


def test_nearest_marked_ancestor_of_every_span() -> None:
    spans = [span(1, None, 0), span(2, 1, 1), span(3, 2, 2), span(4, 3, 3), span(5, 1, 4)]
    assert SpanIndex(spans).nearest({1, 3}) == {1: None, 2: 1, 3: 1, 4: 3, 5: 1}
    assert SpanIndex(spans).nearest(set()) == {1: None, 2: None, 3: None, 4: None, 5: None}


def test_nearest_when_children_start_before_their_parents() -> None:
    spans = [span(4, 3, 0), span(3, 2, 1), span(2, 1, 2), span(1, None, 3)]
    assert SpanIndex(spans).nearest({2}) == {4: 2, 3: 2, 2: None, 1: None}


def test_nearest_with_a_missing_parent_and_a_cycle() -> None:
    spans = [
        span(1, 99, 0),  # its parent is not in the trace
        span(2, 1, 1),
        span(3, 4, 2),  # 3 -> 4 -> 5 -> 3: a cycle
        span(4, 5, 3),
        span(5, 3, 4),
        span(6, 3, 5),
    ]
    # From 3 (the first to start) the walk goes 3 -> 4 -> 5 and stops where the cycle closes,
    # so 5 does not look past 3 to 4.
    assert SpanIndex(spans).nearest({1, 4}) == {1: None, 2: 1, 3: 4, 4: None, 5: None, 6: 4}
    assert derive(spans).issues == ["orphan_spans", "no_root_span", "no_llm_calls"]


def test_a_long_cycle_derives() -> None:
    spans = [span(i, i + 1 if i < 5000 else 1, i) for i in range(1, 5001)]
    trace = derive(spans)
    assert trace.issues == ["no_root_span", "no_llm_calls"]
