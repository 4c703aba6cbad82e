"""Isolation at scale: 1,000 adapter runs on 8 threads and runs under asyncio.gather, one shared
Telemetry, each run's data against the scripted server's ground truth; figures for
RELIABILITY.md.

Run: ``python stress/isolation.py`` (1,000 threaded runs, 200 gathered in batches of 50; about
a minute on 2 cores; ``--runs``, ``--gathered``, ``--threads`` to change, ``--write`` to put
the table into docs/RELIABILITY.md).

The runs and checks are those of ``tests/telemetry/test_isolation.py`` (which runs 40): every fifth
run is the two-agent demo workflow (a handoff), the others a calculator agent with its own numbers
and token counts; threaded runs go through MASEval's adapter (a new adapter per run, one agent
object per kind shared by all threads), gathered runs are plain agent runs, each in its own
root span, on one event loop. For every run, its messages (the whole history the server was
last sent, and its final answer), tool calls (ids, names, arguments) and tokens (input,
output, cached) must equal what the server saw and sent for that run, and the OTLP/JSON file
the Telemetry wrote must derive to the same RunTrace.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _report import machine, write_section
from test_isolation import (
    DEMO_EVERY,
    Outcome,
    ground_truth,
    mismatches,
    run_gathered,
    run_on_threads,
    same_in_file,
    script,
)

from otel_bridge import Telemetry
from otel_bridge.scripted import ScriptedLLMServer


async def gathered_batches(
    server: ScriptedLLMServer, telemetry: Telemetry, indexes: list[int], batch: int
) -> Outcome:
    outcome = Outcome()
    for start in range(0, len(indexes), batch):
        part = await run_gathered(server, telemetry, indexes[start : start + batch])
        outcome.runs.update(part.runs)
        outcome.errors.extend(part.errors)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000, help="threaded adapter runs")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--gathered", type=int, default=200, help="runs under asyncio.gather")
    parser.add_argument("--batch", type=int, default=50, help="runs per asyncio.gather")
    parser.add_argument("--write", action="store_true", help="update docs/RELIABILITY.md")
    args = parser.parse_args()

    total = args.runs + args.gathered
    router = script(total)
    rows = []
    with ScriptedLLMServer(router) as server, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.otlp.json"
        telemetry = Telemetry(otlp_json_file=path, max_traces=2 * total, service_name="isolation")
        try:
            started = time.perf_counter()
            threaded = run_on_threads(server, telemetry, list(range(args.runs)), args.threads)
            rows.append(
                ("adapter on threads", args.threads, threaded, time.perf_counter() - started)
            )
            started = time.perf_counter()
            indexes = list(range(args.runs, total))
            gathered = asyncio.run(gathered_batches(server, telemetry, indexes, args.batch))
            rows.append(("asyncio.gather", args.batch, gathered, time.perf_counter() - started))
        finally:
            telemetry.shutdown()
        truth = ground_truth(server, router)
        runs = {**threaded.runs, **gathered.runs}
        differ_in_file = same_in_file(path, runs)
        spans_written = path.stat().st_size

    lines = [
        f"`python stress/isolation.py --runs {args.runs} --threads {args.threads} "
        f"--gathered {args.gathered}` ({machine()}; every {DEMO_EVERY}th run a two-agent "
        "handoff, the rest a calculator with its own numbers and tokens)",
        "",
        "| how | at once | runs | failed | distinct traces | messages ≠ truth "
        "| tool calls ≠ truth | tokens ≠ truth | runs/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bad = 0
    for name, at_once, outcome, seconds in rows:
        found = mismatches(outcome.runs, truth)
        bad += len(outcome.errors) + sum(len(v) for v in found.values())
        traces = len({r.trace_id for r in outcome.runs.values()})
        lines.append(
            f"| {name} | {at_once} | {len(outcome.runs) + len(outcome.errors):,} "
            f"| {len(outcome.errors)} | {traces:,} | {len(found['messages'])} "
            f"| {len(found['tool calls'])} | {len(found['tokens'])} "
            f"| {len(outcome.runs) / seconds:.0f} |"
        )
        for error in outcome.errors[:5]:
            print("FAILED", error, file=sys.stderr)
        for kind, names in found.items():
            if names:
                print(f"MISMATCH {kind}: {names[:10]}", file=sys.stderr)
    bad += len(differ_in_file)
    lines += [
        "",
        f"The OTLP/JSON file ({spans_written / 2**20:.1f} MiB) derives to the same RunTrace for "
        f"{len(runs) - len(differ_in_file):,} of {len(runs):,} runs; issues on any run: "
        f"{sum(1 for r in runs.values() if r.issues)}.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section("isolation", table)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
