"""Crash durability: kill -9 the collector while exports are in flight, restart, count.

Run: ``python stress/crash.py`` (20 rounds, about 2 minutes; ``--rounds N``, ``--write`` to put
the table into docs/RELIABILITY.md).

Each round starts ``otel-bridge collector serve`` on one database (kept across rounds, so
each restart also replays and reopens what the rounds before left), runs 4 exporters at
once (2 over OTLP/HTTP, 2 over OTLP/gRPC, 10 spans per request, no pause between requests)
and SIGKILLs the collector once 40 more requests are acknowledged, with others in flight.
It restarts the collector and reads every acknowledged trace back over the query API
(lost: acknowledged spans missing; duplicated: a span stored twice), then re-sends every
request of the round, acknowledged or not, as an exporter retrying would, and checks that
each span is stored exactly once. The test suite runs one such round
(``tests/collector/test_collector_store.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _report import machine, write_section
from support.crash_rounds import crash_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="update docs/RELIABILITY.md")
    args = parser.parse_args()

    totals = {"requests": 0, "acked": 0, "spans": 0, "in_flight": 0, "lost": 0, "dup": 0}
    exactly_once = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "crash.db"
        for round_no in range(1, args.rounds + 1):
            result = crash_round(db, round_no)
            totals["requests"] += len(result.sent)
            totals["acked"] += len(result.acked)
            totals["spans"] += result.acked_spans
            totals["in_flight"] += result.in_flight
            totals["lost"] += result.lost
            totals["dup"] += result.duplicated
            exactly_once += result.resent_exactly_once
            print(
                f"round {round_no}: {len(result.acked)} acked ({result.acked_spans} spans), "
                f"{result.in_flight} in flight at the kill, lost {result.lost}, "
                f"duplicated {result.duplicated}, exactly once after re-sending: "
                f"{result.resent_exactly_once}",
                flush=True,
            )
    seconds = time.perf_counter() - started
    table = "\n".join(
        [
            f"`python stress/crash.py --rounds {args.rounds}` ({machine()}, {seconds:.0f} s)",
            "",
            "| kill -9 rounds | requests acked | spans acked | requests in flight at the kill "
            "| acked spans lost | spans duplicated | rounds stored exactly once after re-send |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {args.rounds} | {totals['acked']:,} | {totals['spans']:,} | "
            f"{totals['in_flight']} | {totals['lost']} | {totals['dup']} | "
            f"{exactly_once} of {args.rounds} |",
        ]
    )
    print(table)
    if args.write:
        write_section("crash", table)
    ok = totals["lost"] == 0 and totals["dup"] == 0 and exactly_once == args.rounds
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
