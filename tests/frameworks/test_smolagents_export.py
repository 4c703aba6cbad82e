"""Export enrichment of smolagents runs: every span names its agent (the run, its steps, calls and
tools), a managed agent hangs under its manager in the agent graph, ``genai`` exports the runs as
``invoke_agent`` spans, and derive() gives the same RunTrace from what was exported; through a
real Phoenix, read back over its REST API (the ``phoenix`` marker)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openinference.semconv.trace import SpanAttributes as SA
from support import smol_scenarios as sc
from support.paths import DATA
from support.phoenix_server import PhoenixServer

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.spans import SpanRecord, freeze
from otel_bridge.telemetry import Semconv
from otel_bridge.telemetry._enrichment import enrichment

DATA = DATA / "smolagents"
RECORDED = sorted(p.name.removesuffix(".otlp.json") for p in DATA.glob("*.otlp.json"))


def enriched(spans: list[SpanRecord]) -> list[SpanRecord]:
    extra = enrichment(spans)
    return [
        dataclasses.replace(s, attributes=freeze({**s.attributes, **extra.get(s.span_id, {})}))
        for s in spans
    ]


def test_every_span_of_a_managed_run_names_its_agent() -> None:
    spans = load_spans(DATA / "managed.otlp.json")
    extra = enrichment(spans)
    named = [
        (
            s.name,
            extra.get(s.span_id, {}).get(SA.AGENT_NAME),
            extra.get(s.span_id, {}).get(SA.GRAPH_NODE_PARENT_ID),
        )
        for s in sorted(spans, key=lambda s: s.start_ns)
    ]
    assert named[1:] == [
        ("manager.run", "manager", "smolagents managed"),
        ("Step 1", "manager", "smolagents managed"),
        ("OpenAIModel.generate", "manager", "smolagents managed"),
        ("researcher.run", "researcher", "manager"),  # delegated to by the manager
        ("Step 1", "researcher", "manager"),
        ("OpenAIModel.generate", "researcher", "manager"),
        ("SimpleTool", "researcher", "manager"),
        ("Step 2", "researcher", "manager"),
        ("OpenAIModel.generate", "researcher", "manager"),
        ("FinalAnswerTool", "researcher", "manager"),
        ("Step 2", "manager", "smolagents managed"),
        ("OpenAIModel.generate", "manager", "smolagents managed"),
        ("FinalAnswerTool", "manager", "smolagents managed"),
    ]
    root = min(spans, key=lambda s: s.start_ns)
    assert extra[root.span_id][SA.OUTPUT_VALUE] == "Done: OTel is CNCF."


@pytest.mark.parametrize("name", RECORDED)
def test_derive_is_unchanged_by_enrichment(name: str) -> None:
    spans = load_spans(DATA / f"{name}.otlp.json")
    assert derive(enriched(spans)).to_dict() == derive(spans).to_dict()


@pytest.mark.parametrize("semconv", ["genai", "both"])
def test_genai_export_has_invoke_agent_spans_and_derives_the_same(
    tmp_path: Path, semconv: Semconv
) -> None:
    path = tmp_path / "run.otlp.json"
    telemetry = Telemetry(frameworks=["smolagents"], semconv=semconv, otlp_json_file=path)
    with ScriptedLLMServer(list(sc.MANAGED.replies)) as server:
        with telemetry.start_run("team run") as span:
            sc.MANAGED.run(server)
        log = list(server.log)
    telemetry.shutdown()
    trace_id = f"{span.get_span_context().trace_id:032x}"
    exported = load_spans(path)
    agents = sorted(
        (s.name, s.attributes.get(genai.AGENT_NAME))
        for s in exported
        if s.attributes.get(genai.OPERATION) == genai.OP_INVOKE_AGENT
    )
    assert agents == [
        ("invoke_agent manager", "manager"),
        ("invoke_agent researcher", "researcher"),
    ]
    tools = sorted(s.name for s in exported if s.attributes.get(genai.OPERATION) == "execute_tool")
    assert tools == [
        "execute_tool final_answer",
        "execute_tool final_answer",
        "execute_tool search",
    ]

    memory, from_file = derive(telemetry.spans(trace_id)), derive(exported)
    assert [(d.from_agent, d.to_agent, d.task, d.tool_call_id) for d in from_file.delegations] == [
        ("manager", "researcher", "find facts about otel", log[0].tool_call_ids[0])
    ]
    assert from_file.usage == memory.usage and from_file.usage.input_tokens == 1120
    assert [t.tool_call_id for t in from_file.tool_calls] == [
        t.tool_call_id for t in memory.tool_calls
    ]
    assert {n: a.usage.input_tokens for n, a in from_file.agents.items()} == {
        "manager": 680,
        "researcher": 440,
    }


@pytest.mark.phoenix
def test_a_managed_run_in_phoenix_names_its_agents(phoenix: PhoenixServer) -> None:
    project = "otel-bridge-smolagents"
    telemetry = Telemetry(
        otlp_endpoint=phoenix.http_endpoint, project_name=project, frameworks=["smolagents"]
    )
    try:
        with (
            ScriptedLLMServer(list(sc.MANAGED.replies)) as server,
            telemetry.start_run("team run") as span,
        ):
            sc.MANAGED.run(server)
    finally:
        telemetry.shutdown()
    assert telemetry.export_errors() == {}
    trace_id = f"{span.get_span_context().trace_id:032x}"
    memory = telemetry.spans(trace_id)
    phoenix.fetch_spans(trace_id, variant="otlpv1", min_spans=len(memory), project=project)
    spans = load_spans(f"phoenix+{phoenix.http_endpoint}/{project}", trace_id)

    assert sorted(s.span_id for s in spans) == sorted(s.span_id for s in memory)
    by_name: dict[str, set[str]] = {}
    for s in spans:
        agent = s.attributes.get(SA.AGENT_NAME)
        if agent is not None:
            by_name.setdefault(s.name, set()).add(str(agent))
    assert by_name["researcher.run"] == {"researcher"}
    assert by_name["manager.run"] == {"manager"}
    assert by_name["researcher.search"] == {"researcher"}  # exported as agent.tool
    assert by_name["Step 1"] == by_name["OpenAIModel.generate"] == {"manager", "researcher"}
    run = derive(spans)
    assert [(d.from_agent, d.to_agent) for d in run.delegations] == [("manager", "researcher")]
    assert run.usage.input_tokens == 1120 and run.output == "Done: OTel is CNCF."
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.status == "OK" and root.attributes[SA.OUTPUT_VALUE] == "Done: OTel is CNCF."
