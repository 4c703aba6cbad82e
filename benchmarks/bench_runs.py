"""Many runs from the embedded collector: list them, derive and export them to Parquet.

Run: ``python benchmarks/bench_runs.py`` (about 5 minutes; ``--quick`` for 200 and 1,000 runs,
``--repeat N`` exports per size (default 3), ``--write`` to write the table into
benchmarks/README.md).

For each size (1,000 and 10,000 runs of 100 spans, measured side by side in one run):

- the collector (``otel-bridge collector serve``, its own process, ``--no-prepare-runs`` so
  no background derivation competes) is filled over OTLP/HTTP with two-agent
  OpenInference-shaped runs (``bench_ingest.agent_trace``: steps, LLM calls with token counts
  and a 6-message history, tool calls, a handoff every 8 turns); filling is not timed;
- **list**: ``list_runs(url, limit=None, details=False)`` (what ``otel-bridge traces URL
  --brief --limit 0`` prints), in this process, median of 3;
- **export**: ``otel-bridge export URL -o DIR`` in a fresh process, timed from its start to its
  exit (interpreter start included): list, read the runs' spans (protobuf, many runs per
  ``GET /api/spans``), derive, write the six tables as Parquet, in worker processes. Repeated
  ``--repeat`` times (the machine is shared: the best and the median are reported, with the
  load average around each export). Peak RSS is summed over the export process and its
  workers. The Parquet is read back with DuckDB and checked: one row per run, 17 LLM calls
  per run.
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
sys.path.insert(0, str(ROOT / "tests"))

from bench_ingest import agent_trace  # noqa: E402
from results import write_section  # noqa: E402
from support.phoenix_server import free_port  # noqa: E402

from otel_bridge.otlp import to_request  # noqa: E402
from otel_bridge.sources import list_runs  # noqa: E402
from otel_bridge.sources._reading import BATCH_SPANS  # noqa: E402
from otel_bridge.tables._writer import BATCH_ROWS  # noqa: E402

SPANS_PER_RUN = 100
LLM_CALLS_PER_RUN = 17  # agent_trace: 6 spans a turn, the 17th turn cut after its LLM call
PROFILED_RUNS = 300  # runs read and derived in this process for the breakdown (all in memory)
PROTOBUF = {"content-type": "application/x-protobuf"}
OTEL_BRIDGE = [sys.executable, "-m", "otel_bridge.cli"]


class CollectorProcess:
    """``otel-bridge collector serve`` on a free loopback port; stopped by its own pid."""

    def __init__(self, db: Path, prepare: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*OTEL_BRIDGE, "collector", "serve", "--db", str(db), "--http-port", str(self.port),
             "--no-grpc", *([] if prepare else ["--no-prepare-runs"]),
             "--synchronous", "NORMAL"],
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


def measure(
    tmp: Path, runs: int, workers: int | None, repeat: int, profile: bool
) -> dict[str, Any]:
    """Fill a collector with ``runs`` runs, list them, export them ``repeat`` times.

    With ``profile``, also where the CPU goes per run (``breakdown``), on that collector.
    """
    collector = CollectorProcess(tmp / f"spans-{runs}.db")
    exports = []
    steps: dict[str, float] = {}
    try:
        fill(collector.url, runs, seed=runs)
        listed = time_list(collector.url, runs)
        cli_listed = time_cli_list(collector.url, runs)
        for _ in range(repeat):
            load = os.getloadavg()[0]
            out = tmp / f"export-{runs}"
            exported = time_export(collector.url, out, runs, workers, collector.proc.pid)
            exported["load"] = (load, os.getloadavg()[0])
            shutil.rmtree(out, ignore_errors=True)
            exports.append(exported)
            print(f"{runs:>6,} runs: {line(runs, exported)}")
        if profile:
            steps = breakdown(collector.url, PROFILED_RUNS)
            steps["collector: `GET /api/spans` served (SQLite read, framing, HTTP)"] = (
                collector_breakdown(collector.url, collector.proc.pid, PROFILED_RUNS)
            )
    finally:
        collector.stop()
    spans = runs * SPANS_PER_RUN
    by_time = sorted(exports, key=lambda e: e["seconds"])
    best, median = by_time[0], by_time[(len(by_time) - 1) // 2]
    return {
        "runs": runs,
        "spans": spans,
        "list_s": listed,
        "cli_list_s": cli_listed,
        "best": best,
        "median": median,
        "exports": exports,
        "rss_mb": max(e["rss_mb"] for e in exports),
        "steps": steps,
    }


def line(runs: int, exported: dict[str, Any]) -> str:
    """One export, one line: time, throughput, CPU, RSS and the load around it."""
    spans = runs * SPANS_PER_RUN
    cpu = exported["cpu_s"] + exported["collector_cpu_s"]
    return (
        f"export {exported['seconds']:5.1f} s ({spans / exported['seconds']:,.0f} spans/s; CPU "
        f"{exported['cpu_s']:.1f} s + collector {exported['collector_cpu_s']:.1f} s: "
        f"{spans / (cpu / 2):,.0f} spans/s on 2 free cores), peak RSS "
        f"{exported['rss_mb']:,.0f} MB, load {exported['load'][0]:.1f} -> {exported['load'][1]:.1f}"
    )


def breakdown(url: str, runs: int, per_request: int = 50) -> dict[str, float]:
    """CPU milliseconds per run of each step of an export worker, in this process.

    The first ``runs`` runs of the collector at ``url``, read ``per_request`` runs per
    ``GET /api/spans`` (what the export asks for with runs of 100 spans), with long-lived
    objects frozen out of the cycle collector as the export does; best of 3 passes.
    """
    import gc

    from otel_bridge.derivation import derive
    from otel_bridge.otlp import PROTOBUF, decode_request, from_request
    from otel_bridge.spans import group_by_trace
    from otel_bridge.tables import TABLES
    from otel_bridge.tables._arrow import arrow_table
    from otel_bridge.tables._rows import rows_of

    ids = [s.trace_id for s in list_runs(url, limit=runs, details=False)]
    batches = [ids[i : i + per_request] for i in range(0, len(ids), per_request)]
    steps: dict[str, float] = {}

    def step(name: str, fn: Any, items: list[Any], per: int = 1) -> list[Any]:
        best, out = float("inf"), []
        for _ in range(3):
            started = time.process_time()
            out = [fn(item) for item in items]
            best = min(best, time.process_time() - started)
        steps[name] = best / (len(items) * per) * 1000
        return out

    arrow_table("runs", [])  # pyarrow's first array imports pandas: not timed
    gc.collect()
    gc.freeze()
    with httpx.Client(timeout=120) as client:

        def get(batch: list[str]) -> bytes:
            params = [("trace_id", tid) for tid in batch]
            answer = client.get(f"{url}/api/spans", params=params, headers={"Accept": PROTOBUF})
            return answer.raise_for_status().content

        bodies = step(
            f"`GET /api/spans`, {per_request} runs a request (httpx)", get, batches, per_request
        )
    requests = step("protobuf decode", decode_request, bodies, per_request)
    spans = step(
        "OTLP -> SpanRecord (`otlp.from_request`)",
        lambda r: list(group_by_trace(from_request(r)).values()),
        requests,
        per_request,
    )
    spans = [run for batch in spans for run in batch]
    traces = step("`derive` (with cost and labels)", derive, spans)
    records = step("RunTrace JSON (`to_dict`)", lambda t: t.to_dict(), traces)
    rows = step("table rows (`rows_of`)", rows_of, records)
    columns: dict[str, list[Any]] = {table: [] for table in TABLES}
    for run in rows:
        for table, found in run.items():
            columns[table].extend(found)
    started = time.process_time()
    for table, found in columns.items():
        arrow_table(table, found)  # type: ignore[arg-type]
    steps["Arrow batches"] = (time.process_time() - started) / len(spans) * 1000
    gc.unfreeze()
    return steps


def collector_breakdown(url: str, collector_pid: int, runs: int, per_request: int = 50) -> float:
    """CPU milliseconds per run of the collector serving ``GET /api/spans`` (best of 3)."""
    from otel_bridge.otlp import PROTOBUF

    ids = [s.trace_id for s in list_runs(url, limit=runs, details=False)]
    best = float("inf")
    with httpx.Client(timeout=120) as client:
        for _ in range(3):
            before = process_cpu(collector_pid)
            for i in range(0, len(ids), per_request):
                params = [("trace_id", tid) for tid in ids[i : i + per_request]]
                client.get(f"{url}/api/spans", params=params, headers={"Accept": PROTOBUF})
            best = min(best, process_cpu(collector_pid) - before)
    return best / len(ids) * 1000


def render(rows: list[dict[str, Any]], repeat: int, load_before: float, load_after: float) -> str:
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
        "export URL -o DIR` (Parquet, its default workers) as a fresh process, start to exit, "
        f"{repeat} times per size; the result is read back with DuckDB and checked. CPU: user + "
        "system seconds of the export process and its workers, and of the collector process "
        "during the export; 'spans per 2 CPU-seconds' is what two cores would give if nothing "
        "else ran. The machine is shared: load average "
        f"{load_before:.1f} before this run, {load_after:.1f} after, and per export below (an "
        "export adds about 2 itself: its two workers and the collector).",
        "",
        "| runs | spans | list_runs (target < 1 s at 10k) | `traces --brief` process | "
        "export s, best / median | export spans/s, best / median (target >= 50,000) | "
        "CPU s of the best: export + collector | spans per 2 CPU-seconds | "
        "export peak RSS, all processes, max (target < 1 GB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        best, median = r["best"], r["median"]
        cpu = best["cpu_s"] + best["collector_cpu_s"]
        lines.append(
            f"| {r['runs']:,} | {r['spans']:,} | {r['list_s'] * 1000:,.0f} ms | "
            f"{r['cli_list_s']:.2f} s | {best['seconds']:.1f} / {median['seconds']:.1f} | "
            f"{r['spans'] / best['seconds']:,.0f} / {r['spans'] / median['seconds']:,.0f} | "
            f"{best['cpu_s']:.1f} + {best['collector_cpu_s']:.1f} | "
            f"{r['spans'] / (cpu / 2):,.0f} | {r['rss_mb']:,.0f} MB |"
        )
    small, large = rows[0], rows[-1]
    lines += ["", "Every export, in order (load average: 1-minute, before -> after):", ""]
    for r in rows:
        for exported in r["exports"]:
            lines.append(f"- {r['runs']:,} runs: {line(r['runs'], exported)}")
    per_run = (large["median"]["seconds"] / large["runs"]) / (
        small["median"]["seconds"] / small["runs"]
    )
    lines += [
        "",
        f"Peak RSS {large['rss_mb'] / small['rss_mb']:.2f}x for "
        f"{large['runs'] // small['runs']}x the runs; export time per run {per_run:.2f}x "
        "(medians). Memory is bounded by each worker's row buffers (up to "
        f"{BATCH_ROWS:,} rows per table, one Parquet row group), which fill up only past a few "
        f"thousand runs per worker, and by the batch of about {BATCH_SPANS:,} spans being "
        "read, not by the number of runs.",
    ]
    steps = next((r["steps"] for r in rows if r["steps"]), {})
    if steps:
        best = large["best"]
        client_ms = best["cpu_s"] / large["runs"] * 1000
        collector_ms = best["collector_cpu_s"] / large["runs"] * 1000
        lines += [
            "",
            f"Where the CPU goes, per run of {SPANS_PER_RUN} spans: in the best export of "
            f"{large['runs']:,} runs, {client_ms:.2f} ms in the export's processes (interpreter "
            f"starts and imports included) and {collector_ms:.2f} ms in the collector. The "
            f"steps of a worker, measured alone in one process on {PROFILED_RUNS} runs (best "
            "of 3):",
            "",
            "| step | CPU ms per run |",
            "|---|---:|",
        ]
        client = {k: v for k, v in steps.items() if not k.startswith("collector")}
        lines += [f"| {name} | {ms:.2f} |" for name, ms in client.items()]
        lines += [f"| sum of the worker's steps | {sum(client.values()):.2f} |"]
        lines += [f"| {name} | {ms:.2f} |" for name, ms in steps.items() if name not in client]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 runs")
    parser.add_argument("--workers", type=int, help="export --workers (default: its own)")
    parser.add_argument("--repeat", type=int, default=3, help="exports per size (default 3)")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    sizes = (200, 1000) if args.quick else (1000, 10_000)
    load = os.getloadavg()[0]
    print(f"load average before: {load:.1f}")
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        rows = [
            measure(Path(tmp), runs, args.workers, args.repeat, profile=runs == sizes[0])
            for runs in sizes
        ]
    table = render(rows, args.repeat, load, os.getloadavg()[0])
    print()
    print(table)
    if args.write:
        write_section("runs", table)


if __name__ == "__main__":
    main()
