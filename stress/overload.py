"""Load above capacity: the collector says "retry later" instead of failing or growing.

Run: ``python stress/overload.py`` (about a minute; ``--seconds N`` per phase, ``--write`` to
put the table into docs/RELIABILITY.md).

``otel-bridge collector serve`` (a child process) with a 2 MiB write queue and the default
cap of 16 uploads in progress per client address takes requests of 512 spans (~0.7 MB) from
24 exporters at once on this host, more than its writer can commit:

1. Raw clients that never retry (12 OTLP/HTTP, 12 OTLP/gRPC, no pause): how many requests are
   answered 200 / OK, how many 429 / RESOURCE_EXHAUSTED, and whether each of those carries its
   retry delay (``Retry-After``, ``RetryInfo``). Afterwards the database must hold exactly the
   spans of the acknowledged requests: nothing of a refused one.
2. The OpenTelemetry SDK's own exporters (``OTLPSpanExporter``, 12 HTTP and 12 gRPC), which
   retry on 429 / RESOURCE_EXHAUSTED after the delay the collector gives: every span of an
   export that returned SUCCESS must be stored exactly once.

The collector's peak resident memory (VmHWM) is reported for both phases, against its memory
when idle.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from _report import machine, vm_kib, write_section
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, TraceFlags
from support.collector_fixtures import LOOPBACK, serve_collector

from otel_bridge import SpanRecord
from otel_bridge.collector import SpanStore
from otel_bridge.otlp import to_request

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SPANS = 512
CLIENTS = 24
TEMPLATE_TRACE = 0x0F0F_0F0F_0F0F_0F0F_0F0F_0F0F_0F0F_0F0F
ATTRIBUTES = {"input.value": "x" * 1200, "llm.token_count.total": 42, "agent.name": "writer"}


def stop_collector(process: subprocess.Popen[str]) -> None:
    """SIGTERM the collector (it commits what it acknowledged), wait for it, close its pipe."""
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    if process.stderr is not None:
        process.stderr.close()


def template() -> bytes:
    """One request of SPANS spans of TEMPLATE_TRACE: each send swaps in its own trace id."""
    records = [
        SpanRecord(TEMPLATE_TRACE, n, n // 2 or None, f"span-{n}", 1_000 + n, 9_000 + n,
                   attributes=ATTRIBUTES, resource={"service.name": "overload"})
        for n in range(1, SPANS + 1)
    ]  # fmt: skip
    return to_request(records).SerializeToString()


class Sampler(threading.Thread):
    """Samples a process's resident memory until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            self.peak_kib = max(self.peak_kib, vm_kib(self.pid, "VmRSS"))

    def stop(self) -> int:
        """The peak (VmHWM, the kernel's own high-water mark)."""
        self._stop_event.set()
        self.join()
        return vm_kib(self.pid, "VmHWM")


def run_clients(worker: Callable[[int, threading.Event], None], seconds: float) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(n, stop)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(120)


def raw_phase(seconds: float) -> dict[str, object]:
    body = template()
    old = TEMPLATE_TRACE.to_bytes(16, "big")
    outcomes: Counter[str] = Counter()
    acked: list[int] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "raw.db"
        process, url, grpc_port = serve_collector(db, "--max-pending-mib", "2")
        idle = vm_kib(process.pid, "VmRSS")
        sampler = Sampler(process.pid)
        sampler.start()

        def worker(n: int, stop: threading.Event) -> None:
            http = httpx.Client(timeout=60) if n % 2 == 0 else None
            channel = grpc.insecure_channel(f"{LOOPBACK}:{grpc_port}") if http is None else None
            export = channel.unary_unary(EXPORT) if channel is not None else None
            i = 0
            while not stop.is_set():
                i += 1
                trace_id = (n + 1) << 64 | i
                data = body.replace(old, trace_id.to_bytes(16, "big"))
                if http is not None:
                    answer = http.post(
                        f"{url}/v1/traces",
                        content=data,
                        headers={"content-type": "application/x-protobuf"},
                    )
                    ok = answer.status_code == 200
                    outcome = f"HTTP {answer.status_code}"
                    if answer.status_code == 429 and "retry-after" not in answer.headers:
                        outcome += " without Retry-After"
                else:
                    assert export is not None
                    try:
                        export(data, timeout=60)
                        ok, outcome = True, "gRPC OK"
                    except grpc.RpcError as exc:
                        ok, outcome = False, f"gRPC {exc.code().name}"
                        trailers = dict(exc.trailing_metadata() or ())
                        if "google.rpc.retryinfo-bin" not in trailers:
                            outcome += " without RetryInfo"
                with lock:
                    outcomes[outcome] += 1
                    if ok:
                        acked.append(trace_id)
            if http is not None:
                http.close()
            if channel is not None:
                channel.close()

        started = time.perf_counter()
        run_clients(worker, seconds)
        elapsed = time.perf_counter() - started
        peak = sampler.stop()
        stop_collector(process)
        with SpanStore(db) as store:
            stored = store.span_count()
            traces = {int(t.trace_id, 16) for t in _all_traces(store)}
    return {
        "outcomes": outcomes,
        "acked": len(acked),
        "stored_spans": stored,
        "exactly_acked": stored == SPANS * len(acked) and traces == set(acked),
        "idle_kib": idle,
        "peak_kib": peak,
        "spans_per_s": SPANS * len(acked) / elapsed,
    }


def _all_traces(store: SpanStore) -> list[object]:
    found, cursor = [], None
    while True:
        page = store.list_traces(limit=1000, cursor=cursor)
        found += page.traces
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


class RetryLog(logging.Handler):
    """Counts the SDK exporters' "Transient error ..., retrying in N s" warnings (and keeps
    them and the exporters' other messages off the terminal)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0
        self.gave_up = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retrying in" in message:
            self.retries += 1
        elif record.levelno >= logging.ERROR:
            self.gave_up += 1

    def __enter__(self) -> RetryLog:
        exporters = logging.getLogger("opentelemetry.exporter")
        exporters.addHandler(self)
        exporters.setLevel(logging.WARNING)
        exporters.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("opentelemetry.exporter").removeHandler(self)


def sdk_spans(trace_id: int) -> list[ReadableSpan]:
    resource = Resource.create({"service.name": "overload-sdk"})
    spans = []
    for n in range(1, SPANS + 1):
        context = SpanContext(trace_id, n, is_remote=False, trace_flags=TraceFlags(1))
        parent = SpanContext(trace_id, n // 2, is_remote=False) if n > 1 else None
        spans.append(
            ReadableSpan(
                name=f"span-{n}", context=context, parent=parent, resource=resource,
                attributes=ATTRIBUTES, start_time=1_000 + n, end_time=9_000 + n,
            )
        )  # fmt: skip
    return spans


def sdk_phase(seconds: float) -> dict[str, object]:
    outcomes: Counter[str] = Counter()
    succeeded: list[int] = []
    failed: list[int] = []
    lock = threading.Lock()
    with RetryLog() as retry_log, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sdk.db"
        process, url, grpc_port = serve_collector(db, "--max-pending-mib", "2")
        idle = vm_kib(process.pid, "VmRSS")
        sampler = Sampler(process.pid)
        sampler.start()

        def worker(n: int, stop: threading.Event) -> None:
            if n % 2 == 0:
                exporter: HttpSpanExporter | GrpcSpanExporter = HttpSpanExporter(
                    endpoint=f"{url}/v1/traces", timeout=30
                )
            else:
                exporter = GrpcSpanExporter(
                    endpoint=f"{LOOPBACK}:{grpc_port}", insecure=True, timeout=30
                )
            i = 0
            while not stop.is_set():
                i += 1
                trace_id = (n + 1) << 64 | i
                result = exporter.export(sdk_spans(trace_id))
                with lock:
                    outcomes[result.name] += 1
                    (succeeded if result is SpanExportResult.SUCCESS else failed).append(trace_id)
            exporter.shutdown()

        started = time.perf_counter()
        run_clients(worker, seconds)
        elapsed = time.perf_counter() - started
        peak = sampler.stop()
        stop_collector(process)
        with SpanStore(db) as store:
            counts = {}
            for trace_id in succeeded:
                request = store.trace_request(f"{trace_id:032x}")
                ids = [] if request is None else [
                    s.span_id for rs in request.resource_spans for ss in rs.scope_spans
                    for s in ss.spans
                ]  # fmt: skip
                counts[trace_id] = (len(ids), len(set(ids)))
    exactly_once = all(total == unique == SPANS for total, unique in counts.values())
    return {
        "outcomes": outcomes,
        "succeeded": len(succeeded),
        "failed": len(failed),
        "retries": retry_log.retries,
        "exactly_once": exactly_once,
        "idle_kib": idle,
        "peak_kib": peak,
        "spans_per_s": SPANS * len(succeeded) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--write", action="store_true", help="update docs/RELIABILITY.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    raw = raw_phase(args.seconds)
    print("raw:", raw, flush=True)
    sdk = sdk_phase(args.seconds)
    print("sdk:", sdk, flush=True)

    raw_out: Counter[str] = raw["outcomes"]  # type: ignore[assignment]
    sdk_out: Counter[str] = sdk["outcomes"]  # type: ignore[assignment]
    answers = ", ".join(f"{k} {n:,}" for k, n in sorted(raw_out.items()))
    mib = 1024
    table = "\n".join(
        [
            f"`python stress/overload.py --seconds {args.seconds:g}` ({machine()}; 24 exporters, "
            f"{SPANS} spans per request, write queue 2 MiB, 16 uploads per client)",
            "",
            "| phase | answers | acknowledged spans/s | collector RSS idle → peak | check |",
            "|---|---|---:|---:|---|",
            f"| raw clients, no retry | {answers} | {raw['spans_per_s']:,.0f} | "
            f"{raw['idle_kib'] / mib:.0f} → {raw['peak_kib'] / mib:.0f} MiB | stored = the "
            f"acknowledged requests' spans exactly: {raw['exactly_acked']} |",
            f"| SDK exporters, retrying | SUCCESS {sdk_out['SUCCESS']:,}, FAILURE "
            f"{sdk_out['FAILURE']:,}; {sdk['retries']:,} retries after a 429 / "
            f"RESOURCE_EXHAUSTED | {sdk['spans_per_s']:,.0f} | {sdk['idle_kib'] / mib:.0f} → "
            f"{sdk['peak_kib'] / mib:.0f} MiB | every span of a SUCCESS stored exactly once: "
            f"{sdk['exactly_once']} |",
        ]
    )
    print(table)
    if args.write:
        write_section("overload", table)
    ok = raw["exactly_acked"] and sdk["exactly_once"] and not any("without" in k for k in raw_out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    os.environ.setdefault("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    main()
