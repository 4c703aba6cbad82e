"""One real LlamaIndex run, exported by the real OTel SDK exporters, derives to the same RunTrace
from every place its spans can be read back: memory, the OTLP/JSON file, the collector (query
API and load_spans, over OTLP/HTTP and OTLP/gRPC) and a Jaeger query service (v3 and legacy).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from support.collector_fixtures import (
    ServedApp,
    assert_same_run,
    collector,  # noqa: F401  (fixture)
    expected_run,
    export_demo,
)
from support.jaeger_answers import jaeger_legacy_body, jaeger_v3_body

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.otlp import request_to_json, to_request
from otel_bridge.scripted import ScriptedLLMServer

JSON_HEADERS = {"content-type": "application/json"}


def _sorted(spans: list[Any]) -> list[Any]:
    return sorted(spans, key=lambda s: s.span_id)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
async def test_exported_run_derives_the_same_everywhere(
    collector: Collector,  # noqa: F811
    llm_server: ScriptedLLMServer,
    tmp_path: Path,
    protocol: str,
) -> None:
    endpoint = collector.http_url if protocol == "http/protobuf" else collector.grpc_endpoint
    otlp_file = tmp_path / "run.otlp.json"
    telemetry = Telemetry(
        otlp_endpoint=endpoint,
        protocol=protocol,  # type: ignore[arg-type]
        otlp_json_file=otlp_file,
        service_name="e2e-agent",
    )
    trace_id = await export_demo(telemetry, llm_server)  # the collector acked every span
    expected = expected_run(telemetry, trace_id)
    # What the exporters sent (the file exporter sits in the same pipeline as the OTLP one).
    exported = load_spans(otlp_file, trace_id)
    assert len(exported) == len(telemetry.spans(trace_id))
    assert expected["handoffs"] and expected["tool_calls"] and expected["usage"]["complete"]

    # The query API: the trace is listed, and derived server-side.
    listed = httpx.get(f"{collector.http_url}/api/traces", params={"service": "e2e-agent"}).json()
    (summary,) = [t for t in listed["traces"] if t["trace_id"] == trace_id]
    assert summary["span_count"] == len(exported)
    assert summary["root_name"] == "demo-run" and summary["status"] == "ok"
    run = httpx.get(f"{collector.http_url}/api/traces/{trace_id}/run").json()
    assert_same_run(expected, run)

    # The same spans through load_spans: collector (protobuf), file, memory.
    from_collector = load_spans(collector.http_url, trace_id)
    assert _sorted(from_collector) == _sorted(exported)  # nothing lost, nothing added
    assert_same_run(expected, derive(from_collector).to_dict())
    assert_same_run(expected, derive(exported).to_dict())
    assert_same_run(expected, derive(load_spans(telemetry, trace_id)).to_dict())

    # OTLP/JSON from the query API holds the same spans.
    body = httpx.get(f"{collector.http_url}/api/traces/{trace_id}/spans").json()
    assert len(body["resourceSpans"]) == 1  # one resource, stored once
    assert sum(len(ss["spans"]) for ss in body["resourceSpans"][0]["scopeSpans"]) == len(exported)

    # The CLI reads the collector too.
    result = CliRunner().invoke(
        main, ["derive", collector.http_url, "--trace-id", trace_id, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert_same_run(expected, json.loads(result.output))

    # Jaeger: a fake query service answering from the same spans, API v3 and legacy.
    with ServedApp(_fake_jaeger(exported, trace_id)) as jaeger:
        v3 = load_spans(f"jaeger+{jaeger.url}", trace_id)
        assert _sorted(v3) == _sorted(exported)
        legacy = load_spans(f"jaeger-legacy+{jaeger.url}", trace_id)
        assert len(legacy) == len(exported)
        # Jaeger's model keeps microseconds: each time moves by up to 1 us, and a duration
        # summed over many spans by a few us more.
        assert_same_run(expected, derive(legacy).to_dict(), time_tolerance_s=1e-4)


def _fake_jaeger(spans: list[Any], trace_id: str) -> Starlette:
    async def v3(request: Request) -> JSONResponse:
        if request.path_params["trace_id"] != trace_id:
            return JSONResponse({"error": {"httpCode": 404, "message": "trace not found"}}, 404)
        return JSONResponse(jaeger_v3_body(spans))

    async def legacy(request: Request) -> JSONResponse:
        if request.path_params["trace_id"] != trace_id:
            return JSONResponse({"data": None, "errors": [{"code": 404, "msg": "not found"}]}, 404)
        return JSONResponse(jaeger_legacy_body(spans))

    return Starlette(
        routes=[
            Route("/api/v3/traces/{trace_id}", v3),
            Route("/api/traces/{trace_id}", legacy),
        ]
    )


async def test_otlp_json_and_gzip_bodies_store_the_same_spans(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    telemetry = Telemetry(service_name="json-agent")
    trace_id = await export_demo(telemetry, llm_server)
    spans = telemetry.spans(trace_id)
    expected = expected_run(telemetry, trace_id)
    body = json.dumps(request_to_json(to_request(spans))).encode()
    for encoding in ("identity", "gzip"):
        with Collector(tmp_path / f"{encoding}.db") as running:
            content = gzip.compress(body) if encoding == "gzip" else body
            headers = {**JSON_HEADERS, "content-encoding": encoding}
            response = httpx.post(f"{running.http_url}/v1/traces", content=content, headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {}  # full success: no partial_success
            stored = load_spans(running.http_url, trace_id)
            assert _sorted(stored) == _sorted(spans)
            assert_same_run(expected, derive(stored).to_dict())
