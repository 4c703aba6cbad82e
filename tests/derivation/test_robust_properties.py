"""Properties of derive() over generated span sets: any attribute value, any tree shape.

Spans carry the attribute names the readers look at (OpenInference, GenAI, OpenLLMetry) with
values of every type a source can produce (text with lone surrogates, numerals, JSON good,
malformed and deep, integers beyond 64 bits, NaN, arrays), in trees with cycles, orphans,
duplicate span ids, children that start before their parents and ends before starts.

- derive() of one trace never raises; of several it raises ``TraceSelectionError`` only;
  derive_all() never raises;
- no negative token count or duration anywhere in the RunTrace, and its JSON is valid;
- the work grows linearly: a generated unit of spans repeated 4x as often (each copy nested
  in the one before, so depth grows too) costs at most 6x the Python lines executed.

Derandomized, so the suite runs the same inputs every time; ``python stress/derive_properties.py``
runs the same properties over many more, at random.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openinference.semconv.trace import SpanAttributes
from support.work_count import lines_run

from otel_bridge import RunTrace, derive, derive_all
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.errors import TraceSelectionError
from otel_bridge.spans import SpanEvent, SpanRecord, freeze

SUITE = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LINEAR_SUITE = settings(SUITE, max_examples=10)

NAMES = [
    "AgentWorkflow.run",
    "AgentWorkflow.run_agent_step",
    "AgentWorkflow.call_tool",
    "OpenAI.achat",
    "OpenAI.astream_chat",
    "OpenAI._prepare_chat_with_tools",
    "FunctionTool.acall",
    "chat gpt-4o-mini",
    "execute_tool handoff",
    "invoke_agent writer",
]
KEYS = [
    SpanAttributes.OPENINFERENCE_SPAN_KIND,
    SpanAttributes.LLM_TOKEN_COUNT_PROMPT,
    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION,
    SpanAttributes.LLM_TOKEN_COUNT_TOTAL,
    SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
    SpanAttributes.LLM_MODEL_NAME,
    SpanAttributes.LLM_PROVIDER,
    SpanAttributes.LLM_FINISH_REASON,
    SpanAttributes.INPUT_VALUE,
    SpanAttributes.OUTPUT_VALUE,
    SpanAttributes.TOOL_NAME,
    SpanAttributes.TOOL_ID,
    SpanAttributes.AGENT_NAME,
    SpanAttributes.GRAPH_NODE_NAME,
    "tool_call.id",
    "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content",
    "llm.input_messages.0.message.contents.1.message_content.text",
    "llm.input_messages.0.message.tool_call_id",
    "llm.input_messages.1.message.role",
    "llm.output_messages.0.message.role",
    "llm.output_messages.0.message.content",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
    "llm.tools.0.tool.json_schema",
    genai.OPERATION,
    genai.INPUT_TOKENS,
    genai.OUTPUT_TOKENS,
    genai.PROMPT_TOKENS,
    genai.CACHE_READ_TOKENS,
    genai.REASONING_TOKENS,
    genai.REQUEST_MODEL,
    genai.RESPONSE_MODEL,
    genai.PROVIDER,
    genai.FINISH_REASONS,
    genai.TIME_TO_FIRST_CHUNK,
    genai.INPUT_MESSAGES,
    genai.OUTPUT_MESSAGES,
    genai.TOOL_NAME,
    genai.TOOL_CALL_ID,
    genai.TOOL_CALL_ARGUMENTS,
    genai.TOOL_CALL_RESULT,
    genai.AGENT_NAME,
    genai.TRANSFER_TARGET_NAME,
    genai.ERROR_TYPE,
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.tool_calls.0.name",
    "traceloop.span.kind",
    "traceloop.entity.output",
    "tool.arguments",
]
# Values that mean something to a reader: kinds, numerals, reprs, JSON of every quality.
MEANINGFUL = [
    "LLM", "TOOL", "CHAIN", "chat", "execute_tool", "invoke_agent", "task", "user",
    "assistant", "tool", "handoff", "writer", "42", " 7 ", "1e3", "-5", "", "NaN",
    "__REDACTED__", "AgentSetup(current_agent_name='writer')", "ToolCall(tool_id='call_1')",
    '{"kwargs": {"to_agent": "writer", "reason": "ready"}}',
    '{"blocks": [{"text": "done"}], "is_error": true}', '{"blocks": "x"}',
    '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]',
    '[{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f"}]}]',
    '[{"role": "user", "parts": "hi"}]', '[1, "x", null]', '{"role": "user"}',
    '{"current_agent_name": "writer", "tool_id": ["c"], "tool_output": {"blocks": 3}}',
    '{"type": "function", "function": {"name": "f", "parameters": {}}}',
    "[" * 3000 + "]" * 3000, '{"a":' * 3000 + "1" + "}" * 3000, "[" * 50,
]  # fmt: skip
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
SCALAR = st.one_of(
    st.sampled_from(MEANINGFUL),
    TEXT,
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
)
VALUE = st.one_of(SCALAR, st.tuples(SCALAR, SCALAR), st.tuples(st.tuples(SCALAR)))
ATTRIBUTES = st.dictionaries(st.sampled_from(KEYS) | TEXT, VALUE, max_size=8)
TIME = st.integers(min_value=0, max_value=2**64 - 1)
EVENT_NAMES = ["exception", "First Token Stream Event", "gen_ai.content.completion.chunk"]
EVENT_ATTRIBUTES = st.dictionaries(st.sampled_from(["exception.type", "exception.message"]), VALUE)
EVENTS = st.lists(
    st.builds(SpanEvent, st.sampled_from(EVENT_NAMES), TIME, EVENT_ATTRIBUTES.map(freeze)),
    max_size=2,
)


@st.composite
def span_sets(draw: st.DrawFn, max_spans: int = 12, traces: int = 1) -> list[SpanRecord]:
    """Spans of ``traces`` traces in any shape: ids reused, parents missing, cyclic or later."""
    n = draw(st.integers(min_value=1, max_value=max_spans))
    ids = draw(st.lists(st.integers(min_value=1, max_value=n + 2), min_size=n, max_size=n))
    spans = []
    for span_id in ids:
        parent = draw(st.none() | st.sampled_from(ids) | st.integers(1, 2**64 - 1))
        start = draw(TIME)
        spans.append(
            SpanRecord(
                trace_id=draw(st.integers(min_value=1, max_value=traces)),
                span_id=span_id,
                parent_id=parent,
                name=draw(st.sampled_from(NAMES) | TEXT),
                start_ns=start,
                end_ns=draw(st.sampled_from([start]) | TIME),
                status=draw(st.sampled_from(["UNSET", "OK", "ERROR"])),
                status_message=draw(TEXT),
                attributes=freeze(draw(ATTRIBUTES)),
                events=tuple(draw(EVENTS)),
            )
        )
    return spans


def check_run(trace: RunTrace) -> None:
    """No negative token count or duration; the JSON form is valid JSON."""
    usages = [trace.usage, *trace.usage_by_model.values()]
    usages += [c.usage for c in trace.llm_calls] + [a.usage for a in trace.agents.values()]
    for usage in usages:
        counts = usage.to_dict()
        assert all(
            counts[k] >= 0
            for k in ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens")
        ), counts
        assert counts["reasoning_tokens"] >= 0 and counts["missing_calls"] >= 0
    timings = trace.timings
    durations = [timings.wall_ns, timings.llm_ns, timings.tool_ns, timings.other_ns]
    durations += list(timings.per_agent_ns.values())
    durations += [c.duration_ns for c in trace.llm_calls] + [
        t.duration_ns for t in trace.tool_calls
    ]
    durations += [a.duration_ns for a in trace.agents.values()]
    durations += [c.time_to_first_token_ns or 0 for c in trace.llm_calls]
    assert all(d >= 0 for d in durations), durations
    text = json.dumps(trace.to_dict(), allow_nan=False)
    assert not any(math.isnan(x) for x in _floats(json.loads(text)))


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return []


def check_derive(spans: list[SpanRecord]) -> None:
    """The first two properties for one generated span set."""
    traces = {s.trace_id for s in spans}
    try:
        trace = derive(spans)
    except TraceSelectionError:
        assert len(traces) > 1
    else:
        assert len(traces) == 1
        check_run(trace)
    for run in derive_all(spans):
        check_run(run)


@given(span_sets())
@SUITE
def test_derive_of_one_trace_never_raises_and_never_goes_negative(spans: list[SpanRecord]) -> None:
    check_derive(spans)


@given(span_sets(max_spans=8, traces=3))
@settings(SUITE, max_examples=40)
def test_several_traces_raise_only_the_selection_error(spans: list[SpanRecord]) -> None:
    check_derive(spans)


# ---- linear work -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A generated group of spans; ``parents[i]`` is an index in the unit, -1 for the previous
    copy's last span (so copies nest), or None for a parent that is not in the trace."""

    names: list[str]
    parents: list[int | None]
    attributes: list[dict[str, Any]]
    offsets: list[int]


@st.composite
def units(draw: st.DrawFn) -> Unit:
    size = draw(st.integers(min_value=1, max_value=6))
    return Unit(
        names=[draw(st.sampled_from(NAMES)) for _ in range(size)],
        # any index, earlier or later (a child may start first), or the previous copy
        parents=[draw(st.sampled_from([-1, None, *range(size)])) for _ in range(size)],
        attributes=[draw(ATTRIBUTES) for _ in range(size)],
        offsets=[draw(st.integers(min_value=-3, max_value=6)) for _ in range(size)],
    )


def repeated(unit: Unit, copies: int) -> list[SpanRecord]:
    """``copies`` of the unit, each hanging under the one before: breadth and depth grow."""
    size = len(unit.names)
    spans = [SpanRecord(7, 1, None, "AgentWorkflow.run", 0, 10 * copies * size + 100)]
    previous_last = 1
    for copy in range(copies):
        base = 2 + copy * size
        for i in range(size):
            parent = unit.parents[i]
            parent_id = previous_last if parent == -1 else None if parent is None else base + parent
            if parent_id is None:
                parent_id = 2**63 + base  # not in the trace: an orphan
            start = 10 * (copy * size + i) + unit.offsets[i]
            spans.append(
                SpanRecord(
                    trace_id=7,
                    span_id=base + i,
                    parent_id=parent_id,
                    name=unit.names[i],
                    start_ns=max(0, start),
                    end_ns=max(0, start) + 5,
                    attributes=freeze(unit.attributes[i]),
                )
            )
        previous_last = base + size - 1
    return spans


def work_ratio(unit: Unit, copies: int = 40) -> float:
    """Lines to derive 4x the copies, over lines to derive ``copies``."""
    small, large = repeated(unit, copies), repeated(unit, 4 * copies)
    derive(small)  # warm the readers' key caches before counting
    return lines_run(lambda: derive(large)) / lines_run(lambda: derive(small))


@given(units())
@LINEAR_SUITE
def test_work_grows_linearly_with_span_count_and_depth(unit: Unit) -> None:
    assert work_ratio(unit) < 6.0
