"""The framework wing: choosing frameworks, and a missing one as one clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.records import TraceBuilder

from otel_bridge import ConfigError, Telemetry
from otel_bridge.conventions import ValueNotes
from otel_bridge.errors import FrameworkNotInstalled
from otel_bridge.frameworks import (
    EVERY,
    FRAMEWORKS,
    Framework,
    Instrumentation,
    Panel,
    by_name,
    of_trace,
    select,
)
from otel_bridge.spans import SpanRecord
from otel_bridge.telemetry._routing import ensure_instrumented


class Missing(Framework):
    title = "Nowhere"
    name = "nowhere"
    instrumentation = Instrumentation(
        instrumentor="no_such_instrumentor_pkg:Instrumentor",
        requires=("no_such_framework_pkg",),
        extra="nowhere",
    )


def test_a_framework_asked_for_but_not_installed_names_its_extra() -> None:
    with pytest.raises(FrameworkNotInstalled) as caught:
        ensure_instrumented([Missing()])
    assert str(caught.value) == "Nowhere is not installed: pip install 'otel-bridge[nowhere]'"
    assert isinstance(caught.value, ConfigError)


def test_an_unknown_framework_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown framework 'crewai': expected one of "):
        Telemetry(frameworks=["crewai"])
    with pytest.raises(ConfigError, match="a list of names, not the text"):
        select("llama_index")
    assert by_name("openai_agents").name == "openai_agents"
    assert select(None) == FRAMEWORKS


def test_a_telemetry_can_narrow_its_frameworks() -> None:
    telemetry = Telemetry(frameworks=["llama_index"])
    try:
        assert [f.name for f in telemetry.frameworks] == ["llama_index"]
    finally:
        telemetry.shutdown()


def test_importing_otel_bridge_imports_no_framework() -> None:
    code = (
        "import sys, otel_bridge; from otel_bridge import derive, load_spans; "
        "print(sorted(m for m in ('agents', 'smolagents', 'langgraph', 'langchain_core', "
        "'llama_index.core', 'maseval') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _span(name: str, scope: str, **attributes: object) -> SpanRecord:
    b = TraceBuilder(scope=scope)
    return b.span(name, 0, 1, attrs=attributes)


LLAMA = "openinference.instrumentation.llama_index"
SMOL = "openinference.instrumentation.smolagents"
OPENAI_CLIENT = "openinference.instrumentation.openai"


@pytest.mark.parametrize(
    ("spans", "seated"),
    [
        # The instrumentor's scope says which framework wrote the trace.
        ([_span("AgentWorkflow.run", LLAMA), _span("OpenAI.achat", LLAMA)], ["llama_index"]),
        # Another instrumentation's spans (the OpenAI client's) add no framework.
        ([_span("manager.run", SMOL), _span("ChatCompletion", OPENAI_CLIENT)], ["smolagents"]),
        # A span no framework's scope claims is asked by shape: a smolagents run.
        (
            [
                _span("AgentWorkflow.run", LLAMA),
                _span("helper.run", "", **{"openinference.span.kind": "AGENT", "smolagents.x": 1}),
            ],
            ["llama_index", "smolagents"],
        ),
        # No framework's scope at all (read back from a backend that drops it): all of them.
        ([_span("AgentWorkflow.run", ""), _span("OpenAI.achat", "")], [f.name for f in FRAMEWORKS]),
    ],
    ids=["by scope", "another instrumentation", "by shape", "no scope"],
)
def test_a_trace_is_read_by_the_frameworks_its_spans_come_from(
    spans: list[SpanRecord], seated: list[str]
) -> None:
    assert [f.name for f in of_trace(spans).frameworks] == seated


def test_a_framework_absent_from_a_trace_is_not_asked() -> None:
    """LangGraph's step reading is not applied to a LlamaIndex trace's spans."""
    metadata = '{"lc_agent_name": "writer", "langgraph_node": "agent", "langgraph_step": 1}'
    spans = [_span("AgentWorkflow.run", LLAMA), _span("agent", LLAMA, metadata=metadata)]
    assert EVERY.step_agent(spans[1]) == "writer"  # what LangGraph would say of it
    assert of_trace(spans).step_agent(spans[1]) is None


def _per_span_samples() -> list[SpanRecord]:
    """Spans each framework answers a per-span question about, and spans none does."""
    b = TraceBuilder(scope=LLAMA)
    root = b.root(0, 10)
    langgraph = '{"lc_agent_name": "writer", "langgraph_node": "agent", "langgraph_step": 1}'
    return [
        b.step(root, "researcher", 1, 2),  # LlamaIndex: a turn of researcher
        b.call_tool(root, "call_7", 2, 3),  # LlamaIndex: runs tool call call_7
        _span("agent", "", metadata=langgraph),  # LangGraph: a turn of writer
        _span("helper.run", "", **{"openinference.span.kind": "AGENT", "smolagents.x": 1}),
        _span("Agent workflow", "", **{"openinference.span.kind": "AGENT", "agent.name": "triage"}),
        _span("OpenAI.achat", LLAMA),  # nobody's agent
    ]


def _asked_in_order(frameworks: tuple[Framework, ...], question: str, span: SpanRecord) -> object:
    for framework in frameworks:
        hook = getattr(framework, question)
        answer = hook(span) if question == "step_tool_call_id" else hook(span, None)
        if answer is not None:
            return answer
    return None


@pytest.mark.parametrize(
    "seated",
    [(f,) for f in FRAMEWORKS] + [FRAMEWORKS[:2], FRAMEWORKS],
    ids=[f.name for f in FRAMEWORKS] + ["two", "all"],
)
def test_a_panel_answers_per_span_questions_as_its_frameworks_in_order(
    seated: tuple[Framework, ...],
) -> None:
    """A panel's answer is the first one its frameworks give, asked in their order (with and
    without value notes), however many of them implement the question."""
    panel, spans = Panel(seated), _per_span_samples()
    for question in ("step_agent", "activation_agent", "span_agent", "step_tool_call_id"):
        asked = getattr(panel, question)
        for span in spans:
            expected = _asked_in_order(seated, question, span)
            assert asked(span) == expected, (question, span.name)
            if question != "step_tool_call_id":
                assert asked(span, ValueNotes()) == expected, (question, span.name)
    every = Panel(FRAMEWORKS)  # the samples do reach every framework's answer
    assert [every.step_agent(s) for s in spans][:3] == ["researcher", None, "writer"]
    assert [every.activation_agent(s) for s in spans][3:5] == ["helper", "triage"]
    assert every.step_tool_call_id(spans[1]) == "call_7"
