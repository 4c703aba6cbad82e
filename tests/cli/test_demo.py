"""`otel-bridge demo`: offline end to end, an unreachable endpoint, and a real OTLP receiver."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import SpanAttributes as SA
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from support.scenarios import assert_handoff_spans_name_their_agents

from otel_bridge import derive, derive_all, load_spans
from otel_bridge.cli import main
from otel_bridge.cli._demo import DemoOptions, openai_llm, run_demo
from otel_bridge.collector import Collector
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.otlp import decode_request, from_request
from otel_bridge.scripted import demo_script
from otel_bridge.spans import SpanRecord
from otel_bridge.telemetry import PROTOCOLS, Protocol

# The demo goes online with OPENAI_API_KEY and exports with OTEL_EXPORTER_OTLP_*: not here.
CLEAN_ENV: dict[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_PROTOCOL": None,
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_offline_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run.otlp.json"
    runner = CliRunner()
    for _ in range(2):  # the second run replaces the file
        result = runner.invoke(main, ["demo", "--out", str(out)], env=CLEAN_ENV)
        assert result.exit_code == 0, result.output
    text = result.output
    assert "researcher" in text and "writer" in text
    assert "researcher → writer" in text
    assert "tokens 2,240 in / 123 out" in text  # the scripted usage, summed from the spans
    assert f"otel-bridge derive {out} \\\n      --json" in text  # long: " \\" before --json
    assert "Cost: the scripted model's tokens priced at gpt-4o-mini rates" in text
    # within 80 columns (but for the long temporary path, which is never cut), no line ending
    # in a space
    lines = text.splitlines()
    assert all(len(line) <= 80 or str(out) in line for line in lines)
    assert not any(line.endswith(" ") for line in lines)
    assert "otel-bridge report " in text  # the page is suggested
    assert "Export failed" not in text

    (trace,) = derive_all(load_spans(out))
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
    assert set(trace.agents) == {"researcher", "writer"}


def test_the_file_derives_to_the_run_trace_from_memory(tmp_path: Path) -> None:
    out = tmp_path / "run.otlp.json"
    result = run_demo(DemoOptions(out=out))
    assert result.error is None and result.trace is not None and result.answer
    assert result.export_errors == {}
    assert derive(load_spans(out)).to_dict() == result.trace.to_dict()
    assert result.trace.output == result.answer == demo_script().answer
    assert (result.trace.usage.input_tokens, result.trace.usage.output_tokens) == (2240, 123)


def test_unreachable_endpoint_still_exits_0_and_says_so_once(tmp_path: Path) -> None:
    out = tmp_path / "run.otlp.json"
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    endpoint = f"http://127.0.0.1:{closed_port()}"
    command = [sys.executable, "-m", "otel_bridge.cli", "demo", "--out", str(out)]
    command += ["--otlp-endpoint", endpoint, "--export-timeout", "1"]
    # A hang guard, not a speed test: the export wait is bounded by --export-timeout.
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    assert done.returncode == 0, done.stderr
    both = done.stdout + done.stderr
    assert both.count("Export failed") == 1, both
    assert f"{endpoint}/v1/traces (OTLP/HTTP)" in done.stderr
    assert "Traceback" not in both and "retrying" not in both
    assert "researcher → writer" in done.stdout
    assert "export_failed" in done.stdout  # the RunTrace says its export failed
    (trace,) = derive_all(load_spans(out))
    assert trace.usage.complete and len(trace.llm_calls) == 4


def test_unreachable_grpc_endpoint(tmp_path: Path) -> None:
    options = DemoOptions(
        out=tmp_path / "run.otlp.json",
        otlp_endpoint=f"http://127.0.0.1:{closed_port()}",
        protocol="grpc",
        export_timeout_s=1.0,
    )
    result = run_demo(options)
    assert result.error is None and result.trace is not None
    assert list(result.export_errors) == [f"{options.otlp_endpoint} (OTLP/gRPC)"]
    assert result.trace.issues == ["export_failed"]
    assert len(result.trace.llm_calls) == 4 and len(result.trace.handoffs) == 1


# ---- a real OTLP receiver -----------------------------------------------------------------


class Received:
    def __init__(self) -> None:
        self.records: list[SpanRecord] = []
        self.lock = threading.Lock()

    def add(self, records: list[SpanRecord]) -> None:
        with self.lock:
            self.records.extend(records)


def http_receiver(received: Received) -> tuple[str, Any]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.add(from_request(decode_request(body)))
            reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def grpc_receiver(received: Received) -> tuple[str, Any]:
    class Servicer(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            received.add(from_request(request))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return f"http://127.0.0.1:{port}", lambda: server.stop(None)


@pytest.fixture(params=PROTOCOLS)
def receiver(request: pytest.FixtureRequest) -> Iterator[tuple[Protocol, str, Received]]:
    received = Received()
    protocol: Protocol = request.param
    start = http_receiver if protocol == "http/protobuf" else grpc_receiver
    endpoint, stop = start(received)
    yield protocol, endpoint, received
    stop()


def test_a_receiver_gets_enriched_spans(
    tmp_path: Path, receiver: tuple[Protocol, str, Received]
) -> None:
    protocol, endpoint, received = receiver
    options = DemoOptions(
        out=tmp_path / "run.otlp.json",
        otlp_endpoint=endpoint,
        protocol=protocol,
        project="otel-bridge-receiver-test",
    )
    result = run_demo(options)
    assert result.export_errors == {} and result.trace is not None

    spans = [s for s in received.records if s.trace_id_hex == result.trace.trace_id]
    assert len(spans) == len(load_spans(options.out))
    assert derive(spans).to_dict() == result.trace.to_dict()
    assert {s.resource.get(ResourceAttributes.PROJECT_NAME) for s in spans} == {
        "otel-bridge-receiver-test"
    }
    keys = (SA.AGENT_NAME, SA.GRAPH_NODE_NAME, genai.AGENT_NAME)
    assert_handoff_spans_name_their_agents(spans, result.trace, keys)
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.attributes[SA.OUTPUT_VALUE] == demo_script().answer
    assert SA.AGENT_NAME not in root.attributes


# ---- small things -------------------------------------------------------------------------


def test_out_must_be_a_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)], env=CLEAN_ENV)
    assert result.exit_code == 2
    assert "is a directory" in result.output


def test_a_model_name_only_the_endpoint_knows() -> None:
    llm = openai_llm("llama3.2:3b", "http://127.0.0.1:1/v1", None)
    assert llm.metadata.is_function_calling_model and llm.metadata.is_chat_model
    assert openai_llm("gpt-4o-mini", None, "sk-test").metadata.context_window > 100_000


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_collector_that_wants_a_token_is_named_as_the_reason(
    tmp_path: Path, protocol: Protocol
) -> None:
    """The exporter's own reason (401, UNAUTHENTICATED) reaches the person, with what to do;
    with the token in OTEL_EXPORTER_OTLP_HEADERS the same run is stored."""
    with Collector(tmp_path / "guarded.db", token="s3cret") as running:
        endpoint = running.http_url if protocol == "http/protobuf" else running.grpc_endpoint
        options = DemoOptions(
            out=tmp_path / "run.otlp.json",
            otlp_endpoint=endpoint,
            protocol=protocol,
            export_timeout_s=2.0,
        )
        refused = run_demo(options)
        (reason,) = refused.export_errors.values()
        assert ("401" if protocol == "http/protobuf" else "UNAUTHENTICATED") in reason, reason
        assert refused.trace is not None and refused.trace.issues == ["export_failed"]
        text = CliRunner().invoke(
            main,
            ["demo", "--out", str(options.out), "--otlp-endpoint", endpoint,
             "--protocol", protocol, "--export-timeout", "2"],
            env=CLEAN_ENV,
        ).output  # fmt: skip
        said = " ".join(text.split())  # as a person reads it, whatever the line breaks
        assert "The endpoint wants a token: set OTEL_EXPORTER_OTLP_HEADERS=" in said
        assert "Is a collector" not in text
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cret")
            accepted = run_demo(options)
        assert accepted.export_errors == {} and accepted.trace is not None
        assert running.store is not None
        stored = running.store.trace(accepted.trace.trace_id)
        assert stored is not None and stored.span_count == len(load_spans(options.out))
