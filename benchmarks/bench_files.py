"""Exports of 1 million spans side by side: from the Collector's file exporter output, and from
the embedded collector with this code and with another checkout's (today's) code.

Run: ``python benchmarks/bench_files.py --baseline /path/to/other/checkout`` (about 10
minutes; ``--runs 2000`` for a quick look, ``--write`` to write the table into
benchmarks/README.md).

The same 10,000 runs of 100 spans (``bench_ingest.agent_trace``: two agents, 17 LLM calls a
run) are

- written as the OpenTelemetry Collector's ``file`` exporter writes them with ``format:
  proto`` and ``compression: zstd`` (each export request of 1,000 spans its own zstd frame
  after its length; files rotated at 100 MB, named as its rotation names them; the framing
  tests/sources/test_otelcol_files.py checks against our collector build), and with ``format:
  json``;
- sent to an embedded collector (``collector serve --no-prepare-runs``, its own process);
- sent to another collector that derives ended runs ahead (``collector serve``, the default)
  and keeps their RunTrace JSON: the export reads that (``GET /api/runs``) and derives
  nothing. The collector's CPU spent deriving them during the ingest is reported beside it
  (measured against the same ingest into the first collector).

Each export is ``otel-bridge export SOURCE -o DIR`` in a fresh process (default workers),
start to exit, interleaved: file (proto+zstd), file (JSON), collector, each with this code and
with the baseline's (``PYTHONPATH`` the other checkout), ``--repeat`` times.
CPU is user + system of the export and its workers, plus the collector's during the export;
"spans per CPU-second" is the figure a busy machine cannot take away. Peak RSS is summed over
the export process and its workers. Every export is read back with DuckDB and checked.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_ingest import agent_trace  # noqa: E402
from bench_runs import (  # noqa: E402
    LLM_CALLS_PER_RUN,
    OTEL_BRIDGE,
    PROTOBUF,
    SPANS_PER_RUN,
    CollectorProcess,
    check,
    process_cpu,
    tree_rss,
)
from results import commit_of, write_section  # noqa: E402

from otel_bridge.otlp import request_to_json, to_request  # noqa: E402

RUNS_PER_MESSAGE = 10  # 1,000 spans: what a collector's batch processor sends on
ROTATE_BYTES = 100 * 2**20  # the file exporter's default max_megabytes


def write_files(folder: Path, runs: int, seed: int, fmt: str) -> int:
    """The runs as the file exporter writes them; bytes written."""
    import json

    folder.mkdir(parents=True)
    rnd = random.Random(seed)
    t0 = time.time_ns() - runs * 10**9
    compressor = zstandard.ZstdCompressor()
    files: list[bytes] = []
    current = bytearray()
    total = 0
    for first in range(0, runs, RUNS_PER_MESSAGE):
        spans = []
        for i in range(first, min(runs, first + RUNS_PER_MESSAGE)):
            spans += agent_trace(rnd.getrandbits(127) | 1, SPANS_PER_RUN, t0 + i * 10**9, rnd)
        request = to_request(spans)
        if fmt == "proto+zstd":
            frame = compressor.compress(request.SerializeToString())
            message = len(frame).to_bytes(4, "big") + frame
        else:
            message = json.dumps(request_to_json(request), separators=(",", ":")).encode() + b"\n"
        if len(current) + len(message) > ROTATE_BYTES:
            files.append(bytes(current))
            current = bytearray()
        current += message
    files.append(bytes(current))
    suffix = ".pb.zst" if fmt == "proto+zstd" else ".json"
    for n, data in enumerate(files):
        last = n == len(files) - 1
        stamp = f"-2026-11-23T17-{n:02d}-00.000"
        (folder / f"spans{'' if last else stamp}{suffix}").write_bytes(data)
        total += len(data)
    return total


def fill(url: str, runs: int, seed: int) -> None:
    """The same runs (same seed) into a collector, 10 runs a request."""
    rnd = random.Random(seed)
    t0 = time.time_ns() - runs * 10**9
    with httpx.Client(timeout=120) as client:
        for first in range(0, runs, RUNS_PER_MESSAGE):
            spans = []
            for i in range(first, min(runs, first + RUNS_PER_MESSAGE)):
                spans += agent_trace(rnd.getrandbits(127) | 1, SPANS_PER_RUN, t0 + i * 10**9, rnd)
            body = to_request(spans).SerializeToString()
            client.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).raise_for_status()


def export(
    source: str, out: Path, runs: int, code: Path, collector_pid: int | None
) -> dict[str, Any]:
    """``otel-bridge export`` with the code of ``code`` in a fresh process, measured."""
    import resource
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    collector_before = process_cpu(collector_pid) if collector_pid else 0.0
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*OTEL_BRIDGE, "export", source, "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=code,
    )  # fmt: skip
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"export of {source} failed: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
    check(out, runs)
    shutil.rmtree(out)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    collector_cpu = (process_cpu(collector_pid) - collector_before) if collector_pid else 0.0
    return {
        "seconds": seconds,
        "cpu_s": cpu + collector_cpu,
        "rss_mb": peak / 2**20,
        "load": (load, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout: today's code")
    parser.add_argument("--no-json", action="store_true", help="skip the JSON lines files")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    runs, spans = args.runs, args.runs * SPANS_PER_RUN
    results: dict[str, list[dict[str, Any]]] = {}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        base = Path(tmp)
        formats = ("proto+zstd",) if args.no_json else ("proto+zstd", "json")
        for fmt in formats:
            sizes[fmt] = write_files(base / fmt, runs, seed=runs, fmt=fmt)
        collector = CollectorProcess(base / "spans.db")
        preparing = CollectorProcess(base / "prepared.db", prepare=True)
        try:
            ingest_cpu = {}
            for name, server in (("plain", collector), ("prepared", preparing)):
                before = process_cpu(server.proc.pid)
                fill(server.url, runs, seed=runs)
                if name == "prepared":
                    wait_derived(base / "prepared.db", runs)
                ingest_cpu[name] = process_cpu(server.proc.pid) - before
            ahead_cpu = ingest_cpu["prepared"] - ingest_cpu["plain"]
            print(f"deriving ahead took {ahead_cpu:.1f} CPU-s of the collector", flush=True)
            cases: list[tuple[str, str, Path, int | None]] = [
                (
                    "file exporter output, proto + zstd (this code)",
                    str(base / "proto+zstd"),
                    ROOT,
                    None,
                ),
                ("collector (this code)", collector.url, ROOT, collector.proc.pid),
                (
                    "collector that derived the runs ahead (this code)",
                    preparing.url,
                    ROOT,
                    preparing.proc.pid,
                ),
            ]
            if not args.no_json:
                json_case = ("file exporter output, JSON lines (this code)", str(base / "json"))
                cases.insert(1, (*json_case, ROOT, None))
            if args.baseline:
                files = [(name, where) for name, where, _, pid in cases if pid is None]
                cases += [
                    (name.replace("(this code)", "(baseline)"), where, args.baseline, None)
                    for name, where in files
                ]
                cases.append(
                    ("collector (baseline)", collector.url, args.baseline, collector.proc.pid)
                )
            for _ in range(args.repeat):
                for name, source, code, pid in cases:
                    measured = export(source, base / "out", runs, code, pid)
                    results.setdefault(name, []).append(measured)
                    print(f"{name}: {line(spans, measured)}", flush=True)
        finally:
            collector.stop()
            preparing.stop()
    table = render(results, runs, sizes, args, ahead_cpu)
    print()
    print(table)
    if args.write:
        write_section("files", table)


def wait_derived(db: Path, runs: int, timeout_s: float = 900) -> None:
    """Until the collector keeps the RunTrace JSON of ``runs`` runs, read from its database
    file (read-only), so that waiting costs the collector nothing."""
    import sqlite3

    deadline = time.monotonic() + timeout_s
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        while (kept := conn.execute("SELECT count(*) FROM run_json").fetchone()[0]) < runs:
            if time.monotonic() > deadline:
                raise SystemExit(f"{runs - kept} runs were not derived ahead in {timeout_s} s")
            time.sleep(0.5)


def line(spans: int, m: dict[str, Any]) -> str:
    return (
        f"{m['seconds']:5.1f} s, {spans / m['seconds']:,.0f} spans/s, CPU {m['cpu_s']:.1f} s "
        f"({spans / m['cpu_s']:,.0f} spans per CPU-s), peak RSS {m['rss_mb']:,.0f} MB, "
        f"load {m['load'][0]:.1f} -> {m['load'][1]:.1f}"
    )


def render(
    results: dict[str, list[dict[str, Any]]],
    runs: int,
    sizes: dict[str, int],
    args: Any,
    ahead_cpu: float,
) -> str:
    spans = runs * SPANS_PER_RUN
    out = [
        "## Exports side by side: file exporter output and the collector "
        "(`python benchmarks/bench_files.py --baseline CHECKOUT --write`)",
        "",
        f"Targets: {spans:,} spans to Parquet at 50,000 spans/s or more and 30,000 spans per "
        "CPU-second of all the processes (so that it holds on a busy machine), peak RSS under "
        "1 GB.",
        "",
        f"CPython {sys.version.split()[0]}, {os.cpu_count()} cores, shared (load averages "
        f"below). {runs:,} runs of {SPANS_PER_RUN} spans ({LLM_CALLS_PER_RUN} LLM calls each); "
        f"file exporter output {sizes['proto+zstd'] / 2**20:,.0f} MB as proto + zstd"
        + (f", {sizes['json'] / 2**20:,.0f} MB as JSON lines" if "json" in sizes else "")
        + ". Each export a fresh process with its "
        "default workers, interleaved, "
        f"{args.repeat} times; medians (best in brackets). CPU includes the collector's."
        + (f" Baseline: {commit_of(args.baseline)}." if args.baseline else ""),
        "",
        "| source | seconds | spans/s (target >= 50,000) | spans per CPU-second (target >= "
        "30,000) | peak RSS (target < 1 GB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, measured in results.items():
        seconds = statistics.median(m["seconds"] for m in measured)
        best = min(m["seconds"] for m in measured)
        per_cpu = statistics.median(spans / m["cpu_s"] for m in measured)
        rss = max(m["rss_mb"] for m in measured)
        out.append(
            f"| {name} | {seconds:.1f} ({best:.1f}) | {spans / seconds:,.0f} "
            f"({spans / best:,.0f}) | {per_cpu:,.0f} | {rss:,.0f} MB |"
        )
    out += [
        "",
        f"The collector that derived the runs ahead spent {ahead_cpu:.1f} CPU-s on it during the "
        f"ingest ({spans / ahead_cpu:,.0f} spans per CPU-second; its CPU for the ingest beside "
        "the other collector's for the same ingest): work done once, as the runs end, that no "
        "export of these runs repeats.",
        "",
        "Every export, in order:",
        "",
    ]
    for name, measured in results.items():
        for m in measured:
            out.append(f"- {name}: {line(spans, m)}")
    return "\n".join(out)


if __name__ == "__main__":
    main()
