"""Crash rounds: kill -9 the collector while exports are in flight, restart it, count.

Shared by tests/collector/test_collector_store.py (one round) and ``stress/crash.py`` (many).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from otel_bridge import SpanRecord
from otel_bridge.otlp import decode_request_json, to_request
from support.collector_fixtures import LOOPBACK, serve_collector


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
