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


def time_export(url: str, out: Path, runs: int) -> dict[str, float]:
    """The export command in its own process: wall seconds and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*OTEL_BRIDGE, "export", url, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"export failed ({status}): {stderr}")
    check(out, runs)
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024}


def check(out: Path, runs: int) -> None:
    import duckdb

    (got,) = duckdb.sql(
        f"SELECT (SELECT count(*) FROM read_parquet('{out}/runs/*.parquet')), "
        f"(SELECT count(*) FROM read_parquet('{out}/llm_calls/*.parquet'))"
    ).fetchall()
    if got != (runs, runs * LLM_CALLS_PER_RUN):
        raise SystemExit(f"export holds {got}, expected ({runs}, {runs * LLM_CALLS_PER_RUN})")


def measure(tmp: Path, runs: int) -> dict[str, Any]:
    collector = CollectorProcess(tmp / f"spans-{runs}.db")
    try:
        fill(collector.url, runs, seed=runs)
        listed = time_list(collector.url, runs)
        exported = time_export(collector.url, tmp / f"export-{runs}", runs)
    finally:
        collector.stop()
    spans = runs * SPANS_PER_RUN
    result = {"runs": runs, "spans": spans, "list_s": listed, **exported}
    result["spans_per_s"] = spans / exported["seconds"]
    print(
        f"{runs:>6,} runs: list {listed * 1000:6.0f} ms, export {exported['seconds']:6.1f} s "
        f"({result['spans_per_s']:,.0f} spans/s), peak RSS {exported['rss_mb']:,.0f} MB"
    )
    shutil.rmtree(tmp / f"export-{runs}", ignore_errors=True)
    return result


def render(rows: list[dict[str, Any]]) -> str:
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
        "back with DuckDB and checked.",
        "",
        "| runs | spans | list (target < 1 s at 10k) | export s | export spans/s "
        "(target >= 50,000) | export peak RSS (target < 1 GB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['runs']:,} | {r['spans']:,} | {r['list_s'] * 1000:,.0f} ms | "
            f"{r['seconds']:.1f} | {r['spans_per_s']:,.0f} | {r['rss_mb']:,.0f} MB |"
        )
    small, large = rows[0], rows[-1]
    lines += [
        "",
        f"Peak RSS {large['rss_mb'] / small['rss_mb']:.2f}x for "
        f"{large['runs'] // small['runs']}x the runs; export time per run "
        f"{(large['seconds'] / large['runs']) / (small['seconds'] / small['runs']):.2f}x.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 runs")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    sizes = (200, 1000) if args.quick else (1000, 10_000)
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        rows = [measure(Path(tmp), runs) for runs in sizes]
    table = render(rows)
    print()
    print(table)
    if args.write:
        write_section("runs", table)


if __name__ == "__main__":
    main()
