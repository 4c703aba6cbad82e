"""Ingest throughput of the collector with the web UI, with 0 and with 5 live pages open.

Run: ``python benchmarks/bench_ui_ingest.py`` (a few minutes; ``--quick`` for a smoke run,
``--write`` to write the table into benchmarks/README.md).

The load is the ingest benchmark's (``bench_ingest.py``: requests of 512 OpenInference-shaped
spans in traces of 32, sent by client processes, acknowledged once committed, synchronous=FULL)
against a collector serving the web UI (``collector serve``'s app). "5 pages" is five
``GET /api/events`` streams held open by another process for the whole load, reading every
event (a trace summary per new or grown trace, at most one per trace per 250 ms), as five
browser tabs on the runs page would. The two conditions alternate, ``--rounds`` times each,
in one run, after a warm-up round that is not counted; each round's database is deleted and
the disk synced before the next, so that no round pays for another's writeback. The figures
are the medians of the rounds: throughput (the ratio 5 pages / none: target at least 0.90) and
the collector's CPU time per 1,000 spans (its process, every thread: receiver, writer, the
runs derived ahead, the event streams), which a busy machine disturbs less, though the
runs derived ahead land inside or after the timed load depending on its speed. "Event work"
is the time the collector spent reading and building the events of a whole load (wall time
of that task, including its database reads), the cost the pages add.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import BATCH, run_clients  # noqa: E402
from results import write_section  # noqa: E402

from otel_bridge.collector import Collector  # noqa: E402
from otel_bridge.ui import collector_ui  # noqa: E402

PAGES = 5


def _pages(url: str, pages: int, ready: Any, out: Any) -> None:
    """Hold ``pages`` event streams open (one thread each) until the server ends them."""
    counts = [0] * pages
    hello = threading.Barrier(pages + 1)

    def read(k: int) -> None:
        with httpx.stream("GET", f"{url}/api/events", timeout=None) as answer:
            greeted = False
            for line in answer.iter_lines():
                if line.startswith("event: hello") and not greeted:
                    greeted = True
                    hello.wait()
                elif line.startswith("event: trace"):
                    counts[k] += 1

    threads = [threading.Thread(target=read, args=(k,), daemon=True) for k in range(pages)]
    for thread in threads:
        thread.start()
    hello.wait(timeout=60)
    ready.put(True)
    for thread in threads:
        thread.join()
    out.put(counts)


def one_round(db: Path, pages: int, clients: int, batches: int, seed: int) -> dict[str, Any]:
    """One ingest measurement against a fresh collector with the UI and ``pages`` streams."""
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    with Collector(db, extension=collector_ui) as collector:
        reader = None
        if pages:
            reader = ctx.Process(target=_pages, args=(collector.http_url, pages, ready, out))
            reader.start()
            ready.get(timeout=60)
        cpu = time.process_time()
        result = run_clients(f"{collector.http_url}/v1/traces", "http", clients, batches, seed)
        cpu = time.process_time() - cpu
        time.sleep(1.0)  # the last changes reach the pages before the streams end
        assert collector.store is not None and collector.live is not None
        drain_s = collector.live.busy_s
        stored = collector.store.span_count()
    events = 0
    if reader is not None:
        counts = out.get(timeout=60)  # the collector's stop ended the streams
        reader.join(30)
        events = min(counts)
        if events == 0:
            raise SystemExit("the live pages received no events: nothing was measured")
    if stored != result["spans"]:
        raise SystemExit(f"stored {stored} spans, sent {result['spans']}")
    for path in db.parent.glob(db.name + "*"):  # the database, its WAL and shared memory
        path.unlink()
    os.sync()
    cpu_per_k = cpu / result["spans"] * 1000
    print(
        f"x{clients} pages={pages}: {result['rate']:8,.0f} spans/s, {cpu_per_k * 1000:5.1f} "
        f"ms CPU per 1,000 spans ({result['spans']:,} spans, {events:,} events per page)"
    )
    return {**result, "events": events, "cpu_per_k": cpu_per_k, "drain_s": drain_s}


def render(rows: dict[tuple[int, int], list[dict[str, Any]]], args: argparse.Namespace) -> str:
    lines = [
        "## Ingest with live pages open (`bench_ui_ingest.py`)",
        "",
        f"OTLP/HTTP protobuf, {BATCH} spans per request, {args.batches} requests per client, "
        "synchronous=FULL, a collector with the web UI; median of "
        f"{args.rounds} alternating rounds per condition. A page is one open `/api/events` "
        "stream reading every event. Target: 5 pages at least 0.90 of none.",
        "",
        "| clients | no page (spans/s) | 5 pages (spans/s) | ratio | CPU ms / 1,000 spans, "
        "no page | 5 pages | events per page | event work (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients in args.clients:
        none, some = rows[(clients, 0)], rows[(clients, PAGES)]
        rate_none = statistics.median(r["rate"] for r in none)
        rate_some = statistics.median(r["rate"] for r in some)
        cpu_none = statistics.median(r["cpu_per_k"] for r in none) * 1000
        cpu_some = statistics.median(r["cpu_per_k"] for r in some) * 1000
        events = statistics.median(r["events"] for r in some)
        drain_ms = statistics.median(r["drain_s"] for r in some) * 1000
        lines.append(
            f"| {clients} | {rate_none:,.0f} | {rate_some:,.0f} | {rate_some / rate_none:.2f} "
            f"| {cpu_none:.1f} | {cpu_some:.1f} | {events:,.0f} | {drain_ms:.0f} |"
        )
    lines += ["", f"Measured on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
              "at the end (other work on the machine slows both conditions alike)."]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="requests per client")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per condition")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="a few batches, one round")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.rounds, args.clients = 4, 1, [1]
    rows: dict[tuple[int, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        print("warm-up:", end=" ")
        one_round(Path(tmp) / "warm-up.db", PAGES, args.clients[0], args.batches, seed=1)
        for n in range(args.rounds):
            for clients in args.clients:
                for pages in (0, PAGES) if n % 2 == 0 else (PAGES, 0):
                    db = Path(tmp) / f"r{n}-c{clients}-p{pages}.db"
                    result = one_round(db, pages, clients, args.batches, seed=n * 100 + clients)
                    rows.setdefault((clients, pages), []).append(result)
    table = render(rows, args)
    print()
    print(table)
    if args.write:
        write_section("ui-ingest", table)


if __name__ == "__main__":
    main()
