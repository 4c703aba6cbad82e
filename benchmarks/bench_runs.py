"""Many runs from the embedded collector: list them, derive and export them to Parquet.

Run: ``python benchmarks/bench_runs.py`` (about 3 minutes; ``--quick`` for 200 and 1,000 runs,
``--write`` to write the table into benchmarks/README.md).

For each size (1,000 and 10,000 runs of 100 spans, measured side by side in one run):

- the collector (``otel-bridge collector serve``, its own process, ``--no-prepare-runs`` so
  no background derivation competes) is filled over OTLP/HTTP with two-agent
  OpenInference-shaped runs (``bench_ingest.agent_trace``: steps, LLM calls with token counts
  and a 6-message history, tool calls, a handoff every 8 turns); filling is not timed;
- **list**: ``list_runs(url, limit=None, details=False)`` (what ``otel-bridge traces URL
  --brief --limit 0`` prints), in this process, median of 3;
- **export**: ``otel-bridge export URL -o DIR`` in a fresh process, timed from its start to its
  exit (interpreter start included): list, read every run's spans (protobuf), derive, write the
  six tables as Parquet. Peak RSS is that process's (``wait4``). The Parquet is read back with
  DuckDB and checked: one row per run, 17 LLM calls per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import agent_trace  # noqa: E402
from results import write_section  # noqa: E402

from otel_bridge.otlp import to_request  # noqa: E402
from otel_bridge.sources import list_runs  # noqa: E402

SPANS_PER_RUN = 100
LLM_CALLS_PER_RUN = 17  # agent_trace: 6 spans a turn, the 17th turn cut after its LLM call
PROTOBUF = {"content-type": "application/x-protobuf"}
OTEL_BRIDGE = [sys.executable, "-m", "otel_bridge.cli"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CollectorProcess:
    """``otel-bridge collector serve`` on a free loopback port; stopped by its own pid."""

    def __init__(self, db: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*OTEL_BRIDGE, "collector", "serve", "--db", str(db), "--http-port", str(self.port),
             "--no-grpc", "--no-prepare-runs", "--synchronous", "NORMAL"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/traces", params={"limit": 1}, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("the collector did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def fill(url: str, runs: int, seed: int) -> None:
    """``runs`` runs of SPANS_PER_RUN spans, sent 10 runs per request."""
    rnd = random.Random(seed)
    t0 = time.time_ns() - runs * 10**9
    with httpx.Client(timeout=120) as client:
        for first in range(0, runs, 10):
            spans = []
            for i in range(first, min(runs, first + 10)):
                spans += agent_trace(rnd.getrandbits(127) | 1, SPANS_PER_RUN, t0 + i * 10**9, rnd)
            body = to_request(spans).SerializeToString()
            response = client.post(f"{url}/v1/traces", content=body, headers=PROTOBUF)
            response.raise_for_status()


def time_list(url: str, runs: int) -> float:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        count = sum(1 for _ in list_runs(url, limit=None, details=False))
        samples.append(time.perf_counter() - started)
        if count != runs:
            raise SystemExit(f"listed {count} runs, stored {runs}")
    return statistics.median(samples)


def time_export(
    url: str, out: Path, runs: int, workers: int | None, collector_pid: int
) -> dict[str, float]:
    """The export command in its own process: wall seconds, and peak RSS of it and its workers.

    RSS is sampled from /proc every 20 ms over the export process and its children, summed.
    """
    command = [*OTEL_BRIDGE, "export", url, "-o", str(out)]
    if workers is not None:
        command += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    collector_before = process_cpu(collector_pid)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the export and its workers
    if proc.returncode != 0:
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"export failed ({proc.returncode}): {stderr}")
    check(out, runs)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "seconds": seconds,
        "rss_mb": peak / 2**20,
        "cpu_s": cpu,
        "collector_cpu_s": process_cpu(collector_pid) - collector_before,
    }


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (0 for those gone meanwhile)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def time_cli_list(url: str, runs: int) -> float:
    """``otel-bridge traces URL --brief --limit 0 --json`` as a process, start to exit."""
    started = time.perf_counter()
    out = subprocess.run(
        [*OTEL_BRIDGE, "traces", url, "--brief", "--limit", "0", "--json"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    seconds = time.perf_counter() - started
    printed = len(out.splitlines())
    if printed != runs:
        raise SystemExit(f"traces printed {printed} runs, stored {runs}")
    return seconds


def check(out: Path, runs: int) -> None:
    import duckdb

    (got,) = duckdb.sql(
        f"SELECT (SELECT count(*) FROM read_parquet('{out}/runs/*.parquet')), "
        f"(SELECT count(*) FROM read_parquet('{out}/llm_calls/*.parquet'))"
    ).fetchall()
    if got != (runs, runs * LLM_CALLS_PER_RUN):
        raise SystemExit(f"export holds {got}, expected ({runs}, {runs * LLM_CALLS_PER_RUN})")


def measure(tmp: Path, runs: int, workers: int | None) -> dict[str, Any]:
    collector = CollectorProcess(tmp / f"spans-{runs}.db")
    try:
        fill(collector.url, runs, seed=runs)
        listed = time_list(collector.url, runs)
        cli_listed = time_cli_list(collector.url, runs)
        exported = time_export(
            collector.url, tmp / f"export-{runs}", runs, workers, collector.proc.pid
        )
    finally:
        collector.stop()
    spans = runs * SPANS_PER_RUN
    result = {"runs": runs, "spans": spans, "list_s": listed, "cli_list_s": cli_listed}
    result |= exported
    result["spans_per_s"] = spans / exported["seconds"]
    # What two idle cores would do: all the CPU the export and the collector spent, on two.
    result["spans_per_2cpu_s"] = spans / ((exported["cpu_s"] + exported["collector_cpu_s"]) / 2)
    print(
        f"{runs:>6,} runs: list {listed * 1000:6.0f} ms (CLI {cli_listed:.2f} s), export "
        f"{exported['seconds']:6.1f} s ({result['spans_per_s']:,.0f} spans/s; CPU "
        f"{exported['cpu_s']:.1f} s + collector {exported['collector_cpu_s']:.1f} s: "
        f"{result['spans_per_2cpu_s']:,.0f} spans/s on 2 free cores), peak RSS "
        f"{exported['rss_mb']:,.0f} MB"
    )
    shutil.rmtree(tmp / f"export-{runs}", ignore_errors=True)
    return result


def breakdown(count: int = 300) -> dict[str, float]:
    """CPU milliseconds per run of each client step, in this process (best of 3 passes)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from otel_bridge.derivation import derive
    from otel_bridge.otlp import from_request
    from otel_bridge.sources import run_labels
    from otel_bridge.tables import TABLES
    from otel_bridge.tables._arrow import arrow_table
    from otel_bridge.tables._rows import rows_of

    rnd = random.Random(5)
    bodies = [
        to_request(
            agent_trace(rnd.getrandbits(127) | 1, SPANS_PER_RUN, 10**18, rnd)
        ).SerializeToString()
        for _ in range(count)
    ]
    steps: dict[str, float] = {}

    def step(name: str, fn: Any, items: list[Any]) -> list[Any]:
        best, out = float("inf"), []
        for _ in range(3):
            started = time.process_time()
            out = [fn(item) for item in items]
            best = min(best, time.process_time() - started)
        steps[name] = best / len(items) * 1000
        return out

    requests = step("protobuf decode", ExportTraceServiceRequest.FromString, bodies)
    spans = step("OTLP -> SpanRecord (`otlp.from_request`)", from_request, requests)
    traces = step("`derive` (with cost)", derive, spans)
    records = step("RunTrace JSON (`to_dict`)", lambda t: t.to_dict(), traces)
    step("labels (`run_labels`)", run_labels, spans)
    rows = step("table rows (`rows_of`)", rows_of, records)
    batches: dict[str, list[Any]] = {table: [] for table in TABLES}
    for run in rows:
        for table, found in run.items():
            batches[table].extend(found)
    arrow_table("runs", batches["runs"][:1])  # pyarrow's first array imports pandas: not timed
    started = time.process_time()
    for table, found in batches.items():
        arrow_table(table, found)  # type: ignore[arg-type]
    steps["Arrow batches"] = (time.process_time() - started) / count * 1000
    return steps


def render(
    rows: list[dict[str, Any]], steps: dict[str, float], load_before: float, load_after: float
) -> str:
    lines = [
        "## Many runs: list, derive, export (`python benchmarks/bench_runs.py --write`)",
        "",
        "Targets: list 10,000 runs in under 1 s; derive and export 10,000 runs of ~100 spans "
        "(1 million spans) to Parquet at 50,000 spans/s or more end to end, with peak RSS under "
        "1 GB and flat in the number of runs.",
        "",
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores. "
        "The collector is its own process (`otel-bridge collector serve --no-prepare-runs`); "
        f"runs of {SPANS_PER_RUN} spans (~2 KB each). List: `list_runs(url, details=False)` "
        "(= `otel-bridge traces URL --brief --limit 0`), median of 3. Export: `otel-bridge "
        "export URL -o DIR` (Parquet) as a fresh process, start to exit; the result is read "
        "back with DuckDB and checked. CPU: user + system seconds of the export process and its "
        "workers, and of the collector process during the export; 'spans per 2 CPU-seconds' is "
        "what two cores would give if nothing else ran (the machine is shared: load average "
        f"{load_before:.1f} before this run, {load_after:.1f} after).",
        "",
        "| runs | spans | list_runs (target < 1 s at 10k) | `traces --brief` process | "
        "export s | export spans/s (target >= 50,000) | CPU s: export + collector | "
        "spans per 2 CPU-seconds | export peak RSS, all processes (target < 1 GB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['runs']:,} | {r['spans']:,} | {r['list_s'] * 1000:,.0f} ms | "
            f"{r['cli_list_s']:.2f} s | {r['seconds']:.1f} | {r['spans_per_s']:,.0f} | "
            f"{r['cpu_s']:.1f} + {r['collector_cpu_s']:.1f} | {r['spans_per_2cpu_s']:,.0f} | "
            f"{r['rss_mb']:,.0f} MB |"
        )
    small, large = rows[0], rows[-1]
    collector_ms = large["collector_cpu_s"] / large["runs"] * 1000
    client_ms = large["cpu_s"] / large["runs"] * 1000
    lines += [
        "",
        f"Peak RSS {large['rss_mb'] / small['rss_mb']:.2f}x for "
        f"{large['runs'] // small['runs']}x the runs; export time per run "
        f"{(large['seconds'] / large['runs']) / (small['seconds'] / small['runs']):.2f}x.",
        "",
        f"Where the CPU goes, per run of {SPANS_PER_RUN} spans, at {large['runs']:,} runs: "
        f"{client_ms:.2f} ms in the export's processes and {collector_ms:.2f} ms in the "
        "collector (SQLite read, OTLP request assembly and HTTP, one request per run). The "
        "client's steps, measured alone in one process (best of 3):",
        "",
        "| client step | CPU ms per run |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in steps.items()]
    lines += [f"| sum | {sum(steps.values()):.2f} |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 runs")
    parser.add_argument("--workers", type=int, help="export --workers (default: its own)")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    sizes = (200, 1000) if args.quick else (1000, 10_000)
    load = os.getloadavg()[0]
    print(f"load average before: {load:.1f}")
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        rows = [measure(Path(tmp), runs, args.workers) for runs in sizes]
    steps = breakdown()
    table = render(rows, steps, load, os.getloadavg()[0])
    print()
    print(table)
    if args.write:
        write_section("runs", table)


if __name__ == "__main__":
    main()
