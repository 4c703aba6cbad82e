"""Helpers and fixtures for the collector and span-source tests.

- ``run_demo``: the researcher -> writer AgentWorkflow against the scripted LLM, traced by a
  Telemetry (real LlamaIndex, real OpenAI client, real OTel SDK exporters).
- ``assert_same_run``: two RunTrace dicts equal, optionally within a time tolerance (for sources
  that keep microseconds only).
- ``jaeger_legacy_body`` / ``jaeger_v3_body``: what a Jaeger query service would answer for the
  given spans (legacy model built the way the OpenTelemetry Collector's translator does).
- ``ServedApp``: a Starlette app on 127.0.0.1, started and stopped by the test.
- ``serve_collector``: ``otel-bridge collector serve`` in a child process (stop it by its pid).
- fuzz inputs (hypothesis strategies) and ``crash_round`` (kill -9 under load, restart, count),
  shared with the commands in ``stress/``.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import grpc
import httpx
import pytest
import scenarios
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from otel_bridge import SpanRecord, Telemetry
from otel_bridge._threaded_server import ThreadedServer, tcp_socket
from otel_bridge.collector import Collector
from otel_bridge.otlp import decode_request_json, request_to_json, to_request
from otel_bridge.scripted import ScriptedLLMServer, demo_script

LOOPBACK = "127.0.0.1"


# ---- a real run --------------------------------------------------------------------------------


async def run_demo(telemetry: Telemetry, llm: ScriptedLLMServer, name: str = "demo-run") -> str:
    """One researcher -> writer run inside a root span of ours; its trace id (hex)."""
    run = scenarios.handoff(llm)
    with telemetry.start_run(name) as root:
        answer = await run()
    assert str(answer) == demo_script().answer
    return f"{root.get_span_context().trace_id:032x}"


def expected_run(telemetry: Telemetry, trace_id: str) -> dict[str, Any]:
    """The in-memory RunTrace of a run, without export issues (sources never have those)."""
    data = telemetry.run_trace(trace_id).to_dict()
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


# ---- fake Jaeger answers -----------------------------------------------------------------------


def jaeger_v3_body(spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """``GET /api/v3/traces/{id}``: OTLP/JSON in a ``result`` wrapper."""
    return {"result": request_to_json(to_request(spans))}


def jaeger_legacy_body(spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """``GET /api/traces/{id}``: Jaeger's JSON model, as Jaeger converts OTLP spans to it."""
    processes: dict[str, dict[str, Any]] = {}
    process_ids: dict[str, str] = {}
    out = []
    for span in spans:
        resource = dict(span.resource)
        key = json.dumps(sorted(resource.items()), default=list)
        pid = process_ids.setdefault(key, f"p{len(process_ids) + 1}")
        service = resource.pop("service.name", "OTLPResourceNoServiceName")
        processes[pid] = {"serviceName": service, "tags": [_tag(k, v) for k, v in resource.items()]}
        tags = [_tag("otel.scope.name", span.scope)] if span.scope else []
        tags += [_tag(k, v) for k, v in span.attributes.items()]
        if span.kind != "UNSPECIFIED":
            tags.append(_tag("span.kind", span.kind.lower()))
        if span.status != "UNSET":
            tags.append(_tag("otel.status_code", span.status))
        if span.status == "ERROR":
            tags.append(_tag("error", True))
        if span.status_message:
            tags.append(_tag("otel.status_description", span.status_message))
        references = []
        if span.parent_id is not None:
            references.append(
                {
                    "refType": "CHILD_OF",
                    "traceID": _jaeger_trace_id(span.trace_id),
                    "spanID": span.parent_id_hex,
                }
            )
        out.append(
            {
                "traceID": _jaeger_trace_id(span.trace_id),
                "spanID": span.span_id_hex,
                "flags": 1,
                "operationName": span.name,
                "references": references,
                "startTime": span.start_ns // 1000,
                "duration": (span.end_ns - span.start_ns) // 1000,
                "tags": tags,
                "logs": [
                    {
                        "timestamp": event.time_ns // 1000,
                        "fields": [_tag("event", event.name)]
                        + [_tag(k, v) for k, v in event.attributes.items()],
                    }
                    for event in span.events
                ],
                "processID": pid,
                "warnings": None,
            }
        )
    trace_id = _jaeger_trace_id(spans[0].trace_id)
    trace = {"traceID": trace_id, "spans": out, "processes": processes, "warnings": None}
    return {"data": [trace], "total": 0, "limit": 0, "offset": 0, "errors": None}


def _jaeger_trace_id(trace_id: int) -> str:
    """Jaeger's TraceID.String(): the high half without padding, or only the low half."""
    high, low = trace_id >> 64, trace_id & (2**64 - 1)
    return f"{high:x}{low:016x}" if high else f"{low:016x}"


def _tag(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, tuple | list):
        return {"key": key, "type": "string", "value": json.dumps(list(value))}
    return {"key": key, "type": "string", "value": str(value)}


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


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


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
    process = subprocess.Popen(
        [
            sys.executable, "-m", "otel_bridge.cli", "collector", "serve", "--db", str(db),
            "--http-port", "0", "--grpc-port", "0", *args,
        ],
        stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=preexec_fn,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(
        r"OTLP/HTTP \+ query API (http://127\.0\.0\.1:\d+), OTLP/gRPC http://127\.0\.0\.1:(\d+)",
        line,
    )
    if match is None:
        process.kill()
        process.wait(10)
        rest = process.stderr.read()
        process.stderr.close()
        raise AssertionError(f"the collector did not start: {line}{rest}")
    return process, match.group(1), int(match.group(2))


# ---- fuzz inputs (hypothesis strategies) -------------------------------------------------------
#
# What a hostile or broken producer can send: OTLP-shaped JSON whose every field may hold any
# JSON value (text with lone surrogates included), protobuf requests with random content,
# mutated, cut or replaced by noise, either one gzipped or not, under any content type.

SENTINEL_TRACE = 0x5E17_1E15_0000_0000_0000_0000_0000_0001
"""A trace the strategies never generate: stored before fuzzing, checked after."""

_TEXT = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from('{}[]":,\\')),
    max_size=40,
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)
_HEX_ID = st.one_of(
    st.text("0123456789abcdef", min_size=0, max_size=34), st.sampled_from(["0" * 32, "0" * 16])
)
_ANY_VALUE = st.one_of(
    st.fixed_dictionaries({}, optional={"stringValue": _JSON}),
    st.fixed_dictionaries(
        {},
        optional={
            "intValue": st.one_of(st.integers().map(str), _JSON),
            "doubleValue": _JSON,
            "boolValue": _JSON,
            "bytesValue": _JSON,
            "arrayValue": st.fixed_dictionaries({"values": st.lists(_JSON, max_size=3)}),
            "kvlistValue": _JSON,
        },
    ),
    _JSON,
)
_KEY_VALUES = st.one_of(
    st.lists(st.fixed_dictionaries({"key": _TEXT, "value": _ANY_VALUE}), max_size=4), _JSON
)
_NANOS = st.one_of(st.integers(min_value=0, max_value=2**64 + 5).map(str), _JSON)
_SPAN = st.fixed_dictionaries(
    {"traceId": st.one_of(_HEX_ID, _HEX_ID, _JSON), "spanId": _HEX_ID},
    optional={
        "parentSpanId": st.one_of(_HEX_ID, _JSON),
        "name": _JSON,
        "kind": st.one_of(st.integers(-2, 9), st.sampled_from(["SPAN_KIND_SERVER"]), _JSON),
        "startTimeUnixNano": _NANOS,
        "endTimeUnixNano": _NANOS,
        "attributes": _KEY_VALUES,
        "events": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"name": _JSON, "timeUnixNano": _NANOS, "attributes": _KEY_VALUES}
                ),
                max_size=2,
            ),
            _JSON,
        ),
        "links": st.one_of(
            st.lists(st.fixed_dictionaries({"traceId": _HEX_ID}), max_size=2), _JSON
        ),
        "status": st.one_of(
            st.fixed_dictionaries({}, optional={"code": _JSON, "message": _JSON}), _JSON
        ),
        "droppedAttributesCount": _JSON,
        "flags": _JSON,
    },
)
_OTLP_JSON = st.one_of(
    st.fixed_dictionaries(
        {
            "resourceSpans": st.lists(
                st.fixed_dictionaries(
                    {
                        "scopeSpans": st.lists(
                            st.fixed_dictionaries(
                                {"spans": st.lists(_SPAN, max_size=3)},
                                optional={"scope": _JSON, "schemaUrl": _JSON},
                            ),
                            max_size=2,
                        )
                    },
                    optional={
                        "resource": st.fixed_dictionaries({"attributes": _KEY_VALUES}),
                        "schemaUrl": _JSON,
                    },
                ),
                max_size=2,
            )
        },
        optional={"unknownField": _JSON},
    ),
    _JSON,
)


def _mutate(data: st.DataObject, body: bytes) -> bytes:
    """The body as is, cut short, with bytes overwritten, or with noise inserted."""
    how = data.draw(st.sampled_from(["same", "same", "cut", "flip", "insert"]))
    if how == "same" or not body:
        return body
    at = data.draw(st.integers(0, len(body) - 1))
    if how == "cut":
        return body[:at]
    noise = data.draw(st.binary(min_size=1, max_size=8))
    if how == "flip":
        return body[:at] + noise + body[at + len(noise) :]
    return body[:at] + noise + body[at:]


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """OTLP/JSON-shaped bodies with arbitrary values, sometimes mutated."""
    body = json.dumps(draw(_OTLP_JSON)).encode()  # ASCII: a lone surrogate is an escape
    return _mutate(draw(st.data()), body)


_RECORD = st.builds(
    SpanRecord,
    trace_id=st.integers(1, 2**100),
    span_id=st.integers(1, 2**64 - 1),
    parent_id=st.one_of(st.none(), st.integers(1, 2**64 - 1)),
    name=st.text(max_size=20),
    start_ns=st.integers(0, 2**64 - 1),
    end_ns=st.integers(0, 2**64 - 1),
    kind=st.sampled_from(["INTERNAL", "SERVER", "CLIENT"]),
    status=st.sampled_from(["UNSET", "OK", "ERROR"]),
    attributes=st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.text(max_size=20), st.integers(-(2**63), 2**63 - 1), st.floats()),
        max_size=4,
    ),
)


@st.composite
def protobuf_bodies(draw: st.DrawFn) -> bytes:
    """OTLP protobuf requests with random spans, mutated, or plain noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    body = to_request(draw(st.lists(_RECORD, max_size=4))).SerializeToString()
    return _mutate(draw(st.data()), body)


_CONTENT_TYPES = st.sampled_from(
    ["application/x-protobuf", "application/json", "application/json; charset=utf-8",
     "application/protobuf", "text/plain", ""]
)  # fmt: skip


@st.composite
def http_exports(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A body and the headers of an OTLP/HTTP export: any body under any content type."""
    body = draw(st.one_of(json_bodies(), protobuf_bodies()))
    headers = {"content-type": draw(_CONTENT_TYPES)}
    encoding = draw(st.sampled_from(["", "", "gzip", "gzip", "br", "identity"]))
    if encoding:
        headers["content-encoding"] = encoding
    if encoding == "gzip" and draw(st.booleans()):
        body = _mutate(draw(st.data()), gzip.compress(body))
    return body, headers


_PATH_PART = st.text(max_size=40).map(lambda text: quote(text, safe=""))
query_requests = st.tuples(
    st.one_of(
        st.builds(lambda t: f"/api/traces/{t}", _PATH_PART),
        st.builds(lambda t: f"/api/traces/{t}/spans", _PATH_PART),
        st.builds(lambda t: f"/api/traces/{t}/run", _PATH_PART),
        st.just("/api/traces"),
        st.just(f"/api/traces/{SENTINEL_TRACE:032x}/run"),
    ),
    st.dictionaries(
        st.sampled_from(["limit", "cursor", "start", "end", "status", "service"]),
        st.text(max_size=30),
        max_size=4,
    ),
)
"""A query API path and its parameters."""


def grpc_code_is_a_client_answer(code: grpc.StatusCode) -> bool:
    """The gRPC codes the collector may answer a client's input with (never a server fault)."""
    return code in (
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAUTHENTICATED,
    )


# ---- crash rounds: kill -9 while exports are in flight, restart, count ------------------------


@dataclass
class CrashRound:
    """What one round of ``crash_round`` sent, had acknowledged, and found after the restart."""

    sent: dict[int, int] = field(default_factory=dict)  # trace id -> spans, every request tried
    acked: set[int] = field(default_factory=set)  # trace ids of acknowledged requests
    in_flight: int = 0  # requests sent and never answered (the kill came first)
    lost: int = 0  # acknowledged spans missing after the restart
    duplicated: int = 0  # spans stored more than once
    resent_exactly_once: bool = False  # after re-sending every request: each span once

    @property
    def acked_spans(self) -> int:
        """Spans of the acknowledged requests."""
        return sum(self.sent[t] for t in self.acked)


def _stored_span_ids(client: httpx.Client, url: str, trace_id: int) -> list[bytes]:
    answer = client.get(f"{url}/api/traces/{trace_id:032x}/spans")
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    request = decode_request_json(answer.content)
    return [s.span_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def crash_round(
    db: Path, round_no: int, *, clients: int = 4, kill_after_acks: int = 40, spans: int = 10
) -> CrashRound:
    """Exporters over HTTP and gRPC at once; SIGKILL the collector once ``kill_after_acks``
    requests are acknowledged (others in flight); restart it on the same database; count
    acknowledged spans lost or duplicated; re-send everything and check each span is stored
    exactly once.
    """
    result = CrashRound()
    lock = threading.Lock()
    killed = threading.Event()
    process, url, grpc_port = serve_collector(db)

    def requests(client_no: int) -> Iterator[tuple[int, ExportTraceServiceRequest]]:
        for i in range(1, 1_000_000):
            trace_id = (round_no << 40) | (client_no << 24) | i
            records = [
                SpanRecord(trace_id, n, n - 1 or None, f"span-{n}", 1_000 + n, 9_000 - n)
                for n in range(1, spans + 1)
            ]
            yield trace_id, to_request(records)

    def export(client_no: int) -> None:
        http = httpx.Client(timeout=30) if client_no % 2 == 0 else None
        channel = grpc.insecure_channel(f"{LOOPBACK}:{grpc_port}") if http is None else None
        try:
            for trace_id, request in requests(client_no):
                if killed.is_set():
                    return
                with lock:
                    result.sent[trace_id] = spans
                try:
                    if http is not None:
                        answer = http.post(
                            f"{url}/v1/traces",
                            content=request.SerializeToString(),
                            headers={"content-type": "application/x-protobuf"},
                        )
                        ok = answer.status_code == 200
                    else:
                        assert channel is not None
                        TraceServiceStub(channel).Export(request, timeout=30)
                        ok = True
                except (httpx.HTTPError, grpc.RpcError):
                    ok = False
                with lock:
                    if ok:
                        result.acked.add(trace_id)
                    else:
                        result.in_flight += 1
                if not ok:
                    return
        finally:
            if http is not None:
                http.close()
            if channel is not None:
                channel.close()

    threads = [threading.Thread(target=export, args=(n,)) for n in range(clients)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(result.acked) < kill_after_acks and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(process.pid, signal.SIGKILL)
        killed.set()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
        for thread in threads:
            thread.join(60)

    process, url, _ = serve_collector(db)  # the restart replays the WAL
    try:
        with httpx.Client(timeout=60) as client:
            for trace_id in result.acked:
                stored = _stored_span_ids(client, url, trace_id)
                result.lost += spans - len(set(stored))
                result.duplicated += len(stored) - len(set(stored))
            for trace_id in result.sent:  # an exporter retrying what it never saw acknowledged
                records = [
                    SpanRecord(trace_id, n, n - 1 or None, f"span-{n}", 1_000 + n, 9_000 - n)
                    for n in range(1, spans + 1)
                ]
                answer = client.post(
                    f"{url}/v1/traces",
                    content=to_request(records).SerializeToString(),
                    headers={"content-type": "application/x-protobuf"},
                )
                answer.raise_for_status()
            result.resent_exactly_once = all(
                sorted(_stored_span_ids(client, url, trace_id))
                == [n.to_bytes(8, "big") for n in range(1, spans + 1)]
                for trace_id in result.sent
            )
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
    return result
