"""Enrichment: exported spans name their agent, derive() is unchanged by it, and the per-trace
buffer copes with late children, roots that never end, its bounds and failures."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from openinference.semconv.trace import SpanAttributes as SA
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext
from support.records import TraceBuilder, assistant, readable, sys, tool_result, user
from support.runs import traced
from support.scenarios import Run, Scenario, add, handoff, react

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.frameworks import step_agent
from otel_bridge.scripted import (
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    demo_script,
    scripted_openai_llm,
)
from otel_bridge.spans import SpanRecord, freeze
from otel_bridge.telemetry import _export_view as export_view_module
from otel_bridge.telemetry._enrichment import AGENT_KEYS, enrichment
from otel_bridge.telemetry._span_copy import enrich_span
from otel_bridge.telemetry._trace_buffer import EnrichingExporter

GRAPH_KEYS = (SA.GRAPH_NODE_ID, SA.GRAPH_NODE_NAME, SA.GRAPH_NODE_PARENT_ID)


# ---- real agents through Telemetry's exporters --------------------------------------------


def function_agent_run(llm: ScriptedLLMServer) -> Run:
    llm.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("add", {"a": 2, "b": 3})], usage=Usage(90, 9)),
            Reply(content="2 + 3 = 5.", usage=Usage(120, 6)),
        ]
    )
    agent = FunctionAgent(
        name="calculator", tools=[add], llm=scripted_openai_llm(llm, include_usage=True)
    )
    return lambda: agent.run(user_msg="What is 2 + 3?")


RUNS: dict[str, Scenario] = {
    "handoff": handoff,
    "function_agent": function_agent_run,
    "react": react,
}

DEMO = demo_script()
# What each run is, written out: the agent of every model call and tool call, in order, and the
# question and answer the root and workflow spans get.
EXPECTED: dict[str, tuple[list[str], list[tuple[str, str]], str, str]] = {
    "handoff": (
        ["researcher", "researcher", "writer", "writer"],
        [("search", "researcher"), ("handoff", "researcher"), ("word_count", "writer")],
        DEMO.user_msg,
        DEMO.answer,
    ),
    "function_agent": (
        ["calculator", "calculator"],
        [("add", "calculator")],
        "What is 2 + 3?",
        "2 + 3 = 5.",
    ),
    "react": (
        ["reasoner", "reasoner"],
        [("add", "reasoner")],
        "What is 20 + 22?",
        "The sum is 42.",
    ),
}


def agent_attributes(span: SpanRecord) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k in (*AGENT_KEYS, *GRAPH_KEYS)}


@pytest.mark.parametrize("kind", RUNS)
async def test_exported_spans_name_their_agent_and_derive_the_same(
    kind: str, llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    _, trace_id = await traced(telemetry, RUNS[kind](llm), name="test-run")
    telemetry.force_flush()
    plain = telemetry.spans(trace_id)
    exported = [s for s in load_spans(otlp_file) if s.trace_id_hex == trace_id]

    assert sorted(s.span_id for s in exported) == sorted(s.span_id for s in plain)
    run = derive(plain)
    assert derive(exported).to_dict() == run.to_dict()
    assert not any(agent_attributes(s) for s in plain), "capture must stay un-enriched"

    llm_agents, tool_agents, question, answer = EXPECTED[kind]
    by_id = {s.span_id_hex: s for s in exported}

    def named(span_id: str) -> str:
        """The one agent an exported span names under every agent key."""
        attrs = by_id[span_id].attributes
        (agent,) = {attrs[key] for key in (*AGENT_KEYS, SA.GRAPH_NODE_ID)}
        return str(agent)

    assert [named(c.span_id) for c in run.llm_calls] == llm_agents
    assert [(t.name, named(t.span_id)) for t in run.tool_calls] == tool_agents
    steps = [s for s in exported if step_agent(s)]
    assert steps
    for step in steps:
        assert step.attributes[SA.AGENT_NAME] == step_agent(step)

    (root,) = [s for s in exported if s.parent_id is None]
    assert root.name == "test-run"
    workflow = by_id[steps[0].parent_id_hex or ""]
    for span in (root, workflow):
        assert not set(AGENT_KEYS) & set(span.attributes), span.name
        assert span.attributes[SA.INPUT_VALUE] == question
        assert span.attributes[SA.OUTPUT_VALUE] == answer
        assert span.attributes[SA.OUTPUT_MIME_TYPE] == "text/plain"
    assert workflow.attributes[SA.GRAPH_NODE_ID] == workflow.name
    assert steps[0].attributes[SA.AGENT_NAME] == llm_agents[0]
    assert steps[0].attributes[SA.GRAPH_NODE_PARENT_ID] == workflow.name


async def test_handoff_spans_and_the_agent_graph(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    _, trace_id = await traced(telemetry, handoff(llm))
    telemetry.force_flush()
    exported = [s for s in load_spans(otlp_file) if s.trace_id_hex == trace_id]

    handoffs = [s for s in exported if s.attributes.get(SA.TOOL_NAME) == "handoff"]
    assert [
        (
            s.attributes[genai.AGENT_NAME],
            s.attributes[genai.TRANSFER_TARGET_NAME],
            s.attributes[genai.TRANSFER_TARGET_TYPE],
            s.attributes[genai.TRANSFER_MODE],
        )
        for s in handoffs
    ] == [("researcher", "writer", "agent", "pass_control")]
    assert not any(genai.TRANSFER_MODE in s.attributes for s in exported if s not in handoffs)
    assert not any(k.startswith("gen_ai.agent.handoff") for s in exported for k in s.attributes)
    workflow = next(s for s in exported if s.name == "AgentWorkflow.run")
    parents = {
        s.attributes[SA.GRAPH_NODE_ID]: s.attributes[SA.GRAPH_NODE_PARENT_ID]
        for s in exported
        if SA.AGENT_NAME in s.attributes
    }
    assert parents == {"researcher": workflow.name, "writer": "researcher"}
    assert len(workflow.attributes[SA.INPUT_VALUE]) < 200  # the question, not the config repr
    assert workflow.attributes[SA.OUTPUT_VALUE] == demo_script().answer


async def test_an_agent_handed_back_to_keeps_its_first_graph_parent(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    def to(agent: str) -> ToolCallSpec:
        return ToolCallSpec("handoff", {"to_agent": agent, "reason": f"over to {agent}"})

    llm.set_script(
        [
            Reply(agent="You are a.", tool_calls=[to("b")], usage=Usage(10, 1)),
            Reply(agent="You are b.", tool_calls=[to("c")], usage=Usage(20, 2)),
            Reply(agent="You are c.", tool_calls=[to("b")], usage=Usage(30, 3)),
            Reply(agent="You are b.", content="Done.", usage=Usage(40, 4)),
        ]
    )
    model = scripted_openai_llm(llm, include_usage=True)
    workflow = AgentWorkflow(
        agents=[
            FunctionAgent(
                name=name, description=f"Agent {name}.", system_prompt=f"You are {name}.",
                tools=[], llm=model, can_handoff_to=to_agents,
            )
            for name, to_agents in (("a", ["b"]), ("b", ["c"]), ("c", ["b"]))
        ],
        root_agent="a",
    )  # fmt: skip
    _, trace_id = await traced(telemetry, lambda: workflow.run(user_msg="Go."))
    telemetry.force_flush()
    exported = [s for s in load_spans(otlp_file) if s.trace_id_hex == trace_id]

    run = derive(exported)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [
        ("a", "b"),
        ("b", "c"),
        ("c", "b"),
    ]
    parents = {
        (s.attributes[SA.GRAPH_NODE_ID], s.attributes[SA.GRAPH_NODE_PARENT_ID])
        for s in exported
        if SA.AGENT_NAME in s.attributes
    }
    # b's parent is who first handed off to it (a), not c, who handed back later.
    assert parents == {("a", "AgentWorkflow.run"), ("b", "a"), ("c", "b")}


# ---- enrichment() on hand-built records ---------------------------------------------------


def apply(records: Sequence[SpanRecord], extra: dict[int, dict[str, Any]]) -> list[SpanRecord]:
    return [
        dataclasses.replace(r, attributes=freeze({**r.attributes, **extra.get(r.span_id, {})}))
        for r in records
    ]


def one_agent_trace(trace_id: int = 0xABC) -> tuple[TraceBuilder, dict[str, SpanRecord]]:
    """Agent "a": one LLM call asking for ``add``, the tool, then the answer."""
    b = TraceBuilder(trace_id)
    root = b.root(0, 100)
    step = b.step(root, "a", 1, 20)
    call = b.llm(step, 2, 10, [sys("S"), user("2+3?")], [assistant(calls=[("c1", "add", {})])])
    call_tool = b.call_tool(root, "c1", 21, 30)
    tool = b.tool(call_tool, "add", {"a": 2, "b": 3}, "5", 22, 29)
    step2 = b.step(root, "a", 31, 50)
    answer = b.llm(
        step2, 32, 40, [sys("S"), user("2+3?"), tool_result("c1", "5")], [assistant("5")]
    )
    spans = {"root": root, "step": step, "call": call, "tool": tool, "answer": answer}
    return b, spans


def test_enrichment_of_hand_built_records() -> None:
    b, s = one_agent_trace()
    extra = enrichment(b.spans)
    for name in ("step", "call", "tool", "answer"):
        assert extra[s[name].span_id][SA.AGENT_NAME] == "a"
        assert extra[s[name].span_id][SA.GRAPH_NODE_PARENT_ID] == "AgentWorkflow.run"
    assert extra[s["root"].span_id] == {
        SA.INPUT_VALUE: "2+3?",
        SA.INPUT_MIME_TYPE: "text/plain",
        SA.OUTPUT_VALUE: "5",
        SA.OUTPUT_MIME_TYPE: "text/plain",
        SA.GRAPH_NODE_ID: "AgentWorkflow.run",
    }
    assert derive(apply(b.spans, extra)).to_dict() == derive(b.spans).to_dict()


def test_an_llm_called_inside_a_tool_is_named_with_the_tools_agent() -> None:
    """derive gives a model call made inside a tool the tool's agent; enrichment says the same
    on both spans, and derive gives the same RunTrace from the enriched spans."""
    b, s = one_agent_trace()
    inner = b.llm(s["tool"], 23, 24, [user("inner")], [assistant("inner answer")])
    run = derive(b.spans)
    extra = enrichment(b.spans)

    assert [c.agent for c in run.llm_calls] == ["a", "a", "a"]
    assert extra[s["tool"].span_id][SA.AGENT_NAME] == "a"
    assert extra[inner.span_id][SA.AGENT_NAME] == "a"
    assert derive(apply(b.spans, extra)).to_dict() == run.to_dict()


def test_a_span_above_a_call_without_an_agent_is_not_named() -> None:
    """A tool of agent "a" runs a nested tool (asked for by no call, after a model call of no
    agent) that calls a model: that call has no agent, so the outer tool is not named either,
    and derive gives the same RunTrace from the enriched spans."""
    b, s = one_agent_trace()
    root = next(r for r in b.spans if r.parent_id is None)
    b.llm(root, 23, 24, [user("aside")], [assistant("no agent")])
    nested_step = b.call_tool(s["tool"], "c9", 25, 28)
    nested = b.tool(nested_step, "inner", {}, "y", 25.5, 27.5)
    inner = b.llm(nested, 26, 27, [user("inner")], [assistant("inner answer")])
    run = derive(b.spans)
    extra = enrichment(b.spans)

    assert [(t.name, t.agent) for t in run.tool_calls] == [("add", "a"), ("inner", None)]
    assert next(c for c in run.llm_calls if int(c.span_id, 16) == inner.span_id).agent is None
    assert SA.AGENT_NAME not in extra.get(s["tool"].span_id, {})
    assert derive(apply(b.spans, extra)).to_dict() == run.to_dict()


# ---- the buffer: EnrichingExporter with a fake clock and no timer ------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def buffered(**options: Any) -> tuple[EnrichingExporter, InMemorySpanExporter, Clock]:
    inner, clock = InMemorySpanExporter(), Clock()
    exporter = EnrichingExporter(inner, clock=clock, timer=False, **options)
    return exporter, inner, clock


def agents_by_name(inner: InMemorySpanExporter) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for span in inner.get_finished_spans():
        out.setdefault(span.name, set()).add((span.attributes or {}).get(SA.AGENT_NAME))
    return out


def test_trace_waits_for_its_root_then_a_grace_for_late_children() -> None:
    exporter, inner, clock = buffered(grace_s=1.0, max_wait_s=30.0)
    b, s = one_agent_trace()
    spans = {r.span_id: readable(r) for r in b.spans}
    root, late = spans.pop(s["root"].span_id), spans.pop(s["answer"].span_id)

    exporter.export(list(spans.values()))
    clock.now += 5
    exporter.flush_due()
    assert inner.get_finished_spans() == ()
    exporter.export([root])  # the root ends before one of its children
    clock.now += 0.5
    exporter.export([late])
    assert inner.get_finished_spans() == ()
    clock.now += 0.6
    exporter.flush_due()

    assert len(inner.get_finished_spans()) == len(b.spans)
    assert agents_by_name(inner)["OpenAI.achat"] == {"a"}
    assert exporter.enriched_spans == len(b.spans) - 1  # all but call_tool
    assert exporter.held() == (1, len(b.spans))  # kept for late children until linger_s


def test_a_late_child_after_the_flush_is_enriched_from_the_whole_trace() -> None:
    exporter, inner, clock = buffered(grace_s=1.0, linger_s=60.0)
    b, s = one_agent_trace()
    spans = [readable(r) for r in b.spans]
    late = next(x for x in spans if x.context.span_id == s["answer"].span_id)
    exporter.export([x for x in spans if x is not late])
    clock.now += 2
    exporter.flush_due()
    assert len(inner.get_finished_spans()) == len(spans) - 1

    exporter.export([late])  # its step and the root were exported already
    exporter.flush_due()
    last = inner.get_finished_spans()[-1]
    assert last.context.span_id == s["answer"].span_id
    assert (last.attributes or {})[SA.AGENT_NAME] == "a"

    clock.now += 61
    exporter.flush_due()
    assert exporter.held() == (0, 0)


def test_a_root_that_never_ends_is_flushed_after_max_wait() -> None:
    exporter, inner, clock = buffered(max_wait_s=30.0)
    b, s = one_agent_trace()
    exporter.export([readable(r) for r in b.spans if r is not s["root"]])
    clock.now += 29
    exporter.flush_due()
    assert inner.get_finished_spans() == ()
    clock.now += 2
    exporter.flush_due()
    assert len(inner.get_finished_spans()) == len(b.spans) - 1
    assert agents_by_name(inner)["a.add"] == {"a"}  # the tool call, named after its agent


def test_force_flush_exports_everything_now() -> None:
    exporter, inner, _ = buffered()
    b, s = one_agent_trace()
    exporter.export([readable(r) for r in b.spans if r is not s["root"]])
    assert exporter.force_flush()
    assert len(inner.get_finished_spans()) == len(b.spans) - 1


def test_bounds_export_the_oldest_trace_as_it_is_and_count_it() -> None:
    exporter, inner, _ = buffered(max_traces=1)
    first, second = one_agent_trace(0x1), one_agent_trace(0x2)
    exporter.export([readable(r) for r in first[0].spans if r is not first[1]["root"]])
    exporter.export([readable(second[0].spans[0])])

    pushed = inner.get_finished_spans()
    assert len(pushed) == len(first[0].spans) - 1
    assert all(SA.AGENT_NAME not in (x.attributes or {}) for x in pushed)
    assert exporter.overflow_spans == len(pushed)
    exporter.force_flush()
    assert len(inner.get_finished_spans()) == len(pushed) + 1  # nothing dropped

    exporter, inner, _ = buffered(max_spans=3)
    exporter.export([readable(r) for r in first[0].spans[:5]])
    assert exporter.overflow_spans == 5 and len(inner.get_finished_spans()) == 5


def test_the_original_spans_are_not_changed() -> None:
    exporter, inner, _ = buffered()
    b, _ = one_agent_trace()
    spans = [readable(r) for r in b.spans]
    before = [dict(x.attributes or {}) for x in spans]
    exporter.export(spans)
    exporter.force_flush()
    assert [dict(x.attributes or {}) for x in spans] == before
    enriched = [x for x in inner.get_finished_spans() if SA.AGENT_NAME in (x.attributes or {})]
    assert enriched and all(x not in spans for x in enriched)


def test_a_copy_keeps_what_the_sdk_counted_as_dropped() -> None:
    limited = BoundedAttributes(attributes={"k": "v"})
    limited.dropped = 7  # as the SDK leaves it when a span hits its attribute limit
    original = ReadableSpan("x", context=SpanContext(1, 2, False), attributes=limited)
    copy = enrich_span(original, {SA.AGENT_NAME: "a"})
    assert copy.dropped_attributes == 7
    assert dict(copy.attributes or {}) == {"k": "v", SA.AGENT_NAME: "a"}
    assert dict(original.attributes or {}) == {"k": "v"}


def test_failures_are_counted_and_never_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(records: Any) -> Any:
        raise RuntimeError("enrichment bug")

    monkeypatch.setattr(export_view_module, "export_plan", broken)
    exporter, inner, _ = buffered()
    b, _ = one_agent_trace()
    assert exporter.export([readable(r) for r in b.spans]) is SpanExportResult.SUCCESS
    exporter.force_flush()
    assert len(inner.get_finished_spans()) == len(b.spans)  # exported as they are
    assert exporter.failures == 1
    monkeypatch.undo()

    class Raising(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            raise ConnectionError("down")

    exporter = EnrichingExporter(Raising(), timer=False)
    exporter.export([readable(r) for r in b.spans])
    exporter.force_flush()
    assert exporter.failures == 1


# ---- threads: enrichment happens on export threads, driven by the timer -------------------


class Signalling(InMemorySpanExporter):
    """Remembers the threads it exported on and signals the first export."""

    def __init__(self) -> None:
        super().__init__()
        self.exported = threading.Event()
        self.threads: list[threading.Thread] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.threads.append(threading.current_thread())
        result = super().export(spans)
        self.exported.set()
        return result


def test_the_timer_exports_a_finished_trace_off_the_callers_thread() -> None:
    """Driven by the clock alone: nothing is due until the clock passes the grace."""
    inner, clock = Signalling(), Clock()
    exporter = EnrichingExporter(inner, grace_s=0.05, clock=clock)  # the timer thread runs
    b, _ = one_agent_trace()
    exporter.export([readable(r) for r in b.spans])  # as the batch processor's worker does
    exporter.flush_due()
    assert inner.get_finished_spans() == (), "nothing is due before the grace is over"

    clock.now += 1.0
    assert inner.exported.wait(30), "the timer never exported the trace"
    (timer,) = set(inner.threads)
    assert timer is not threading.current_thread()
    assert len(inner.get_finished_spans()) == len(b.spans)
    assert agents_by_name(inner)["OpenAI.achat"] == {"a"}
    exporter.shutdown()
    assert not timer.is_alive(), "shutdown stops the timer thread"


def test_telemetry_exports_through_the_enricher(tmp_path: Path) -> None:
    telemetry = Telemetry(otlp_json_file=tmp_path / "x.json")
    try:
        with telemetry.start_run("plain-run") as span:
            span.set_attribute("k", "v")
        telemetry.force_flush()
        (record,) = load_spans(tmp_path / "x.json")
        assert record.name == "plain-run" and dict(record.attributes) == {"k": "v"}
    finally:
        telemetry.shutdown()


# ---- what the core must keep for enrichment to be right -------------------------------------


def test_telemetry_keeps_every_attribute_of_a_long_llm_span() -> None:
    telemetry = Telemetry()
    try:
        with telemetry.start_run("long conversation") as span:
            span.set_attribute(SA.LLM_MODEL_NAME, "gpt-4o-mini")
            span.set_attributes(
                {f"llm.input_messages.{i}.message.content": "x" for i in range(200)}
            )
        (record,) = telemetry.spans(f"{span.get_span_context().trace_id:032x}")
        assert record.attributes.get(SA.LLM_MODEL_NAME) == "gpt-4o-mini"
        assert len(record.attributes) == 201
    finally:
        telemetry.shutdown()
