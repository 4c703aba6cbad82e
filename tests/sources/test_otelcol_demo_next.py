"""The demo's "Next:" hints name the follow-up for the server behind ``--otlp-endpoint``.

Real servers each time: the otel-bridge collector (derive / traces commands), Phoenix (the
project's page), Jaeger (derive ``jaeger+`` and its UI's trace page) and our OpenTelemetry
Collector with Jaeger and Phoenix beside it, as in the compose stack. The hinted commands are
run and read the run back. Piped output fits 80 columns; only a command or URL too long for
one line stands alone on its own line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from support.collector_fixtures import ServedApp, collector
from support.jaeger_fixtures import JaegerServer, jaeger
from support.otelcol_fixtures import OtelCollector, otelcol
from support.phoenix_server import PhoenixServer, free_port

from otel_bridge import load_spans
from otel_bridge.cli import main
from otel_bridge.cli._demo import DemoOptions, run_demo
from otel_bridge.cli._demo_next import (
    Backend,
    BackendKind,
    Hint,
    find_backends,
    hints_for,
    receiver_text,
)
from otel_bridge.collector import Collector
from otel_bridge.telemetry import Protocol

__all__ = ["collector", "jaeger", "otelcol"]  # fixtures, imported for pytest

ENV: dict[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_PROTOCOL": None,
    "OTEL_BRIDGE_SEMCONV": None,
    "COLUMNS": None,  # piped: 80 columns
}


def demo(out: Path, *args: str) -> tuple[Result, str]:
    """``otel-bridge demo`` with stdout piped; its result and the run's trace id."""
    result = CliRunner().invoke(main, ["demo", "--out", str(out), *args], env=ENV)
    assert result.exit_code == 0, result.output
    (trace_id,) = {s.trace_id_hex for s in load_spans(out)}
    return result, trace_id


def flat(output: str) -> str:
    """The output with every run of white space as one space (wrapped lines joined)."""
    return " ".join(output.split())


def next_lines(output: str) -> list[str]:
    """The lines after ``Next:``, a command continued with `` \\`` joined into one line."""
    lines: list[str] = []
    for line in output.split("\nNext:\n", 1)[1].splitlines():
        if lines and lines[-1].endswith(" \\"):
            lines[-1] = f"{lines[-1][:-2]} {line.strip()}"
        else:
            lines.append(line)
    return lines


def assert_fits_80_columns(output: str) -> None:
    for line in output.splitlines():
        alone = line.startswith(("  otel-bridge ", "  http://")) and "#" not in line
        assert len(line) <= 80 or alone, line


def derive_json(source: str, trace_id: str) -> dict[str, Any]:
    """What the hinted ``otel-bridge derive SOURCE --trace-id ID`` gives, as JSON."""
    result = CliRunner().invoke(main, ["derive", source, "--trace-id", trace_id, "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    return data


def test_to_an_otel_bridge_collector_the_hints_are_derive_and_traces(
    collector: Collector, tmp_path: Path
) -> None:
    url = collector.http_url
    result, trace_id = demo(tmp_path / "run.otlp.json", "--otlp-endpoint", url)
    output = result.output
    assert f"Spans exported to {url} (http/protobuf): an otel-bridge collector." in flat(output)
    assert "Phoenix" not in output
    lines = next_lines(output)
    assert f"  otel-bridge traces {url}   # the runs the collector holds" in lines
    derive = f"otel-bridge derive {url} --trace-id {trace_id}"
    assert any(line.startswith(f"  {derive}") for line in lines), lines
    assert_fits_80_columns(output)

    run = derive_json(url, trace_id)
    assert run["trace_id"] == trace_id
    assert [(h["from"], h["to"]) for h in run["handoffs"]] == [("researcher", "writer")]


@pytest.mark.phoenix
def test_to_phoenix_the_hint_is_the_project_page(phoenix: PhoenixServer, tmp_path: Path) -> None:
    project = "demo-next-hints"
    base = phoenix.http_endpoint
    result, trace_id = demo(
        tmp_path / "run.otlp.json", "--otlp-endpoint", base, "--project", project
    )
    output = result.output
    assert f"Spans exported to {base} (http/protobuf): Phoenix, project {project}." in flat(output)
    project_id = httpx.get(f"{base}/v1/projects/{project}", timeout=10).json()["data"]["id"]
    lines = next_lines(output)
    assert f"  {base}/projects/{project_id}" in " ".join(lines)
    assert f"  otel-bridge derive phoenix+{base}/{project} --trace-id {trace_id}" in lines
    assert "--trace-id" in output and "otel-bridge traces" not in output
    assert_fits_80_columns(output)
    page = httpx.get(f"{base}/projects/{project_id}", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]

    phoenix.fetch_spans(trace_id, project=project, min_spans=32)
    run = derive_json(f"phoenix+{base}/{project}", trace_id)
    assert run["trace_id"] == trace_id


@pytest.mark.jaeger
def test_to_jaeger_the_hint_is_derive_from_its_query_service(
    jaeger: JaegerServer, tmp_path: Path
) -> None:
    endpoint = jaeger.otlp_http_endpoint
    result = run_demo(DemoOptions(out=tmp_path / "run.otlp.json", otlp_endpoint=endpoint))
    assert result.export_errors == {} and result.trace is not None
    trace_id = result.trace.trace_id
    query_port = jaeger.ports["JAEGER_QUERY_HTTP_PORT"]
    # The OTLP port does not say what it is; Jaeger's query service beside it does.
    backends = find_backends(
        endpoint,
        "http/protobuf",
        "otel-bridge-demo",
        neighbours={"jaeger": query_port, "phoenix": free_port()},
    )
    assert backends == [Backend("jaeger", jaeger.query_url, at_endpoint=False)]
    assert hints_for(backends, trace_id, "otel-bridge-demo") == [
        Hint(f"{jaeger.query_url}/trace/{trace_id}", "this run in the Jaeger UI"),
        Hint(
            f"otel-bridge derive jaeger+{jaeger.query_url} --trace-id {trace_id}",
            "this run, from Jaeger",
        ),
    ]
    assert receiver_text(backends, "otel-bridge-demo") == (
        f"an OTLP receiver, with Jaeger at {jaeger.query_url} beside it"
    )
    jaeger.wait_for_trace(trace_id, 32)
    run = derive_json(f"jaeger+{jaeger.query_url}", trace_id)
    assert run["trace_id"] == trace_id


@pytest.mark.otelcol
@pytest.mark.jaeger
@pytest.mark.phoenix
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_to_the_collector_of_the_compose_stack_both_backends_are_named(
    otelcol: OtelCollector,
    jaeger: JaegerServer,
    phoenix: PhoenixServer,
    tmp_path: Path,
    protocol: Protocol,
) -> None:
    grpc = protocol == "grpc"
    endpoint = otelcol.otlp_grpc_endpoint if grpc else otelcol.otlp_http_endpoint
    project = f"demo-next-otelcol-{protocol.replace('/', '-')}"
    options = DemoOptions(
        out=tmp_path / "run.otlp.json",
        otlp_endpoint=endpoint,
        protocol=protocol,
        project=project,
    )
    result = run_demo(options)
    assert result.export_errors == {} and result.trace is not None
    trace_id = result.trace.trace_id
    phoenix.fetch_spans(trace_id, project=project, min_spans=32)  # the project exists now
    project_id = httpx.get(f"{phoenix.http_endpoint}/v1/projects/{project}", timeout=10).json()
    neighbours: dict[BackendKind, int] = {
        "jaeger": jaeger.ports["JAEGER_QUERY_HTTP_PORT"],
        "phoenix": phoenix.port,
    }
    backends = find_backends(endpoint, options.protocol, project, neighbours=neighbours)
    assert backends == [
        Backend("jaeger", jaeger.query_url, at_endpoint=False),
        Backend("phoenix", phoenix.http_endpoint, project_id["data"]["id"], at_endpoint=False),
    ]
    assert receiver_text(backends, project) == (
        f"an OTLP receiver, with Jaeger at {jaeger.query_url} and Phoenix at "
        f"{phoenix.http_endpoint} beside it"
    )
    commands = [hint.command for hint in hints_for(backends, trace_id, project)]
    assert f"otel-bridge derive jaeger+{jaeger.query_url} --trace-id {trace_id}" in commands
    assert f"{phoenix.http_endpoint}/projects/{project_id['data']['id']}" in commands


def test_a_server_that_says_nothing_gets_placeholder_hints() -> None:
    with ServedApp(Starlette()) as silent:  # answers 404 to everything
        backends = find_backends(
            silent.url,
            "http/protobuf",
            "p",
            neighbours={"jaeger": free_port(), "phoenix": free_port()},
        )
    assert backends == []
    assert receiver_text(backends, "p") == "a server that does not say what it is"
    assert [h.command for h in hints_for(backends, "ab" * 16, "p")] == [
        f"otel-bridge derive jaeger+http://HOST:16686 --trace-id {'ab' * 16}",
        f"otel-bridge derive phoenix+http://HOST:6006/p --trace-id {'ab' * 16}",
    ]


def test_grpc_elsewhere_than_4317_cannot_be_asked_over_http(collector: Collector) -> None:
    backends = find_backends(
        collector.grpc_endpoint,
        "grpc",
        "p",
        neighbours={"jaeger": free_port(), "phoenix": free_port()},
    )
    assert backends == []  # the collector's HTTP port is not the gRPC port + anything known
