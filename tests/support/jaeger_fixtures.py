"""A real Jaeger v2 for tests: ``build/bin/jaeger`` on free 127.0.0.1 ports, stopped by its pid.

``build/bin/jaeger`` comes from ``bash .ci/build-binaries`` (Jaeger v2.13.0 built from its Go
module, see collector/BINARIES.md) and runs ``collector/jaeger-config.yaml``: in-memory storage,
OTLP/gRPC and OTLP/HTTP receivers, the query service (API v3 and the legacy JSON API) and a
health check, every listener on 127.0.0.1 at a port chosen here.

Import the fixture into a test module (``from jaeger_fixtures import jaeger``). Without the
binary the tests are skipped with the build command; in CI (``CI`` set) they fail instead.

``python tests/support/jaeger_fixtures.py record`` re-records ``tests/data/jaeger/`` from a real
Jaeger: the researcher -> writer handoff run as API v3 and legacy JSON, and Jaeger's answers to a
search, a service list and an unknown trace (``test_jaeger_recorded.py`` reads them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from otel_bridge.spans import SpanEvent, SpanRecord
from support.phoenix_server import LOOPBACK, free_port, listening_sockets

REPO_ROOT = Path(__file__).resolve().parents[2]
JAEGER_BIN = REPO_ROOT / "build" / "bin" / "jaeger"
JAEGER_CONFIG = REPO_ROOT / "collector" / "jaeger-config.yaml"
RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "jaeger"
BUILD_HINT = "build it with `bash .ci/build-binaries` (Go >= 1.26 and the Go module proxy)"
PORT_VARIABLES = (
    "JAEGER_OTLP_GRPC_PORT",
    "JAEGER_OTLP_HTTP_PORT",
    "JAEGER_QUERY_HTTP_PORT",
    "JAEGER_QUERY_GRPC_PORT",
    "JAEGER_HEALTH_PORT",
)


def require_binary(path: Path) -> Path:
    """``path`` if it is an executable; otherwise skip the test (fail it in CI)."""
    if path.is_file() and os.access(path, os.X_OK):
        return path
    message = f"{path.relative_to(REPO_ROOT)} is missing: {BUILD_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI builds the binaries: a missing one is a CI bug
    pytest.skip(message)


class ServiceProcess:
    """A server program in its own process group, ready once ``health_url`` answers 200."""

    name = "server"

    def __init__(self, workdir: Path, startup_timeout_s: float = 30.0) -> None:
        self.workdir = Path(workdir)
        self.log_path = self.workdir / f"{self.name}.log"
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The program and its arguments."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """Ours without OTEL_* (the programs must not trace themselves into a test's receiver)."""
        return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}

    @property
    def health_url(self) -> str:
        """A URL that answers 200 once every listener is up."""
        raise NotImplementedError

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def start(self) -> None:
        """Start the program and wait until it is healthy (its log tail if it is not)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy(time.monotonic() + self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, deadline: float) -> None:
        assert self._process is not None
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self._process.returncode}\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.health_url).status_code == 200:
                        return
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy in time\n{self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM by pid, wait, SIGKILL if needed."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the program's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def listening_sockets(self) -> list[tuple[str, int]]:
        """(host, port) of every TCP socket the program listens on."""
        return listening_sockets(self.pid)

    def __enter__(self) -> ServiceProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class JaegerServer(ServiceProcess):
    """``jaeger --config collector/jaeger-config.yaml`` with every port free and on loopback."""

    name = "jaeger"

    def __init__(self, binary: Path, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.ports = {variable: free_port() for variable in PORT_VARIABLES}

    def command(self) -> list[str]:
        """The binary with the repository's Jaeger config."""
        return [str(self.binary), "--config", str(JAEGER_CONFIG)]

    def environment(self) -> dict[str, str]:
        """The ports, and logs at warn: a test reads the log only when Jaeger fails."""
        env = super().environment()
        env.update({variable: str(port) for variable, port in self.ports.items()})
        env["JAEGER_LOG_LEVEL"] = "warn"
        return env

    @property
    def health_url(self) -> str:
        """healthcheckv2's status page."""
        return f"http://{LOOPBACK}:{self.ports['JAEGER_HEALTH_PORT']}/status"

    @property
    def query_url(self) -> str:
        """The query service (APIs and the UI's place), e.g. ``http://127.0.0.1:16686``."""
        return f"http://{LOOPBACK}:{self.ports['JAEGER_QUERY_HTTP_PORT']}"

    @property
    def otlp_http_endpoint(self) -> str:
        """OTLP/HTTP base URL (the exporter appends /v1/traces)."""
        return f"http://{LOOPBACK}:{self.ports['JAEGER_OTLP_HTTP_PORT']}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint."""
        return f"http://{LOOPBACK}:{self.ports['JAEGER_OTLP_GRPC_PORT']}"

    @property
    def otlp_grpc_address(self) -> str:
        """``127.0.0.1:PORT`` of the OTLP/gRPC receiver (a collector exporter's endpoint)."""
        return f"{LOOPBACK}:{self.ports['JAEGER_OTLP_GRPC_PORT']}"

    def wait_for_trace(self, trace_id: str, spans: int, timeout_s: float = 20.0) -> None:
        """Poll API v3 until Jaeger holds ``spans`` spans of the trace (it stores in batches)."""
        url = f"{self.query_url}/api/v3/traces/{trace_id}"
        deadline = time.monotonic() + timeout_s
        seen = 0
        with httpx.Client(timeout=5.0) as client:
            while True:
                answer = client.get(url)
                if answer.status_code == 200:
                    seen = answer.text.count('"spanId"')
                    if seen >= spans:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url}: {seen} span(s) after {timeout_s:.0f} s")
                time.sleep(0.05)


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JaegerServer]:
    """One real Jaeger per test module (loopback only), stopped by its pid."""
    server = JaegerServer(require_binary(JAEGER_BIN), tmp_path_factory.mktemp("jaeger"))
    server.start()
    pid = server.pid
    yield server
    server.stop()
    assert not Path(f"/proc/{pid}").exists(), f"Jaeger pid {pid} still running after stop()"


# ---- what Jaeger keeps -------------------------------------------------------------------------


def as_jaeger_legacy_serves(spans: Sequence[SpanRecord]) -> list[SpanRecord]:
    """The spans with their times as Jaeger's legacy JSON gives them back.

    The legacy model has a start and a duration in whole microseconds, each cut on its own
    (``startTime = start_ns // 1000``, ``duration = (end_ns - start_ns) // 1000``), so the end
    read back is not always the end cut to microseconds. API v3 keeps nanoseconds.
    """

    def micro(ns: int) -> int:
        return ns // 1000 * 1000

    return [
        dataclasses.replace(
            s,
            start_ns=micro(s.start_ns),
            end_ns=micro(s.start_ns) + micro(s.end_ns - s.start_ns),
            events=tuple(SpanEvent(e.name, micro(e.time_ns), e.attributes) for e in s.events),
        )
        for s in spans
    ]


# ---- recording ---------------------------------------------------------------------------------


def record(out_dir: Path = RECORDINGS) -> None:
    """Record Jaeger's answers about one demo handoff run into ``out_dir``."""
    from otel_bridge import Telemetry
    from otel_bridge.scripted import ScriptedLLMServer
    from support.collector_fixtures import run_demo

    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        JaegerServer(require_binary(JAEGER_BIN), out_dir / ".jaeger-run") as server,
        ScriptedLLMServer() as llm,
    ):
        assert isinstance(server, JaegerServer)
        telemetry = Telemetry(otlp_endpoint=server.otlp_http_endpoint, service_name="recorded")
        try:
            trace_id = asyncio.run(run_demo(telemetry, llm, name="recorded-run"))
            telemetry.force_flush()
            spans = len(telemetry.spans(trace_id))
        finally:
            telemetry.shutdown()
        server.wait_for_trace(trace_id, spans)
        base = server.query_url
        unknown = "0" * 31 + "1"
        answers = {
            "handoff-v3.json": f"/api/v3/traces/{trace_id}",
            "handoff-legacy.json": f"/api/traces/{trace_id}",
            "services.json": "/api/services",
            "search.json": "/api/traces?service=recorded&limit=20&lookback=1h",
            "unknown-v3.json": f"/api/v3/traces/{unknown}",
            "unknown-legacy.json": f"/api/traces/{unknown}",
        }
        status = {}
        with httpx.Client(timeout=10.0) as client:
            for name, path in answers.items():
                answer = client.get(base + path)
                status[name] = {"path": path, "status": answer.status_code}
                (out_dir / name).write_text(answer.text)  # as served, byte for byte
        index = {"trace_id": trace_id, "spans": spans, "answers": status}
        (out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    for leftover in (out_dir / ".jaeger-run").glob("*"):
        leftover.unlink()
    (out_dir / ".jaeger-run").rmdir()


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit(f"usage: {sys.argv[0]} record")
    record()
