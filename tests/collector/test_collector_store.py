"""Storage and queries: listing with filters and cursors, restart, and durability after a crash."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from support.collector_fixtures import serve_collector, store_with_writer
from support.crash_rounds import crash_round

from otel_bridge import SpanRecord, derive, load_spans
from otel_bridge.collector import Collector, SpanStore
from otel_bridge.collector._ingest import IngestBatch, batch_from_request
from otel_bridge.errors import QueueFull, StoreError
from otel_bridge.otlp import to_request
from otel_bridge.spans import iso

PROTOBUF = {"content-type": "application/x-protobuf"}
S = 1_000_000_000  # one second in ns
T0 = 1_790_000_000 * S


def trace(trace_id: int, start_ns: int, *, service: str, error: bool = False) -> list[SpanRecord]:
    """A root and two children; the second child fails when ``error``."""
    resource = {"service.name": service}
    root = SpanRecord(
        trace_id, 1, None, f"run-{trace_id}", start_ns, start_ns + 5 * S, resource=resource
    )
    return [
        root,
        SpanRecord(trace_id, 2, 1, "step", start_ns + S, start_ns + 2 * S, resource=resource),
        SpanRecord(
            trace_id, 3, 1, "tool", start_ns + 2 * S, start_ns + 3 * S,
            status="ERROR" if error else "OK", resource=resource,
        ),
    ]  # fmt: skip


def store_traces(store: SpanStore, request: ExportTraceServiceRequest) -> int:
    return store.submit(batch_from_request(request)).result(timeout=30)


def test_listing_filters_and_pages(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "list.db") as store:
        records = []
        for i in range(1, 8):
            service = "alpha" if i % 2 else "beta"
            records += trace(i, T0 + i * 10 * S, service=service, error=i in (3, 6))
        # The children arrive in a later request than their roots: summaries still add up.
        assert store_traces(store, to_request([r for r in records if r.parent_id is None])) == 7
        assert store_traces(store, to_request([r for r in records if r.parent_id])) == 14

        everything = store.list_traces(limit=100)
        assert [t.trace_id for t in everything.traces] == [f"{i:032x}" for i in range(7, 0, -1)]
        assert everything.next_cursor is None
        third = everything.traces[4]
        assert (third.span_count, third.error_count, third.status) == (3, 1, "error")
        assert (third.service, third.root_name) == ("alpha", "run-3")
        assert (third.start_ns, third.end_ns) == (T0 + 30 * S, T0 + 35 * S)

        assert [t.trace_id[-1] for t in store.list_traces(service="beta").traces] == ["6", "4", "2"]
        assert [t.trace_id[-1] for t in store.list_traces(status="error").traces] == ["6", "3"]
        window = store.list_traces(start_ns=T0 + 20 * S, end_ns=T0 + 50 * S)
        assert [t.trace_id[-1] for t in window.traces] == ["4", "3", "2"]

        seen, cursor = [], None
        while True:
            page = store.list_traces(limit=3, cursor=cursor, status="ok")
            seen += [t.trace_id[-1] for t in page.traces]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == ["7", "5", "4", "2", "1"]


def test_query_api_parameters(tmp_path: Path) -> None:
    with Collector(tmp_path / "q.db") as collector:
        request = to_request(trace(1, T0, service="alpha") + trace(2, T0 + 60 * S, service="beta"))
        httpx.post(
            f"{collector.http_url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF
        )
        api = f"{collector.http_url}/api/traces"
        page = httpx.get(api, params={"limit": 1}).json()
        assert [t["trace_id"][-1] for t in page["traces"]] == ["2"]
        rest = httpx.get(api, params={"limit": 1, "cursor": page["next_cursor"]}).json()
        assert [t["trace_id"][-1] for t in rest["traces"]] == ["1"] and rest["next_cursor"] is None
        by_iso = httpx.get(api, params={"start": iso(T0 + 30 * S)}).json()
        assert [t["trace_id"][-1] for t in by_iso["traces"]] == ["2"]
        by_ns = httpx.get(api, params={"end": str(T0 + 1)}).json()
        assert [t["trace_id"][-1] for t in by_ns["traces"]] == ["1"]
        summary = httpx.get(f"{api}/{2:032x}").json()
        assert summary["service"] == "beta" and summary["duration_s"] == 5.0
        run = httpx.get(f"{api}/{2:032X}/run").json()  # upper case is fine
        assert run["trace_id"] == f"{2:032x}"

        for params, says in [
            ({"limit": "0"}, "limit must be 1..1000"),
            ({"limit": "many"}, "limit must be an integer"),
            ({"status": "fine"}, "status must be 'ok', 'error' or 'open'"),
            ({"start": "yesterday"}, "start must be ISO-8601 or Unix nanoseconds"),
            ({"cursor": "bm9wZQ"}, "invalid cursor"),
            ({"start": "9999-12-31"}, "start is out of range"),
            ({"end": "99999999999999999999"}, "end is out of range"),
            ({"start": "\u00b2"}, "start must be ISO-8601 or Unix nanoseconds"),
        ]:
            bad = httpx.get(api, params=params)
            assert bad.status_code == 400 and says in bad.json()["error"], bad.text
        for suffix in ("", "/spans", "/run"):
            assert httpx.get(f"{api}/xyz{suffix}").status_code == 400
            unknown = httpx.get(f"{api}/{9:032x}{suffix}")
            assert unknown.status_code == 404
            assert unknown.json() == {"error": f"no spans of trace {9:032x}"}


def test_restart_on_the_same_database_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    spans = trace(5, T0, service="alpha", error=True)
    with Collector(db) as first:
        response = httpx.post(
            f"{first.http_url}/v1/traces",
            content=to_request(spans).SerializeToString(),
            headers=PROTOBUF,
        )
        assert response.status_code == 200
        before = derive(load_spans(first.http_url, 5)).to_dict()
    with Collector(db) as second:
        assert sorted(load_spans(second.http_url, 5), key=lambda s: s.span_id) == spans
        assert derive(load_spans(second.http_url, 5)).to_dict() == before
        # Re-sending after the restart still stores nothing twice.
        httpx.post(
            f"{second.http_url}/v1/traces",
            content=to_request(spans).SerializeToString(),
            headers=PROTOBUF,
        )
        assert second.store is not None and second.store.span_count() == 3
        assert second.store.list_traces().traces[0].error_count == 1


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process, url, _ = serve_collector(tmp_path / "term.db")
    try:
        spans = trace(1, T0, service="term")
        body = to_request(spans).SerializeToString()
        assert httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        assert process.stderr is not None
        rest = process.stderr.read()
        process.stderr.close()
    assert "otel-bridge collector stopped" in rest
    with SpanStore(tmp_path / "term.db") as store:
        assert store.span_count() == 3


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_acknowledged_spans_survive_a_crash(tmp_path: Path) -> None:
    """SIGKILL while HTTP and gRPC exports are in flight, then a restart on the same database:
    every acknowledged span is there exactly once, and re-sending what was never acknowledged
    (an exporter's retry) stores nothing twice. ``python stress/crash.py`` runs many rounds.
    """
    result = crash_round(tmp_path / "crash.db", 1, clients=4, kill_after_acks=40)
    assert len(result.acked) >= 40
    assert result.acked_spans == 10 * len(result.acked)
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.resent_exactly_once


def test_one_bad_batch_fails_alone_and_the_writer_goes_on(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "isolate.db", max_pending_bytes=1 << 30) as store:
        good = batch_from_request(to_request(trace(1, T0, service="a")))
        bad = batch_from_request(to_request(trace(2, T0, service="a")))
        row = bad.rows[0]
        bad.rows[0] = (*row[:4], 2**64, *row[5:])  # past validation: SQLite cannot bind it
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # the writer waits: the batches can share a transaction
        futures = [store.submit(good), store.submit(bad)]
        blocker.execute("ROLLBACK")
        blocker.close()
        assert futures[0].result(timeout=30) == 3
        with pytest.raises(StoreError, match="could not be stored"):
            futures[1].result(timeout=30)
        assert store.writer.failed_batches == 1
        later = batch_from_request(to_request(trace(3, T0, service="a")))
        assert store.submit(later).result(timeout=30) == 3
        assert store.span_count() == 6


def test_a_kept_run_is_derived_again_when_its_trace_grows(tmp_path: Path) -> None:
    spans = trace(7, T0, service="grow")
    with Collector(tmp_path / "grow.db") as collector, httpx.Client() as client:
        url = f"{collector.http_url}/api/traces/{7:032x}/run"

        def send(records: list[SpanRecord]) -> None:
            body = to_request(records).SerializeToString()
            client.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF)

        send(spans[1:])  # the children first: the run ends with the tool
        first = client.get(url).json()
        assert client.get(url).json() == first  # kept
        assert first["end"] == iso(T0 + 3 * S)
        send(spans[1:])  # re-sent spans change nothing
        assert client.get(url).json() == first
        send(spans[:1])  # the root arrives: the run is longer now
        assert client.get(url).json()["end"] == iso(T0 + 5 * S)


def test_an_ended_run_is_derived_before_it_is_asked_for(tmp_path: Path) -> None:
    spans = trace(8, T0, service="ahead")
    with Collector(tmp_path / "ahead.db") as collector, httpx.Client() as client:
        assert collector.preparer is not None
        collector.preparer.grace_s = 0.05
        body = to_request(spans[1:]).SerializeToString()
        client.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF)
        time.sleep(0.3)
        assert collector.runs.get(f"{8:032x}", 2) is None, "no root yet: the run has not ended"
        body = to_request(spans[:1]).SerializeToString()
        client.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF)
        deadline = time.monotonic() + 10
        while collector.runs.get(f"{8:032x}", 3) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        ready = collector.runs.get(f"{8:032x}", 3)
        assert ready is not None and collector.preparer.prepared == 1
        served = client.get(f"{collector.http_url}/api/traces/{8:032x}/run").content
        assert served == ready
        assert json.loads(served) == derive(spans).to_dict()


def test_the_queue_bound_counts_the_incoming_batch(tmp_path: Path) -> None:
    # The write lock is held from outside, so the writer waits and queued bytes stay pending.
    first = batch_from_request(to_request(trace(1, T0, service="alpha")))
    second = batch_from_request(to_request(trace(2, T0, service="alpha")))
    a, b = first.nbytes, second.nbytes
    for limit, accepted in ((a + b - 1, False), (a + b, True)):
        path = tmp_path / f"bound-{limit}.db"
        with SpanStore(path, max_pending_bytes=limit) as store:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                held = store.submit(first)  # an empty queue always takes one batch
                assert store.writer.pending_bytes == a
                if accepted:
                    also = store.submit(second)
                    assert store.writer.pending_bytes == a + b
                else:
                    with pytest.raises(QueueFull, match=f"{a} bytes of spans are waiting"):
                        store.submit(second)
                    assert store.writer.pending_bytes == a
            finally:
                blocker.execute("COMMIT")
                blocker.close()
            assert held.result(timeout=30) == 3
            if accepted:
                assert also.result(timeout=30) == 3
            assert store.writer.pending_bytes == 0


def test_failures_in_a_row_are_counted_and_logged_once_with_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(trace_id: int) -> IngestBatch:
        batch = batch_from_request(to_request(trace(trace_id, T0, service="a")))
        row = batch.rows[0]
        batch.rows[0] = (*row[:4], 2**64, *row[5:])  # past validation: SQLite cannot bind it
        return batch

    caplog.set_level(logging.ERROR, logger="otel_bridge.collector._writer")
    with SpanStore(tmp_path / "failing.db") as store:
        for trace_id in (1, 2, 3):
            with pytest.raises(StoreError, match=r"^the spans could not be stored; retry later$"):
                store.submit(bad(trace_id)).result(timeout=30)
        good = batch_from_request(to_request(trace(4, T0, service="a")))
        assert store.submit(good).result(timeout=30) == 3
        with pytest.raises(StoreError):
            store.submit(bad(5)).result(timeout=30)
        assert (store.writer.failed_batches, store.writer.committed_spans) == (4, 3)
        assert store.writer.pending_bytes == 0
    logged = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert logged == [
        ("otel-bridge collector: could not store 3 span(s)", True),
        ("otel-bridge collector: could not store 3 span(s) (2 failures in a row)", False),
        ("otel-bridge collector: could not store 3 span(s) (3 failures in a row)", False),
        ("otel-bridge collector: could not store 3 span(s)", True),  # a commit in between
    ]


def test_one_batch_sums_up_a_trace_whose_root_comes_last(tmp_path: Path) -> None:
    # Children of two services first (two of them failing), then the root, in one request.
    spans = [
        SpanRecord(9, 2, 1, "step", T0 + S, T0 + 2 * S, status="ERROR",
                   resource={"service.name": "worker"}),
        SpanRecord(9, 3, 1, "tool", T0 - S, T0 + 3 * S, status="ERROR",
                   resource={"service.name": "worker"}),
        SpanRecord(9, 4, 1, "fine", T0 + S, T0 + 9 * S, resource={"service.name": "worker"}),
        SpanRecord(9, 1, None, "run-9", T0, T0 + 5 * S, resource={"service.name": "front"}),
    ]  # fmt: skip
    orphans, root = trace(10, T0 + 60 * S, service="late")[1:], trace(10, T0, service="late")[0]
    with SpanStore(tmp_path / "one.db") as store:
        assert store_traces(store, to_request(spans)) == 4
        (summary,) = store.list_traces().traces
        # Children alone name no root; the root, sent later, does.
        assert store_traces(store, to_request(orphans)) == 2
        assert store.list_traces().traces[0].root_name is None
        assert store_traces(store, to_request([root])) == 1
        assert store.list_traces().traces[0].root_name == "run-10"
    assert (summary.span_count, summary.error_count, summary.status) == (4, 2, "error")
    assert (summary.service, summary.root_name) == ("front", "run-9")  # the root's, found last
    assert (summary.start_ns, summary.end_ns) == (T0 - S, T0 + 9 * S)


def test_a_closed_store_refuses_batches_and_closing_again_is_fine(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "closed.db")
    writers = [t for t in threading.enumerate() if t.name == "otel-bridge-writer"]
    assert writers and all(t.daemon for t in writers)  # never keeps a process from exiting
    store.close()
    store.close()
    with pytest.raises(StoreError, match=r"^the store is closed$"):
        store.submit(batch_from_request(to_request(trace(1, T0, service="a"))))


def test_a_trace_whose_error_comes_after_a_good_span_in_one_batch_is_an_error(
    tmp_path: Path,
) -> None:
    spans = trace(1, T0, service="a", error=True)  # the root first, the failing child last
    with SpanStore(tmp_path / "late-error.db") as store:
        assert store_traces(store, to_request(spans)) == 3
        (summary,) = store.list_traces().traces
    assert (summary.span_count, summary.error_count, summary.status) == (3, 1, "error")


def test_a_batch_resending_some_spans_sums_up_the_trace_from_what_is_stored(
    tmp_path: Path,
) -> None:
    root, step, failed = trace(4, T0, service="a", error=True)
    seen: list[list[bytes]] = []
    with SpanStore(tmp_path / "resend.db") as store:
        store.writer.on_traces = seen.append
        assert store_traces(store, to_request([root, step])) == 2
        assert store_traces(store, to_request([step, failed])) == 1  # the step again
        (summary,) = store.list_traces().traces
        assert store.writer.committed_spans == 3
    assert (summary.span_count, summary.error_count, summary.status) == (3, 1, "error")
    assert (summary.root_name, summary.start_ns, summary.end_ns) == ("run-4", T0, T0 + 5 * S)
    assert seen == [[(4).to_bytes(16, "big")], [(4).to_bytes(16, "big")]]


def test_a_failing_listener_is_logged_and_the_writer_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(_: object) -> None:
        raise RuntimeError("listener bug")

    caplog.set_level(logging.ERROR, logger="otel_bridge.collector._writer")
    with SpanStore(tmp_path / "listeners.db") as store:
        store.writer.on_traces = fail
        store.writer.on_roots = fail
        assert store_traces(store, to_request(trace(1, T0, service="a"))) == 3
        assert store_traces(store, to_request(trace(2, T0, service="a"))) == 3
    logged = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert (
        logged
        == [
            ("otel-bridge collector: trace listener failed", True),
            ("otel-bridge collector: root listener failed", True),
        ]
        * 2
    )


def test_closing_commits_what_is_queued_and_says_when_the_writer_is_held_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "held.db"
    caplog.set_level(logging.ERROR, logger="otel_bridge.collector._writer")
    store, writer = store_with_writer(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits on its first batch
    futures = [
        store.submit(batch_from_request(to_request(trace(i, T0, service="a")))) for i in (1, 2, 3)
    ]
    store.writer.close(timeout_s=1.0)  # the queue ends with the stop sign, behind the batches
    assert [r.getMessage() for r in caplog.records] == [
        "otel-bridge collector: the writer did not stop in 1 s"
    ]
    blocker.execute("COMMIT")
    blocker.close()
    assert [f.result(timeout=30) for f in futures] == [3, 3, 3]
    writer.join(30)
    assert not writer.is_alive()
    store.close()
