"""A two-agent handoff run exported by Telemetry to a real Phoenix (OTLP/HTTP and gRPC), read back
over Phoenix's REST API: the same RunTrace, agent names on the spans, the configured project.

Needs an interpreter with arize-phoenix (tests/PHOENIX.md); skipped only when there is none.
``pytest -m phoenix -s tests/sources/test_phoenix_roundtrip.py`` prints the timings.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import SpanAttributes as SA
from support import scenarios
from support.phoenix_server import PhoenixServer, as_phoenix_stores
from support.runs import traced

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.scripted import ScriptedLLMServer, demo_script
from otel_bridge.sources import open_source
from otel_bridge.telemetry import Protocol
from otel_bridge.ui import SourceUI

pytestmark = pytest.mark.phoenix


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
async def test_handoff_run_round_trips_through_phoenix(
    phoenix: PhoenixServer, llm: ScriptedLLMServer, tmp_path: Path, protocol: Protocol
) -> None:
    project = f"otel-bridge-rt-{protocol.replace('/', '-')}"
    endpoint = phoenix.http_endpoint if protocol == "http/protobuf" else phoenix.grpc_endpoint
    telemetry = Telemetry(otlp_endpoint=endpoint, protocol=protocol, project_name=project)
    demo, run = demo_script(), scenarios.handoff(llm)
    started = time.monotonic()
    try:
        answer, trace_id = await traced(telemetry, run)
    finally:
        telemetry.shutdown()
    exported = time.monotonic()
    assert str(answer) == demo.answer
    assert telemetry.export_errors() == {}
    memory = telemetry.spans(trace_id)
    phoenix.fetch_spans(trace_id, variant="otlpv1", min_spans=len(memory), project=project)
    visible = time.monotonic()
    spans = load_spans(f"phoenix+{phoenix.http_endpoint}/{project}", trace_id)
    print(
        f"\n{protocol}: {len(memory)} spans; run+flush {exported - started:.2f} s, visible in "
        f"Phoenix {visible - exported:.2f} s later"
    )

    # Same RunTrace. The one difference is time precision: Phoenix keeps microseconds.
    assert sorted(s.span_id for s in spans) == sorted(s.span_id for s in memory)
    from_phoenix = derive(spans).to_dict()
    assert from_phoenix == derive(as_phoenix_stores(memory)).to_dict()
    plain = derive(memory)
    assert [(h["from"], h["to"]) for h in from_phoenix["handoffs"]] == [("researcher", "writer")]
    assert from_phoenix["agents"].keys() == plain.agents.keys() == {"researcher", "writer"}
    assert from_phoenix["usage"]["total_tokens"] == 2363  # the demo script's usage

    # The agent names are on the spans Phoenix shows.
    keys = (SA.AGENT_NAME, SA.GRAPH_NODE_NAME, SA.GRAPH_NODE_ID)
    scenarios.assert_handoff_spans_name_their_agents(spans, plain, keys)
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.attributes[SA.INPUT_VALUE] == demo.user_msg
    assert root.attributes[SA.OUTPUT_VALUE] == demo.answer

    # In the project we configured, and only there.
    assert {s.resource[ResourceAttributes.PROJECT_NAME] for s in spans} == {project}
    projects = httpx.get(f"{phoenix.http_endpoint}/v1/projects", timeout=10).json()["data"]
    assert project in {p["name"] for p in projects}
    default = httpx.get(
        f"{phoenix.http_endpoint}/v1/projects/default/spans",
        params={"trace_id": trace_id},
        timeout=10,
    )
    assert (default.status_code, default.json()["data"]) == (200, [])  # it exists, empty


async def test_the_web_ui_over_phoenix(phoenix: PhoenixServer, llm: ScriptedLLMServer) -> None:
    """`otel-bridge ui phoenix+URL/PROJECT`: the run Phoenix holds, listed with its agents and
    tokens, its report, read-only."""
    project = "otel-bridge-ui"
    telemetry = Telemetry(otlp_endpoint=phoenix.http_endpoint, project_name=project)
    try:
        _, trace_id = await traced(telemetry, scenarios.handoff(llm))
    finally:
        telemetry.shutdown()
    memory = telemetry.spans(trace_id)
    phoenix.fetch_spans(trace_id, variant="otlpv1", min_spans=len(memory), project=project)
    with (
        SourceUI(open_source(f"phoenix+{phoenix.http_endpoint}/{project}")) as served,
        httpx.Client(base_url=served.url, timeout=60) as api,
    ):
        [listed] = api.get("/api/traces").json()["traces"]
        assert listed["trace_id"] == trace_id
        assert listed["run"]["agents"] == ["researcher", "writer"]
        assert listed["run"]["total_tokens"] == derive(memory).usage.total_tokens
        report = api.get(f"/api/traces/{trace_id}/report")
        assert report.status_code == 200 and "researcher" in report.text
        assert api.get(f"/api/traces/{trace_id}/run").json()["handoffs"][0]["to"] == "writer"
