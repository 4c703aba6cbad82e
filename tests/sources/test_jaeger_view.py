"""What a person sees of a run in a real Jaeger, and the CLI reading runs back from it.

The Jaeger UI reads the legacy JSON API (``/api/traces/{id}``, ``/api/services``, the
operations of a service); these tests read the same: the agents are in the operation names
(OpenInference: ``researcher.run_agent_step``; GenAI: ``invoke_agent researcher``), the root
says ``otel.status_code=OK``, streamed LLM calls last as long as the server streamed, the
service is the one the run set. Then ``otel-bridge traces`` lists the runs Jaeger holds and
``otel-bridge derive`` reads one back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from support.jaeger_fixtures import JaegerServer, jaeger
from support.scenarios import streamed_run

from otel_bridge import Telemetry, load_spans
from otel_bridge.cli import main
from otel_bridge.cli._demo import DemoOptions, DemoResult, run_demo
from otel_bridge.scripted import ScriptedLLMServer

pytestmark = pytest.mark.jaeger
__all__ = ["jaeger"]  # the fixture, imported for pytest

DEMO_SERVICE = "otel-bridge-demo"
ENV: dict[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_PROTOCOL": None,
    "OTEL_BRIDGE_SEMCONV": None,
    "COLUMNS": None,
}


def tags(span: dict[str, Any]) -> dict[str, Any]:
    """A legacy-model span's tags as a dict."""
    return {tag["key"]: tag["value"] for tag in span["tags"]}


def legacy_trace(jaeger: JaegerServer, trace_id: str) -> dict[str, Any]:
    """``GET /api/traces/{id}``: the trace as the Jaeger UI gets it."""
    answer = httpx.get(f"{jaeger.query_url}/api/traces/{trace_id}", timeout=10)
    answer.raise_for_status()
    (trace,) = answer.json()["data"]
    assert isinstance(trace, dict)
    return trace


def demo_run(jaeger: JaegerServer, tmp_path: Path, **options: Any) -> DemoResult:
    """One demo run exported to Jaeger over OTLP/HTTP, once Jaeger holds all of its spans."""
    out = tmp_path / "run.otlp.json"
    result = run_demo(DemoOptions(out=out, otlp_endpoint=jaeger.otlp_http_endpoint, **options))
    assert result.export_errors == {} and result.trace is not None
    jaeger.wait_for_trace(result.trace.trace_id, len(load_spans(out)))
    return result


@pytest.mark.parametrize("semconv", ["openinference", "genai"])
def test_the_demo_reads_well_in_jaeger(jaeger: JaegerServer, tmp_path: Path, semconv: str) -> None:
    result = demo_run(jaeger, tmp_path, semconv=semconv)
    assert result.trace is not None
    trace = legacy_trace(jaeger, result.trace.trace_id)
    spans = trace["spans"]
    names = [span["operationName"] for span in spans]
    if semconv == "genai":
        assert names.count("invoke_agent researcher") == names.count("invoke_agent writer") == 1
        assert "invoke_workflow AgentWorkflow" in names
        assert names.count("chat gpt-4o-mini") == 4  # the four model calls, named as GenAI does
        tools = ["execute_tool search", "execute_tool handoff → writer", "execute_tool word_count"]
    else:
        tools = ["researcher.search", "researcher.handoff → writer", "writer.word_count"]
        assert names.count("researcher.run_agent_step") == 2
        assert names.count("writer.run_agent_step") == 2
        kinds = [tags(span).get("openinference.span.kind") for span in spans]
        assert kinds.count("LLM") == 4  # no phantom LLM spans
        assert "AgentWorkflow.run_agent_step" not in names

    # which tool ran, for which agent, and which call was the handoff: in the tree's names
    called = [
        s
        for s in spans
        if tags(s).get("openinference.span.kind") == "TOOL"
        or tags(s).get("gen_ai.operation.name") == "execute_tool"
    ]
    assert [s["operationName"] for s in sorted(called, key=lambda s: s["startTime"])] == tools
    (root,) = [span for span in spans if not span["references"]]
    assert root["operationName"] == "otel-bridge demo"
    assert tags(root)["otel.status_code"] == "OK"
    assert "error" not in tags(root)
    assert {tags(span).get("session.id") for span in spans} == {result.session_id}
    assert {process["serviceName"] for process in trace["processes"].values()} == {DEMO_SERVICE}

    services = httpx.get(f"{jaeger.query_url}/api/services", timeout=10).json()["data"]
    assert DEMO_SERVICE in services
    operations = httpx.get(
        f"{jaeger.query_url}/api/services/{DEMO_SERVICE}/operations", timeout=10
    ).json()["data"]
    wanted = {"invoke_agent researcher"} if semconv == "genai" else {"researcher.run_agent_step"}
    assert wanted <= set(operations)


@pytest.mark.parametrize("semconv", ["openinference", "genai"])
async def test_streamed_calls_last_in_jaeger_as_long_as_the_server_streamed(
    jaeger: JaegerServer, llm: ScriptedLLMServer, semconv: str
) -> None:
    delay = 0.1  # the scripted server sleeps this long after each chunk of the answer
    telemetry = Telemetry(
        otlp_endpoint=jaeger.otlp_grpc_endpoint,
        protocol="grpc",
        service_name=f"jaeger-stream-{semconv}",
        semconv=semconv,  # type: ignore[arg-type]
    )
    streamed = await streamed_run(telemetry, llm, delay)
    trace_id, answer, floor = streamed.trace_id, streamed.answer, streamed.floor_s

    jaeger.wait_for_trace(trace_id, len(streamed.captured))
    trace = legacy_trace(jaeger, trace_id)
    shown = next(span for span in trace["spans"] if span["spanID"] == answer.span_id)
    assert shown["duration"] >= floor * 1e6  # microseconds
    assert abs(shown["duration"] - answer.duration_ns / 1000) <= 1
    if semconv == "genai":
        assert shown["operationName"] == "chat gpt-4o-mini"
        assert tags(shown)["gen_ai.response.time_to_first_chunk"] == pytest.approx(
            (answer.time_to_first_token_ns or 0) / 1e9
        )
    (root_span,) = [span for span in trace["spans"] if not span["references"]]
    assert tags(root_span)["otel.status_code"] == "OK"
    assert {p["serviceName"] for p in trace["processes"].values()} == {f"jaeger-stream-{semconv}"}


def test_traces_and_derive_read_the_demo_back_from_jaeger(
    jaeger: JaegerServer, tmp_path: Path
) -> None:
    result = demo_run(jaeger, tmp_path, session_id="jaeger-view-session")
    assert result.trace is not None
    trace_id = result.trace.trace_id
    source = f"jaeger+{jaeger.query_url}"
    runner = CliRunner()

    listed = runner.invoke(
        main, ["traces", source, "--session", "jaeger-view-session", "--json"], env=ENV
    )
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()
    run = json.loads(line)
    assert {key: run[key] for key in ("trace_id", "status", "name", "service", "session_id")} == {
        "trace_id": trace_id,
        "status": "ok",
        "name": "otel-bridge demo",
        "service": DEMO_SERVICE,
        "session_id": "jaeger-view-session",
    }
    assert (run["agents"], run["total_tokens"], run["spans"]) == (
        ["researcher", "writer"],
        2363,
        32,
    )

    table = runner.invoke(main, ["traces", source, "--service", DEMO_SERVICE], env=ENV)
    assert table.exit_code == 0, table.output
    assert any(row.startswith(trace_id) for row in table.output.splitlines())
    assert all(len(row) <= 80 for row in table.output.splitlines())

    unknown = runner.invoke(main, ["traces", source, "--service", "nope"], env=ENV)
    assert unknown.exit_code != 0
    assert "no service 'nope' in Jaeger; its services: " in unknown.output

    derived = runner.invoke(main, ["derive", source, "--trace-id", trace_id, "--json"], env=ENV)
    assert derived.exit_code == 0, derived.output
    assert json.loads(derived.output) == result.trace.to_dict()  # API v3 keeps nanoseconds

    legacy = runner.invoke(
        main,
        ["derive", f"jaeger-legacy+{jaeger.query_url}", "--trace-id", trace_id, "--json"],
        env=ENV,
    )
    assert legacy.exit_code == 0, legacy.output
    from_legacy = json.loads(legacy.output)
    assert [(h["from"], h["to"]) for h in from_legacy["handoffs"]] == [("researcher", "writer")]
    assert from_legacy["usage"] == result.trace.to_dict()["usage"]


def test_the_module_built_jaeger_serves_no_ui(jaeger: JaegerServer) -> None:
    page = httpx.get(f"{jaeger.query_url}/", timeout=10)
    assert page.status_code == 200
    assert "<title>Test Page</title>" in page.text  # Jaeger's placeholder: no UI assets
