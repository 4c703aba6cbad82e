"""Our collector's ``file`` exporter writes files that ``otel-bridge`` reads as a source.

A real run (the demo's team, scripted model) goes by OTLP/HTTP into our collector build, which
writes it with four ``file`` exporters at once: JSON lines, protobuf, and each compressed with
zstd; a fifth groups by a resource attribute into sub-folders. The collector is stopped by pid
(it flushes its files on the way out); then each file, and the whole folder, derives to the run
derived from memory. A copy cut mid-message (a collector killed mid-write) loses only the cut
message, with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from support.collector_fixtures import assert_same_run, expected_run, run_demo
from support.jaeger_fixtures import ServiceProcess, require_binary
from support.otelcol_fixtures import OTELCOL_BIN
from support.phoenix_server import LOOPBACK, free_port

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.sources import FileSource, list_runs

pytestmark = pytest.mark.otelcol

EXPORTERS: dict[str, dict[str, Any]] = {
    "file/json": {"path": "out/json/spans.json"},
    "file/proto": {"path": "out/proto/spans.pb", "format": "proto"},
    "file/json_zstd": {"path": "out/json_zstd/spans.json.zst", "compression": "zstd"},
    "file/proto_zstd": {
        "path": "out/proto_zstd/spans.pb.zst",
        "format": "proto",
        "compression": "zstd",
    },
    "file/grouped": {
        "path": "out/grouped/*/spans.json",
        "group_by": {"enabled": True, "resource_attribute": "service.name"},
    },
}


class FileCollector(ServiceProcess):
    """Our collector with OTLP/HTTP in and the ``file`` exporters of ``EXPORTERS`` out."""

    name = "otelcol-files"

    def __init__(self, binary: Path, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.http_port, self.health_port = free_port(), free_port()
        for settings in EXPORTERS.values():  # the exporter opens its file, not its folder
            path = str(settings["path"])
            if "*" not in path:
                (self.workdir / path).parent.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        overrides = [
            f"yaml:receivers::otlp::protocols::http::endpoint: {LOOPBACK}:{self.http_port}",
            f"yaml:extensions::health_check::endpoint: {LOOPBACK}:{self.health_port}",
            "yaml:service::extensions: [health_check]",
            "yaml:service::telemetry::metrics::level: none",
            "yaml:service::pipelines::traces::receivers: [otlp]",
            f"yaml:service::pipelines::traces::exporters: [{', '.join(EXPORTERS)}]",
        ]
        for name, settings in EXPORTERS.items():
            for key, value in _flat(settings):
                overrides.append(f"yaml:exporters::{name}::{key}: {value}")
        return [str(self.binary), *(f"--config={config}" for config in overrides)]

    @property
    def health_url(self) -> str:
        return f"http://{LOOPBACK}:{self.health_port}/"


def _flat(settings: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            found += _flat(value, f"{prefix}{key}::")
        else:
            found.append(
                (f"{prefix}{key}", str(value).lower() if isinstance(value, bool) else value)
            )
    return found


async def test_what_the_file_exporter_writes_derives_to_the_run(
    llm: ScriptedLLMServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary = require_binary(OTELCOL_BIN)
    collector = FileCollector(binary, tmp_path / "otelcol")
    collector.start()
    pid = collector.pid
    try:
        telemetry = Telemetry(
            otlp_endpoint=f"http://{LOOPBACK}:{collector.http_port}",
            protocol="http/protobuf",
            service_name="file-tier",
        )
        try:
            trace_id = await run_demo(telemetry, llm)
            expected = expected_run(telemetry, trace_id)
        finally:
            telemetry.shutdown()
        assert telemetry.export_errors() == {}
    finally:
        collector.stop()  # by pid; the exporters flush and close their files
    assert not Path(f"/proc/{pid}").exists()

    out = collector.workdir / "out"
    files = {
        name: collector.workdir / str(settings["path"])
        for name, settings in EXPORTERS.items()
        if "*" not in str(settings["path"])
    }
    for name, path in files.items():
        assert path.stat().st_size > 0, name
        got = derive(load_spans(path), trace_id).to_dict()
        assert_same_run(expected, got, path=name)
    assert (out / "json_zstd/spans.json.zst").read_bytes()[4:8] == b"\x28\xb5\x2f\xfd"
    grouped = out / "grouped"
    assert [p.relative_to(grouped).as_posix() for p in FileSource(str(grouped)).files] == [
        "file-tier/spans.json"
    ]
    (listed,) = list_runs(out / "proto_zstd")
    assert (listed.trace_id, listed.agents, listed.status) == (
        trace_id,
        ("researcher", "writer"),
        "ok",
    )
    # The whole folder: the run in each of the five outputs, joined as one trace.
    (whole,) = list_runs(out, details=False)
    assert (whole.trace_id, whole.spans) == (trace_id, 5 * len(load_spans(files["file/json"])))

    # Killed mid-write: the protobuf file cut inside its last message.
    data = (out / "proto/spans.pb").read_bytes()
    first = int.from_bytes(data[:4], "big")
    cut = tmp_path / "cut.pb"
    cut.write_bytes(data + data[: 4 + first // 2])  # then a message cut halfway
    with caplog.at_level(logging.WARNING, "otel_bridge.sources"):
        assert_same_run(expected, derive(load_spans(cut), trace_id).to_dict())
    assert f"{cut}: skipped 1 truncated message" in caplog.text
