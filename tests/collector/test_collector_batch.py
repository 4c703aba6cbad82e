"""Reading many runs from the collector: ``GET /api/spans`` and the paths built on it.

The collector answers with the span bytes it stored (no span parsed and written again), many
traces per request; the export reads runs that way, in worker processes. Every fast path is
checked against the slow one, literally: the same bytes as one request per trace, the same
SpanRecords, the same RunTraces as the run's in-memory capture, the same tables.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from support.collector_fixtures import (
    ServedApp,
    assert_same_run,
    collector,  # noqa: F401  (fixture)
    expected_run,
    run_demo,
)

from otel_bridge import SourceError, Telemetry, derive, load_spans
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.otlp import PROTOBUF, decode_request_json
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.sources import (
    read_collector,
    read_collector_many,
    read_runs,
    run_labels,
    select_runs,
)
from otel_bridge.sources._reading import read_batches
from otel_bridge.tables import TABLES, write_tables

ACCEPT_PROTOBUF = {"Accept": PROTOBUF}
UNKNOWN = "0123456789abcdef0123456789abcdef"


@dataclass
class Runs:
    """Three real runs stored by a collector, and their in-memory RunTraces."""

    url: str
    trace_ids: list[str]
    expected: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, llm_server: ScriptedLLMServer) -> Iterator[Runs]:
    with Collector(tmp_path_factory.mktemp("batch") / "spans.db") as running:
        telemetry = Telemetry(otlp_endpoint=running.http_url, service_name="batch-tests")
        try:
            ids = [asyncio.run(run_demo(telemetry, llm_server, f"run-{i}")) for i in range(3)]
        finally:
            telemetry.shutdown()  # flushes: the runs are committed
        assert not telemetry.export_errors()
        yield Runs(running.http_url, ids, {tid: expected_run(telemetry, tid) for tid in ids})


def spans_body(url: str, trace_id: str) -> bytes:
    response = httpx.get(f"{url}/api/traces/{trace_id}/spans", headers=ACCEPT_PROTOBUF)
    assert response.status_code == 200
    return response.content


def batch(url: str, *trace_ids: str, accept_protobuf: bool = True) -> httpx.Response:
    return httpx.get(
        f"{url}/api/spans",
        params=[("trace_id", tid) for tid in trace_ids],
        headers=ACCEPT_PROTOBUF if accept_protobuf else {},
    )


# ---- what the collector serves -------------------------------------------------------------------


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _span(span_id: int, start: int) -> Span:
    # Sizes whose lengths take one, two and three bytes on the wire.
    text = "x" * {1: 10, 2: 200, 3: 20_000, 4: 100}[span_id]
    return Span(
        trace_id=(7).to_bytes(16, "big"),
        span_id=span_id.to_bytes(8, "big"),
        name=f"span-{span_id}",
        start_time_unix_nano=start,
        end_time_unix_nano=start + 5,
        attributes=[_kv("n", str(span_id)), _kv("text", text)],
    )


def test_a_trace_is_served_as_protobuf_itself_would_write_it(
    collector: Collector,  # noqa: F811
) -> None:
    r1 = Resource(attributes=[_kv("service.name", "svc-a"), _kv("host", "h" * 300)])
    r2 = Resource(attributes=[_kv("service.name", "svc-b")])
    s1 = InstrumentationScope(name="lib-1", version="1.0")
    s2 = InstrumentationScope(name="lib-2")
    # Sent in an order of its own: grouped by origin, latest first.
    sent = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=r2,
                scope_spans=[ScopeSpans(scope=s1, schema_url="https://s1", spans=[_span(2, 20)])],
            ),
            ResourceSpans(
                resource=r1,
                schema_url="https://r1",
                scope_spans=[
                    ScopeSpans(scope=s2, spans=[_span(3, 30)]),
                    ScopeSpans(
                        scope=s1, schema_url="https://s1", spans=[_span(4, 40), _span(1, 10)]
                    ),
                ],
            ),
        ]
    )
    posted = httpx.post(
        f"{collector.http_url}/v1/traces",
        content=sent.SerializeToString(),
        headers={"content-type": PROTOBUF},
    )
    assert posted.status_code == 200
    # Served by start time, one ScopeSpans per resource + scope in the order first seen.
    expected = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=r1,
                schema_url="https://r1",
                scope_spans=[
                    ScopeSpans(
                        scope=s1, schema_url="https://s1", spans=[_span(1, 10), _span(4, 40)]
                    ),
                    ScopeSpans(scope=s2, spans=[_span(3, 30)]),
                ],
            ),
            ResourceSpans(
                resource=r2,
                scope_spans=[ScopeSpans(scope=s1, schema_url="https://s1", spans=[_span(2, 20)])],
            ),
        ]
    )
    trace_id = f"{7:032x}"
    assert spans_body(collector.http_url, trace_id) == expected.SerializeToString()
    assert batch(collector.http_url, trace_id).content == expected.SerializeToString()
    json_body = httpx.get(f"{collector.http_url}/api/traces/{trace_id}/spans").json()
    assert decode_request_json(json_body) == expected


def test_many_traces_in_one_request_are_the_requests_of_each(runs: Runs) -> None:
    a, b, c = runs.trace_ids
    bodies = {tid: spans_body(runs.url, tid) for tid in runs.trace_ids}
    answer = batch(runs.url, a, b, c)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == PROTOBUF
    assert answer.content == bodies[a] + bodies[b] + bodies[c]
    # In the order asked; an unknown trace is left out, one asked twice is sent once.
    assert batch(runs.url, c, UNKNOWN, a, c).content == bodies[c] + bodies[a]
    assert batch(runs.url, UNKNOWN).content == b""
    # Without Accept: protobuf, one OTLP/JSON request holding them all.
    as_json = batch(runs.url, a, b, accept_protobuf=False)
    assert as_json.headers["content-type"] == "application/json"
    expected = ExportTraceServiceRequest.FromString(bodies[a] + bodies[b])
    assert decode_request_json(as_json.json()) == expected


def test_bad_batch_requests_are_400_with_a_reason(runs: Runs) -> None:
    cases = {
        (): "give the traces to read: /api/spans?trace_id=ID&trace_id=ID...",
        ("xyz",): "invalid trace id 'xyz': expected up to 32 hex characters",
        tuple(f"{i + 1:032x}" for i in range(201)): (
            "at most 200 trace_id parameters per request, got 201"
        ),
    }
    for trace_ids, message in cases.items():
        answer = batch(runs.url, *trace_ids)
        assert (answer.status_code, answer.json()) == (400, {"error": message})


def test_the_batch_route_is_behind_the_token(tmp_path: Path) -> None:
    with Collector(tmp_path / "spans.db", grpc_port=None, token="s3cret") as running:
        assert batch(running.http_url, UNKNOWN).status_code == 401
        answer = httpx.get(
            f"{running.http_url}/api/spans",
            params={"trace_id": UNKNOWN},
            headers={"Authorization": "Bearer s3cret", **ACCEPT_PROTOBUF},
        )
        assert (answer.status_code, answer.content) == (200, b"")


# ---- reading many runs: the same spans, runs and tables as one at a time ------------------------


def test_many_runs_read_at_once_are_the_runs_read_one_by_one(runs: Runs) -> None:
    one_by_one = [read_collector(runs.url, tid) for tid in runs.trace_ids]
    assert [len(spans) for spans in one_by_one] == [32, 32, 32]
    assert read_collector_many(runs.url, runs.trace_ids) == one_by_one
    assert read_collector_many(runs.url, runs.trace_ids[::-1]) == one_by_one[::-1]
    for prefetch in (0, 4):
        assert list(read_runs(runs.url, runs.trace_ids, prefetch=prefetch)) == one_by_one
    selected = select_runs(runs.url)
    by_id = dict(zip(runs.trace_ids, one_by_one, strict=True))
    assert list(selected) == [by_id[s.trace_id] for s in selected.summaries]
    for trace_id, spans in by_id.items():
        assert_same_run(runs.expected[trace_id], derive(spans).to_dict())

    with pytest.raises(SourceError, match=f"no trace {UNKNOWN} in the collector"):
        read_collector_many(runs.url, [runs.trace_ids[0], UNKNOWN])
    with pytest.raises(SourceError, match="at most 200 traces per request, got 201"):
        read_collector_many(runs.url, [UNKNOWN] * 201)


def test_a_collector_without_the_batch_route_is_read_one_trace_at_a_time(runs: Runs) -> None:
    bodies = {tid: spans_body(runs.url, tid) for tid in runs.trace_ids}

    def spans(request: Request) -> Response:
        return Response(bodies[request.path_params["trace_id"]], media_type=PROTOBUF)

    older = Starlette(routes=[Route("/api/traces/{trace_id}/spans", spans)])
    with ServedApp(older) as served:
        got = read_collector_many(served.url, runs.trace_ids)
    assert got == [read_collector(runs.url, tid) for tid in runs.trace_ids]


def test_an_answer_broken_off_midway_is_an_error_not_fewer_runs(runs: Runs) -> None:
    whole = batch(runs.url, *runs.trace_ids).content

    def broken(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            yield whole[: len(whole) // 2]
            raise RuntimeError("the store failed midway")

        return StreamingResponse(chunks(), media_type=PROTOBUF)

    app = Starlette(routes=[Route("/api/spans", broken)])
    with (
        ServedApp(app) as served,
        pytest.raises(SourceError, match="/api/spans: the answer was cut short"),
    ):
        read_collector_many(served.url, runs.trace_ids)


@pytest.mark.parametrize("where", ["in-process", "command"])
def test_the_export_writes_the_tables_of_the_runs_read_one_by_one(
    runs: Runs, tmp_path: Path, where: str
) -> None:
    """In this process (threads running: spawned workers) and as the command (one thread when
    the workers start: forked ones, on Linux)."""
    fast = tmp_path / "fast"
    args = ["export", runs.url, "-o", str(fast), "--workers", "2"]
    if where == "in-process":
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    else:
        done = subprocess.run(
            [sys.executable, "-m", "otel_bridge.cli", *args],
            capture_output=True,
            text=True,
            timeout=300,  # a hang guard
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""  # nothing a worker inherited was written twice
    slow = tmp_path / "slow"
    records = []
    for trace_id in runs.trace_ids:
        spans = load_spans(runs.url, trace_id)
        record = derive(spans).to_dict()
        record["labels"] = {**run_labels(spans), "framework": record["labels"]["framework"]}
        records.append(record)
    write_tables(records, slow)
    for table in TABLES:
        got, want = (_rows(directory, table) for directory in (fast, slow))
        assert got == want, table
    assert len(_rows(fast, "llm_calls")) == 12


def _rows(directory: Path, table: str) -> list[dict[str, Any]]:
    rows = pq.read_table(directory / table).to_pylist()
    return sorted(rows, key=lambda row: sorted((k, repr(v)) for k, v in row.items()))


# ---- batches sized by what was read -------------------------------------------------------------


def test_batches_are_sized_from_the_traces_read_so_far() -> None:
    sizes: list[int] = []

    def download(batch: list[str]) -> Any:
        sizes.append(len(batch))
        return lambda: [[f"{tid}-{i}" for i in range(1000)] for tid in batch]

    ids = [f"t{i}" for i in range(30)]
    # 8 before any size is known, then 5,000 spans' worth of 1,000-span traces; read ahead,
    # the second batch is asked for before the first is decoded, so it is 8 too.
    for ahead, expected in ((False, [8, 5, 5, 5, 5, 2]), (True, [8, 8, 5, 5, 4])):
        sizes.clear()
        got = list(read_batches(download, ids, ahead, max_batch=200))
        assert [spans[0] for spans in got] == [f"t{i}-0" for i in range(30)]
        assert sizes == expected
    sizes.clear()
    list(read_batches(download, ids, False, max_batch=3))
    assert sizes == [3] * 10
