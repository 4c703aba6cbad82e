"""Our OpenTelemetry Collector distribution running ``collector/otel-collector.yaml`` for tests.

``build/bin/otelcol-otel-bridge`` comes from ``bash .ci/build-binaries`` (ocb and
``collector/builder-config.yaml``). It runs the very file docker-compose.yml mounts, with only
the ``--config="yaml:..."`` overrides a run on one machine needs (``local_overrides``): the
receivers and the health check on free 127.0.0.1 ports, the exporters pointed at the test's
Jaeger and Phoenix, and the collector's own metrics (a Prometheus port) off.

Import the fixture into a test module (``from otelcol_fixtures import otelcol``); it needs the
``jaeger`` fixture (import it too) and the ``phoenix`` fixture of conftest. Without the binary
the tests are skipped with the build command; in CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.jaeger_fixtures import REPO_ROOT, JaegerServer, ServiceProcess, require_binary
from support.phoenix_server import LOOPBACK, PhoenixServer, free_port

OTELCOL_BIN = REPO_ROOT / "build" / "bin" / "otelcol-otel-bridge"
COLLECTOR_CONFIG = REPO_ROOT / "collector" / "otel-collector.yaml"
JAEGER_EXPORTER = "otlp_grpc/jaeger"
PHOENIX_EXPORTER = "otlp_http/phoenix"


def local_overrides(
    *, grpc_port: int, http_port: int, health_port: int, jaeger_grpc: str, phoenix_http: str
) -> list[str]:
    """The ``--config`` values that turn the compose config into a loopback run on one host."""
    return [
        f"yaml:receivers::otlp::protocols::grpc::endpoint: {LOOPBACK}:{grpc_port}",
        f"yaml:receivers::otlp::protocols::http::endpoint: {LOOPBACK}:{http_port}",
        f"yaml:extensions::health_check::endpoint: {LOOPBACK}:{health_port}",
        f"yaml:exporters::{JAEGER_EXPORTER}::endpoint: {jaeger_grpc}",
        f"yaml:exporters::{PHOENIX_EXPORTER}::endpoint: {phoenix_http}",
        "yaml:service::telemetry::metrics::level: none",
    ]


def validate(binary: Path, *configs: str) -> subprocess.CompletedProcess[str]:
    """``otelcol-otel-bridge validate`` of the given ``--config`` sources."""
    command = [str(binary), "validate", *(f"--config={config}" for config in configs)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


class OtelCollector(ServiceProcess):
    """The collector with the compose config and ``local_overrides``."""

    name = "otelcol"

    def __init__(self, binary: Path, workdir: Path, *, jaeger_grpc: str, phoenix_http: str) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.grpc_port, self.http_port, self.health_port = free_port(), free_port(), free_port()
        self.overrides = local_overrides(
            grpc_port=self.grpc_port,
            http_port=self.http_port,
            health_port=self.health_port,
            jaeger_grpc=jaeger_grpc,
            phoenix_http=phoenix_http,
        )

    def command(self) -> list[str]:
        """The binary, the compose config, then the overrides (later sources win)."""
        configs = [str(COLLECTOR_CONFIG), *self.overrides]
        return [str(self.binary), *(f"--config={config}" for config in configs)]

    @property
    def health_url(self) -> str:
        """The health_check extension (legacy: answers on ``/``)."""
        return f"http://{LOOPBACK}:{self.health_port}/"

    @property
    def otlp_http_endpoint(self) -> str:
        """OTLP/HTTP base URL."""
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint."""
        return f"http://{LOOPBACK}:{self.grpc_port}"


@pytest.fixture(scope="module")
def otelcol(
    jaeger: JaegerServer, phoenix: PhoenixServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OtelCollector]:
    """The collector in front of the module's Jaeger and the session's Phoenix, stopped by pid."""
    collector = OtelCollector(
        require_binary(OTELCOL_BIN),
        tmp_path_factory.mktemp("otelcol"),
        jaeger_grpc=jaeger.otlp_grpc_address,
        phoenix_http=phoenix.http_endpoint,
    )
    collector.start()
    pid = collector.pid
    yield collector
    collector.stop()
    assert not Path(f"/proc/{pid}").exists(), f"collector pid {pid} still running after stop()"
