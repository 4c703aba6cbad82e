"""Runs exported by Telemetry to a real Jaeger (OTLP/HTTP and gRPC), read back over its APIs.

API v3 gives back every span exactly as it was sent (nanoseconds included), so the run derives
to the same RunTrace as from memory. The legacy JSON API keeps whole microseconds: the run
derives to what the exported spans give with their times cut the way Jaeger cuts them.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.collector_fixtures import export_demo
from support.jaeger_fixtures import JaegerServer, as_jaeger_legacy_serves, jaeger

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.sources import open_source
from otel_bridge.telemetry import Protocol
from otel_bridge.ui import SourceUI

pytestmark = pytest.mark.jaeger
__all__ = ["jaeger"]  # the fixture, imported for pytest


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
async def test_handoff_run_round_trips_through_jaeger(
    jaeger: JaegerServer, llm: ScriptedLLMServer, tmp_path: Path, protocol: Protocol
) -> None:
    grpc = protocol == "grpc"
    endpoint = jaeger.otlp_grpc_endpoint if grpc else jaeger.otlp_http_endpoint
    sent_file = tmp_path / "sent.otlp.json"
    telemetry = Telemetry(
        otlp_endpoint=endpoint,
        protocol=protocol,
        service_name=f"jaeger-roundtrip-{protocol.replace('/', '-')}",
        otlp_json_file=sent_file,
    )
    trace_id = await export_demo(telemetry, llm)
    memory = telemetry.spans(trace_id)
    jaeger.wait_for_trace(trace_id, len(memory))

    from_v3 = load_spans(f"jaeger+{jaeger.query_url}", trace_id)
    from_legacy = load_spans(f"jaeger-legacy+{jaeger.query_url}", trace_id)

    # API v3: exactly the spans that were exported (the same bytes went to the file).
    sent = load_spans(sent_file, trace_id)
    assert len(sent) == len(memory) == 32
    assert sorted(from_v3, key=lambda s: s.span_id) == sorted(sent, key=lambda s: s.span_id)
    assert derive(from_v3).to_dict() == derive(memory).to_dict()

    # Legacy API: the same spans, times in microseconds.
    assert sorted(from_legacy, key=lambda s: s.span_id) == sorted(
        as_jaeger_legacy_serves(sent), key=lambda s: s.span_id
    )
    # (Rounded after the export: a streamed LLM span's end is its agent step's end by then.)
    assert derive(from_legacy).to_dict() == derive(as_jaeger_legacy_serves(sent)).to_dict()

    run = derive(from_legacy)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]
    assert set(run.agents) == {"researcher", "writer"}
    assert run.usage.total_tokens == 2363  # the demo script's usage
    assert [c.agent for c in run.llm_calls] == ["researcher", "researcher", "writer", "writer"]
    assert [t.name for t in run.tool_calls] == ["search", "handoff", "word_count"]
    assert run.status == "ok"


def test_jaeger_listens_on_loopback_only(jaeger: JaegerServer) -> None:
    sockets = jaeger.listening_sockets()
    assert {port for _, port in sockets} == set(jaeger.ports.values())
    assert {host for host, _ in sockets} == {"127.0.0.1"}


async def test_the_web_ui_over_jaeger(
    jaeger: JaegerServer, llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    """`otel-bridge ui jaeger+URL`: the run Jaeger holds, listed with its agents and tokens,
    its report and its spans, read-only."""
    telemetry = Telemetry(otlp_endpoint=jaeger.otlp_http_endpoint, service_name="jaeger-ui")
    trace_id = await export_demo(telemetry, llm)
    jaeger.wait_for_trace(trace_id, len(telemetry.spans(trace_id)))
    telemetry.shutdown()
    with (
        SourceUI(open_source(f"jaeger+{jaeger.query_url}")) as served,
        httpx.Client(base_url=served.url, timeout=60) as api,
    ):
        [listed] = api.get("/api/traces", params={"q": "jaeger-ui"}).json()["traces"]
        assert listed["trace_id"] == trace_id and listed["service"] == "jaeger-ui"
        assert listed["run"]["agents"] == ["researcher", "writer"]
        assert listed["run"]["total_tokens"] == 2363  # the demo script's usage
        report = api.get(f"/api/traces/{trace_id}/report")
        assert report.status_code == 200 and "researcher" in report.text
        spans = api.get(f"/api/traces/{trace_id}/spans").json()
        assert (
            sum(len(ss["spans"]) for rs in spans["resourceSpans"] for ss in rs["scopeSpans"]) == 32
        )
        assert api.get(f"/runs/{trace_id}").status_code == 200
