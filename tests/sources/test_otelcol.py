"""collector/otel-collector.yaml (the config docker-compose.yml mounts) in our real collector.

Validated by the distribution built from collector/builder-config.yaml, which holds exactly the
components the config names; then run for real with only the loopback overrides of
``otelcol_fixtures.local_overrides``: Telemetry -> collector -> Jaeger and Phoenix (real
processes), and the run derived from each backend equals the run derived from memory.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.collector_fixtures import export_demo
from support.jaeger_fixtures import JaegerServer, jaeger, require_binary
from support.otelcol_fixtures import (
    COLLECTOR_CONFIG,
    OTELCOL_BIN,
    OtelCollector,
    local_overrides,
    otelcol,
    validate,
)
from support.phoenix_server import PhoenixServer, as_phoenix_stores

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.telemetry import Protocol

pytestmark = pytest.mark.otelcol
__all__ = ["jaeger", "otelcol"]  # fixtures, imported for pytest

COMPONENT_KINDS = ("receivers", "processors", "exporters", "extensions")


def config_component_types(config: dict[str, Any]) -> dict[str, set[str]]:
    """The component types a collector config defines (``otlp_grpc/jaeger`` -> ``otlp_grpc``)."""
    return {
        kind: {name.split("/", 1)[0] for name in config.get(kind) or {}} for kind in COMPONENT_KINDS
    }


def test_the_compose_config_is_valid_for_our_distribution() -> None:
    binary = require_binary(OTELCOL_BIN)
    result = validate(binary, str(COLLECTOR_CONFIG))
    assert result.returncode == 0, result.stderr
    overrides = local_overrides(
        grpc_port=1, http_port=2, health_port=3, jaeger_grpc="127.0.0.1:4", phoenix_http="http://x"
    )
    result = validate(binary, str(COLLECTOR_CONFIG), *overrides)
    assert result.returncode == 0, result.stderr


def test_validation_catches_a_component_the_distribution_lacks() -> None:
    binary = require_binary(OTELCOL_BIN)
    broken = "yaml:service::pipelines::traces::exporters: [otlp_grpc/jaeger, zipkin]"
    result = validate(binary, str(COLLECTOR_CONFIG), broken)
    assert result.returncode != 0
    assert "zipkin" in result.stderr


def test_the_distribution_has_the_components_the_config_uses_and_the_file_exporter() -> None:
    binary = require_binary(OTELCOL_BIN)
    listed = subprocess.run(
        [str(binary), "components"], capture_output=True, text=True, timeout=60, check=True
    )
    components = yaml.safe_load(listed.stdout)
    built = {kind: {c["name"] for c in components.get(kind) or []} for kind in COMPONENT_KINDS}
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    # Beside the compose config's components: the file exporter, for a collector tier that
    # hands spans to batch jobs as files (tests/sources/test_otelcol_files.py).
    used = config_component_types(config)
    assert built == {**used, "exporters": used["exporters"] | {"file"}}
    assert built == {
        "receivers": {"otlp"},
        "processors": {"memory_limiter", "batch"},
        "exporters": {"otlp_grpc", "otlp_http", "file"},
        "extensions": {"health_check"},
    }
    assert components["buildinfo"]["version"] == "0.165.0"


@pytest.mark.jaeger
@pytest.mark.phoenix
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
async def test_a_run_through_the_collector_reaches_jaeger_and_phoenix_whole(
    otelcol: OtelCollector,
    jaeger: JaegerServer,
    phoenix: PhoenixServer,
    llm: ScriptedLLMServer,
    tmp_path: Path,
    protocol: Protocol,
) -> None:
    grpc = protocol == "grpc"
    project = f"otelcol-{protocol.replace('/', '-')}"
    sent_file = tmp_path / "sent.otlp.json"
    telemetry = Telemetry(
        otlp_endpoint=otelcol.otlp_grpc_endpoint if grpc else otelcol.otlp_http_endpoint,
        protocol=protocol,
        service_name="otelcol-tests",
        project_name=project,
        otlp_json_file=sent_file,
    )
    trace_id = await export_demo(telemetry, llm)
    memory = telemetry.spans(trace_id)
    sent = load_spans(sent_file, trace_id)
    assert len(sent) == len(memory) == 32
    expected = derive(memory).to_dict()

    # Jaeger (API v3): every span exactly as our exporter sent it, through the collector.
    jaeger.wait_for_trace(trace_id, len(sent))
    from_jaeger = load_spans(f"jaeger+{jaeger.query_url}", trace_id)
    assert sorted(from_jaeger, key=lambda s: s.span_id) == sorted(sent, key=lambda s: s.span_id)
    assert derive(from_jaeger).to_dict() == expected

    # Phoenix: the project named by the resource, times in microseconds.
    phoenix.fetch_spans(trace_id, variant="otlpv1", min_spans=len(sent), project=project)
    from_phoenix = load_spans(f"phoenix+{phoenix.http_endpoint}/{project}", trace_id)
    assert sorted(s.span_id for s in from_phoenix) == sorted(s.span_id for s in sent)
    assert derive(from_phoenix).to_dict() == derive(as_phoenix_stores(memory)).to_dict()

    run = derive(from_phoenix)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]
    assert run.usage.total_tokens == 2363  # the demo script's usage


@pytest.mark.jaeger
@pytest.mark.phoenix
def test_the_collector_listens_on_loopback_only(otelcol: OtelCollector) -> None:
    sockets = otelcol.listening_sockets()
    assert sorted(sockets) == sorted(
        ("127.0.0.1", port) for port in (otelcol.grpc_port, otelcol.http_port, otelcol.health_port)
    )  # and no metrics port: the compose file's 0.0.0.0:8888 is turned off
