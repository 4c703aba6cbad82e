"""``GET /api/traces/{id}/run`` derived on demand, this code beside another checkout's.

Run: ``python benchmarks/bench_run_api.py --baseline /path/to/other/checkout [--write]``.

Each round runs one process per code version (``PYTHONPATH`` this checkout, then the
baseline), in turn, ``--rounds`` times: an embedded collector in that process (``Collector``,
``prepare_runs`` off, so nothing is derived ahead), ``--traces`` distinct 1,000-span agent
traces (``bench_ingest.agent_trace``) sent over OTLP/HTTP, then each asked for once over HTTP
(the first answer of a trace is always derived). The median of each process, then the median
over the rounds; interleaving the versions shares out whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import commit_of, write_section  # noqa: E402

CHILD = r"""
import gc, json, random, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import httpx
from bench_ingest import agent_trace
from otel_bridge.collector import Collector
from otel_bridge.otlp import to_request

traces = int(sys.argv[2])
rnd = random.Random(7)
with tempfile.TemporaryDirectory() as tmp:
    with Collector(Path(tmp) / "spans.db", grpc_port=None, prepare_runs=False) as collector, \
            httpx.Client(timeout=60) as client:
        ids = []
        for i in range(traces):
            trace = agent_trace(0xB16_7ACE + i, 1000, time.time_ns(), rnd)
            body = to_request(trace).SerializeToString()
            client.post(f"{collector.http_url}/v1/traces", content=body,
                        headers={"content-type": "application/x-protobuf"}).raise_for_status()
            ids.append(trace[0].trace_id_hex)
        del trace, body
        gc.collect()
        times, cpu = [], []
        for tid in ids:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(f"{collector.http_url}/api/traces/{tid}/run")
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200 and len(response.json()["llm_calls"]) > 100
print(json.dumps([statistics.median(times), statistics.median(cpu)]))
"""


def measure(code: Path, traces: int) -> tuple[float, float]:
    """The median ms of one process with the code of ``code``: wall, and CPU of the process."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "benchmarks"), str(traces)],
        env=env, cwd=code, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{code}: {out.stderr}")
    wall, cpu = json.loads(out.stdout)
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--traces", type=int, default=15)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    loads = []
    for n in range(args.rounds):
        ours.append(measure(ROOT, args.traces))
        theirs.append(measure(args.baseline, args.traces))
        loads.append(os.getloadavg()[0])
        print(f"round {n + 1}: this {ours[-1]} ms, baseline {theirs[-1]} ms, load {loads[-1]}")
    a, b = (statistics.median(t[0] for t in v) for v in (ours, theirs))
    a_cpu, b_cpu = (statistics.median(t[1] for t in v) for v in (ours, theirs))
    table = "\n".join(
        [
            "## `/api/traces/{id}/run` derived on demand, side by side "
            "(`python benchmarks/bench_run_api.py --baseline CHECKOUT --write`)",
            "",
            f"Target: at most 20 ms for a 1,000-span run. {args.rounds} rounds, each one process "
            f"per version in turn, {args.traces} distinct traces asked for once each (medians "
            f"of the medians). CPython {sys.version.split()[0]}, {os.cpu_count()} cores, "
            f"shared: load average {min(loads):.1f} to {max(loads):.1f} during the rounds. Wall "
            "time is what a client waits; CPU time (of the whole process: server and client "
            "threads) is what a busy machine cannot inflate as much.",
            "",
            "| code | median wall ms (target <= 20) | median CPU ms | every round, wall / CPU ms |",
            "|---|---:|---:|---|",
            f"| this code | {a:.1f} | {a_cpu:.1f} | "
            f"{', '.join(f'{w:.1f} / {c:.1f}' for w, c in ours)} |",
            f"| baseline ({commit_of(args.baseline)}) | {b:.1f} | {b_cpu:.1f} | "
            f"{', '.join(f'{w:.1f} / {c:.1f}' for w, c in theirs)} |",
            "",
            f"This code / baseline: {a / b:.2f} wall, {a_cpu / b_cpu:.2f} CPU.",
        ]
    )
    print(table)
    if args.write:
        write_section("run-api", table)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
