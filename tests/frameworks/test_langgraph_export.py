"""A LangGraph swarm's export names its agents (OTLP JSON file, the GenAI view, a real Phoenix):
agent names on the model, tool and step spans, the handoff as a GenAI transfer, the same
RunTrace derived back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from openinference.semconv.trace import SpanAttributes as SA
from support import langgraph_scenarios as lg
from support.phoenix_server import PhoenixServer

from otel_bridge import RunTrace, SpanRecord, Telemetry, derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.maseval_adapter import LangGraphAgentAdapter
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.telemetry import Semconv


def swarm_run(server: ScriptedLLMServer, telemetry: Telemetry) -> RunTrace:
    adapter = LangGraphAgentAdapter(lg.swarm(server), "team", telemetry)
    assert adapter.run(lg.QUERY) == lg.ANSWER
    assert adapter.last_run is not None
    return adapter.last_run


def named(spans: Sequence[SpanRecord], key: str) -> list[tuple[str, object]]:
    """(span name, value of ``key``) of the spans that carry it, in start order."""
    ordered = sorted(spans, key=lambda s: s.start_ns)
    return [(s.name, s.attributes[key]) for s in ordered if key in s.attributes]


def assert_agents_named(spans: Sequence[SpanRecord]) -> None:
    models = [(n, a) for n, a in named(spans, SA.AGENT_NAME) if n == "ChatOpenAI"]
    assert models == [
        ("ChatOpenAI", "researcher"),
        ("ChatOpenAI", "researcher"),
        ("ChatOpenAI", "writer"),
    ]
    # Tool spans are exported as ``agent.tool`` (``→ target`` for a handoff).
    tools = {
        n: a
        for n, a in named(spans, SA.AGENT_NAME)
        if n.startswith("researcher.") and n != "researcher.model"
    }
    assert tools == {
        "researcher.search": "researcher",
        "researcher.transfer_to_writer → writer": "researcher",
    }
    assert named(spans, genai.TRANSFER_TARGET_NAME) == [
        ("researcher.transfer_to_writer → writer", "writer")
    ]
    parents = dict(named(spans, SA.GRAPH_NODE_PARENT_ID))
    assert parents["researcher.model"] == "LangGraph" and parents["writer.model"] == "researcher"


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as scripted:
        yield scripted


def test_exported_spans_name_agents_and_derive_the_same_run(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "swarm.otlp.json"
    with Telemetry(otlp_json_file=path, frameworks=["langgraph"]) as telemetry:
        run = swarm_run(server, telemetry)
    spans = load_spans(str(path))
    assert_agents_named(spans)
    (root,) = [s for s in spans if s.parent_id is None]
    assert (root.attributes[SA.INPUT_VALUE], root.attributes[SA.OUTPUT_VALUE]) == (
        lg.QUERY,
        lg.ANSWER,
    )
    again = derive(spans)
    assert again.to_dict()["agents"] == run.to_dict()["agents"]
    assert (again.handoffs, again.messages) == (run.handoffs, run.messages)


@pytest.mark.parametrize("semconv", ["genai", "both"])
def test_genai_view_has_agent_and_tool_spans(
    server: ScriptedLLMServer, tmp_path: Path, semconv: Semconv
) -> None:
    path = tmp_path / "swarm.otlp.json"
    with Telemetry(otlp_json_file=path, frameworks=["langgraph"], semconv=semconv) as telemetry:
        run = swarm_run(server, telemetry)
    spans = load_spans(str(path))
    operations = named(spans, genai.OPERATION)
    assert [n for n, op in operations if op == "invoke_agent"] == [
        "invoke_agent researcher",
        "invoke_agent writer",
    ]
    assert [n for n, op in operations if op == "execute_tool"] == [
        "execute_tool search",
        "execute_tool transfer_to_writer → writer",
    ]
    assert named(spans, genai.TRANSFER_MODE) == [
        ("execute_tool transfer_to_writer → writer", "pass_control")
    ]
    again = derive(spans)
    assert [(h.from_agent, h.to_agent) for h in again.handoffs] == [("researcher", "writer")]
    assert again.usage == run.usage


@pytest.mark.phoenix
def test_phoenix_shows_which_agent_made_each_call(
    phoenix: PhoenixServer, server: ScriptedLLMServer
) -> None:
    project = "otel-bridge-langgraph"
    telemetry = Telemetry(
        otlp_endpoint=phoenix.http_endpoint, project_name=project, frameworks=["langgraph"]
    )
    try:
        run = swarm_run(server, telemetry)
    finally:
        telemetry.shutdown()
    assert telemetry.export_errors() == {}
    memory = telemetry.spans(run.trace_id)
    phoenix.fetch_spans(run.trace_id, variant="otlpv1", min_spans=len(memory), project=project)
    spans = load_spans(f"phoenix+{phoenix.http_endpoint}/{project}", run.trace_id)
    assert sorted(s.span_id for s in spans) == sorted(s.span_id for s in memory)
    assert_agents_named(spans)
    back = derive(spans)
    assert back.to_dict()["usage"] == run.to_dict()["usage"]
    assert [(h.from_agent, h.to_agent) for h in back.handoffs] == [("researcher", "writer")]
    assert {s.attributes.get(SA.SESSION_ID) for s in spans} == {run.labels["session_id"]}
