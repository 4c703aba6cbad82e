"""derive() of this code beside another checkout's, in one process, round by round.

Run: ``python benchmarks/bench_derive_ab.py --baseline /path/to/other/checkout [--write]``.

Two processes timed one after the other differ on this shared machine by up to 1.8x for the
same code, which hides a change of a few percent. Here the other checkout's package is loaded
into the same process under another name (its imports are relative), and the two derive the
same traces in turn, alternating which goes first, for ``--rounds`` rounds: drift falls on
both alike. Each derives spans as its own readers make them (attributes frozen by its own
``spans.freeze``), and the RunTrace JSON of both is compared. The traces are the synthetic
ones of the other benchmarks: LlamaIndex (``bench_derive.py``), smolagents
(``bench_smolagents.py``), and the recorded LangGraph and OpenAI Agents SDK runs tiled
(``bench_langgraph.py``, ``bench_openai_agents.py``). A last row times all the CPU work an
export does per run after decompressing: one OTLP request of the file exporter benchmark's
runs (``bench_files.py``: 10 runs of 100 spans) to span records (``otlp.from_request``), each
run derived, to its JSON and to its table rows, compared row for row.
"""

from __future__ import annotations

import argparse
import importlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_derive  # noqa: E402
import bench_ingest  # noqa: E402
import bench_langgraph  # noqa: E402
import bench_openai_agents  # noqa: E402
import bench_smolagents  # noqa: E402
from bench_runs import SPANS_PER_RUN  # noqa: E402
from results import commit_of, write_section  # noqa: E402

import otel_bridge  # noqa: E402

BASELINE_PACKAGE = "otel_bridge_baseline"
TRACES: dict[str, tuple[Callable[[int], list[Any]], tuple[int, ...]]] = {
    "LlamaIndex": (bench_derive.synthetic_trace, (10, 1_000, 10_000)),
    "smolagents": (bench_smolagents.synthetic_trace, (1_000,)),
    "LangGraph": (bench_langgraph.tiled_trace, (1_000,)),
    "OpenAI Agents SDK": (bench_openai_agents.tiled_trace, (1_000,)),
}
SPANS_PER_ROUND = 10_000  # each side derives a trace this many spans' worth per round
EXPORT_RUNS = 10  # runs in one OTLP request of the file exporter benchmark (1,000 spans)


def load_baseline(checkout: Path, scratch: Path) -> Any:
    """The other checkout's package, importable beside this one."""
    shutil.copytree(checkout / "otel_bridge", scratch / BASELINE_PACKAGE)
    sys.path.insert(0, str(scratch))
    return importlib.import_module(BASELINE_PACKAGE)


def as_read_by(package: Any, spans: list[Any]) -> list[Any]:
    """The spans with attributes frozen as ``package``'s readers freeze them."""
    freeze = package.spans.freeze
    return [
        replace(
            span,
            attributes=freeze(span.attributes),
            resource=freeze(span.resource),
            events=tuple(replace(e, attributes=freeze(e.attributes)) for e in span.events),
        )
        for span in spans
    ]


def export_request() -> Any:
    """One OTLP request as the file exporter benchmark writes them (``bench_files.py``)."""
    rnd = random.Random(1)
    spans: list[Any] = []
    for i in range(EXPORT_RUNS):
        trace_id = rnd.getrandbits(127) | 1
        spans += bench_ingest.agent_trace(trace_id, SPANS_PER_RUN, i * 10**9, rnd)
    return otel_bridge.otlp.to_request(spans)


def export_work(package: Any, request: Any) -> list[Any]:
    """What an export does with one request after reading it: records, RunTraces, rows."""
    rows_of = package.tables._rows.rows_of  # imported with the package: no lookup by name
    records = package.otlp.from_request(request)
    return [
        rows_of(package.derive(spans).to_dict())
        for spans in package.spans.group_by_trace(records).values()
    ]


def side_by_side(
    ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds per derive of each, ``rounds`` rounds, the first to go alternating."""
    times: tuple[list[float], list[float]] = ([], [])
    sides = ((0, ours), (1, theirs))
    for n in range(rounds):
        for side, derive in sides if n % 2 == 0 else sides[::-1]:
            start = time.perf_counter()
            for _ in range(repeat):
                derive()
            times[side].append((time.perf_counter() - start) / repeat)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="into benchmarks/README.md")
    parser.add_argument("--export-only", action="store_true", help="only the export's row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        baseline = load_baseline(args.baseline.resolve(), Path(scratch))
        rows = []
        for name, (make, sizes) in {} if args.export_only else TRACES.items():
            for size in sizes:
                spans = make(size)
                theirs_spans = as_read_by(baseline, spans)
                ours_spans = as_read_by(otel_bridge, spans)
                same = (
                    otel_bridge.derive(ours_spans).to_dict()
                    == baseline.derive(theirs_spans).to_dict()
                )
                repeat = max(1, SPANS_PER_ROUND // size)
                ours, theirs = side_by_side(
                    lambda s=ours_spans: otel_bridge.derive(s),
                    lambda s=theirs_spans: baseline.derive(s),
                    repeat,
                    args.rounds,
                )
                a, b = statistics.median(ours), statistics.median(theirs)
                rows.append(
                    f"| {name} | {size:,} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.3f} | "
                    f"{min(ours) / min(theirs):.3f} | {'yes' if same else '**no**'} |"
                )
                print(rows[-1], flush=True)
        request = export_request()
        same = export_work(otel_bridge, request) == export_work(baseline, request)
        ours, theirs = side_by_side(
            lambda: export_work(otel_bridge, request),
            lambda: export_work(baseline, request),
            max(1, SPANS_PER_ROUND // (EXPORT_RUNS * SPANS_PER_RUN)),
            args.rounds,
        )
        a, b = statistics.median(ours), statistics.median(theirs)
        rows.append(
            f"| export's work: OTLP request -> records, RunTraces, table rows "
            f"| {EXPORT_RUNS * SPANS_PER_RUN:,} | {a * 1e3:.2f} | {b * 1e3:.2f} "
            f"| {a / b:.3f} | {min(ours) / min(theirs):.3f} | {'yes' if same else '**no**'} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            f"`python benchmarks/bench_derive_ab.py --baseline CHECKOUT --rounds {args.rounds}`"
            f": this code beside {commit_of(args.baseline)}, in one process.",
            "",
            "| trace | spans | this code, median ms | baseline, median ms | median ratio "
            "| best ratio | same RunTrace |",
            "|---|---:|---:|---:|---:|---:|---|",
            *rows,
        ]
    )
    print(table)
    if args.write:
        write_section("derive-ab", table)


if __name__ == "__main__":
    main()
