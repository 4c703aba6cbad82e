"""Every public entry point raises only the tree of ``otel_bridge.errors``.

Each entry point is called with what it refuses and the error's class is checked; the walk at the
end keeps new code from raising a bare ``ValueError``/``TypeError``/``RuntimeError`` or
defining an exception outside the tree.
"""

from __future__ import annotations

import ast
import builtins
import gzip
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_bridge
from otel_bridge.collector import Collector, SpanStore
from otel_bridge.collector._ingest import GzipReader
from otel_bridge.collector._runs import RunLimits, check_span_count
from otel_bridge.conventions import MAX_JSON_DEPTH, parse_json
from otel_bridge.errors import (
    BadParameter,
    BodyTooLarge,
    ConfigError,
    JsonTooDeep,
    RunTooLarge,
    ServerError,
    SpanFormatError,
)
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.telemetry import SpanCapture, Telemetry, TelemetryConfig, from_readable_span
from otel_bridge.telemetry._export_view import export_plan
from otel_bridge.telemetry._trace_buffer import EnrichingExporter

PACKAGE = Path(otel_bridge.__file__).parent


def test_capture_limits_and_a_span_without_context() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        SpanCapture(max_traces=0)
    with pytest.raises(ConfigError, match="at least 1"):
        SpanCapture(max_spans_per_trace=0)
    with pytest.raises(SpanFormatError, match="'orphan' has no context"):
        from_readable_span(ReadableSpan(name="orphan", context=None))


@pytest.mark.parametrize("semconv", ["otel", "GENAI", "", None])
def test_semconv_is_checked_alike_everywhere(semconv: object) -> None:
    expected = f"unsupported semconv {semconv!r}; use one of openinference, genai, both"
    with pytest.raises(ConfigError) as config:
        TelemetryConfig(semconv=semconv)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as telemetry:
        Telemetry(semconv=semconv)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as buffer:
        EnrichingExporter(InMemorySpanExporter(), semconv=semconv, timer=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as plan:
        export_plan([], semconv=semconv)  # type: ignore[arg-type]
    assert {str(e.value) for e in (config, telemetry, buffer, plan)} == {expected}


def test_trace_buffer_limits() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        EnrichingExporter(InMemorySpanExporter(), max_traces=0, timer=False)
    with pytest.raises(ConfigError, match="at least 1"):
        EnrichingExporter(InMemorySpanExporter(), max_spans=0, timer=False)


def test_adapter_refuses_what_it_cannot_run() -> None:
    telemetry = Telemetry()
    try:
        with pytest.raises(ConfigError, match="workflow agent"):
            LlamaIndexAgentAdapter(object(), "nothing", telemetry)
    finally:
        telemetry.shutdown()


def test_collector_used_out_of_turn(tmp_path: Path) -> None:
    collector = Collector(tmp_path / "spans.db", grpc_port=None)
    with pytest.raises(ServerError, match="HTTP receiver is not running"):
        _ = collector.http_url
    with collector:
        with pytest.raises(ServerError, match="already running"):
            collector.start()
        with pytest.raises(ServerError, match="gRPC receiver is not running"):
            _ = collector.grpc_endpoint
    assert isinstance(ServerError("x"), RuntimeError)  # ``except RuntimeError`` still works


def test_scripted_server_used_out_of_turn() -> None:
    server = ScriptedLLMServer([])
    with pytest.raises(ServerError, match="not started"):
        _ = server.base_url
    with server, pytest.raises(ServerError, match="already running"):
        server.start()


def test_collector_request_errors(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.db")
    try:
        with pytest.raises(BadParameter, match="invalid cursor"):
            store.list_traces(cursor="not-a-cursor")
    finally:
        store.close()
    with pytest.raises(RunTooLarge, match="has 11 spans"):
        check_span_count("ab" * 16, 11, RunLimits(max_spans=10, max_depth=10))
    reader = GzipReader(limit=10)
    with pytest.raises(BodyTooLarge, match="more than 10 bytes"):
        reader.feed(gzip.compress(b"x" * 11))


def test_json_too_deep_is_a_span_format_error() -> None:
    with pytest.raises(JsonTooDeep):
        parse_json("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(SpanFormatError, match="not JSON"):
        parse_json("{")
    with pytest.raises(SpanFormatError, match="NaN is not JSON"):
        parse_json("[NaN]")


# ---- the walk ----------------------------------------------------------------------------------

# Builtin exceptions a module may still raise, each for a protocol it implements: a Mapping's
# missing key, a module's missing attribute, an abstract method, and the operating system's
# own errors (a port taken), which pass through as they are (errors.py says so).
PROTOCOL_RAISES = {"KeyError", "AttributeError", "NotImplementedError", "OSError"}
# ... and where one module implements a protocol of its own: span attributes refuse changes as
# every read-only Python mapping does, and ``direct_init`` a class that is not a slotted
# dataclass as ``dataclass`` refuses what it cannot make (``TypeError``, when a module is
# imported).
PROTOCOL_RAISES_IN = {("spans.py", "TypeError"), ("_frozen.py", "TypeError")}
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _raised_name(node: ast.Raise) -> str | None:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return exc.id if isinstance(exc, ast.Name) else None


def test_no_builtin_exception_raised_and_no_exception_outside_the_tree() -> None:
    raised: list[str] = []
    defined: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Raise):
                name = _raised_name(node)
                allowed = name in PROTOCOL_RAISES or (where, name) in PROTOCOL_RAISES_IN
                if name in BUILTIN_EXCEPTIONS and not allowed:
                    raised.append(f"{where}:{node.lineno} raise {name}")
            elif isinstance(node, ast.ClassDef) and where != "errors.py":
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & BUILTIN_EXCEPTIONS or any(b.endswith("Error") for b in bases):
                    defined.append(f"{where}:{node.lineno} class {node.name}")
    assert raised == []
    assert defined == []
