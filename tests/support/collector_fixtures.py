"""Helpers and fixtures for the collector and span-source tests.

- ``run_demo``: the researcher -> writer AgentWorkflow against the scripted LLM, traced by a
  Telemetry (real LlamaIndex, real OpenAI client, real OTel SDK exporters); ``export_demo``:
  the same, then the Telemetry shut down, every span exported.
- ``assert_same_run``: two RunTrace dicts equal, optionally within a time tolerance (for sources
  that keep microseconds only).
- ``ServedApp``: a Starlette app on 127.0.0.1, started and stopped by the test.
- ``serve_collector``: ``otel-bridge collector serve`` in a child process (stop it by its pid).

Fuzz inputs are in ``fuzz_strategies``, crash rounds in ``crash_rounds``, fake Jaeger answers in
``jaeger_answers``.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

import pytest

from otel_bridge import Telemetry
from otel_bridge._threaded_server import ThreadedServer, tcp_socket
from otel_bridge.collector import Collector, SpanStore
from otel_bridge.scripted import ScriptedLLMServer, demo_script
from support import scenarios
from support.phoenix_server import LOOPBACK

# ---- a real run --------------------------------------------------------------------------------


async def run_demo(telemetry: Telemetry, llm: ScriptedLLMServer, name: str = "demo-run") -> str:
    """One researcher -> writer run inside a root span of ours; its trace id (hex)."""
    run = scenarios.handoff(llm)
    with telemetry.start_run(name) as root:
        answer = await run()
    assert str(answer) == demo_script().answer
    return f"{root.get_span_context().trace_id:032x}"


async def export_demo(telemetry: Telemetry, llm: ScriptedLLMServer) -> str:
    """``run_demo``, then the Telemetry shut down (which flushes every exporter) with no export
    error; the run's trace id."""
    try:
        trace_id = await run_demo(telemetry, llm)
    finally:
        telemetry.shutdown()
    assert telemetry.export_errors() == {}
    return trace_id


def expected_run(telemetry: Telemetry, trace_id: str) -> dict[str, Any]:
    """The in-memory RunTrace of a run, without export issues (sources never have those)."""
    data = cast(dict[str, Any], telemetry.run_trace(trace_id).to_dict())
    data["issues"] = [i for i in data["issues"] if i != "export_failed"]
    return data


# ---- comparing runs ----------------------------------------------------------------------------


def assert_same_run(expected: Any, got: Any, time_tolerance_s: float = 0.0, path: str = "") -> None:
    """Equal RunTrace dicts; times and durations may differ by ``time_tolerance_s``."""
    where = path or "run"
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{where}: {got!r}"
        assert expected.keys() == got.keys(), f"{where}: keys {expected.keys() ^ got.keys()}"
        for key in expected:
            assert_same_run(expected[key], got[key], time_tolerance_s, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got!r}"
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            assert_same_run(a, b, time_tolerance_s, f"{where}[{i}]")
    elif time_tolerance_s and isinstance(expected, float) and isinstance(got, float):
        assert math.isclose(expected, got, abs_tol=time_tolerance_s), f"{where}: {expected} {got}"
    elif time_tolerance_s and isinstance(expected, str) and _is_time(expected):
        delta = abs((_time(expected) - _time(got)).total_seconds())
        assert delta <= time_tolerance_s, f"{where}: {expected} vs {got}"
    else:
        assert expected == got, f"{where}: {expected!r} != {got!r}"


def _is_time(text: str) -> bool:
    return len(text) >= 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- serving a small app -----------------------------------------------------------------------


class ServedApp:
    """An ASGI app on 127.0.0.1 (free port) in a thread; stopped by its own handle."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._server: ThreadedServer | None = None

    def __enter__(self) -> ServedApp:
        self._server = ThreadedServer(self.app, tcp_socket(LOOPBACK, 0), "test-app").start()
        return self

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self.port}"

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.stop()


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector on free loopback ports with its own database, stopped after the test."""
    with Collector(tmp_path / "spans.db") as running:
        yield running


def serve_collector(
    db: Path, *args: str, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[str], str, int]:
    """``otel-bridge collector serve`` in a child process: it, its HTTP URL and gRPC port.

    The caller stops it by its pid (``os.kill(process.pid, ...)``) and closes its stderr.
    """
    process, said = start_collector(db, *args, preexec_fn=preexec_fn)
    return process, said["OTLP/HTTP, query API"], int(said["OTLP/gRPC"].rpartition(":")[2])


def start_collector(
    db: Path, *args: str, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``otel-bridge collector serve`` on loopback ports it picks, and what it said once ready
    (``ready_block``); raises AssertionError with its output when it did not start."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "otel_bridge.cli", "collector", "serve", "--db", str(db),
            "--http-port", "0", "--grpc-port", "0", *args,
        ],
        stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=preexec_fn,
    )  # fmt: skip
    assert process.stderr is not None
    said = ready_block(process.stderr)
    http, grpc = said.get("OTLP/HTTP, query API", ""), said.get("OTLP/gRPC", "")
    loopback = re.compile(r"http://127\.0\.0\.1:\d+")
    if not loopback.fullmatch(http) or not loopback.fullmatch(grpc):
        process.kill()
        process.wait(10)
        rest = process.stderr.read()
        process.stderr.close()
        raise AssertionError(f"the collector did not start: {said}{rest}")
    return process, said


def ready_block(stream: IO[str]) -> dict[str, str]:
    """What ``collector serve`` says once it is ready: its first line (under ``"ready"``) and
    each aligned ``label  value`` line after it, up to the Web UI's."""
    first = stream.readline()
    said = {"ready": first.rstrip("\n")}
    if not first.startswith("otel-bridge collector ready"):
        return said
    while line := stream.readline():
        label, _, value = line.strip().partition("  ")
        said[label] = value.strip()
        if label == "Web UI":
            break
    return said


def store_with_writer(path: Path) -> tuple[SpanStore, threading.Thread]:
    """A SpanStore on ``path`` and the writer thread it started."""
    before = set(threading.enumerate())
    store = SpanStore(path)
    (writer,) = [t for t in set(threading.enumerate()) - before if t.name == "otel-bridge-writer"]
    return store, writer
