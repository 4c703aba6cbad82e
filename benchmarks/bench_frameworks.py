"""derive() of each framework's trace beside LlamaIndex's, interleaved round by round.

    python benchmarks/bench_frameworks.py [--rounds 30] [--write]

The per-framework benchmarks time their trace and LlamaIndex's one after the other, and this
machine's speed drifts by tens of percent from one minute to the next: their ratios to
LlamaIndex carry that drift. Here the four 1,000-span traces of ``bench_derive_ab.py``
(LlamaIndex from ``bench_derive.py``, smolagents from ``bench_smolagents.py``, the recorded
LangGraph and OpenAI Agents SDK runs tiled) are derived in turn within each round, in a
shuffled order, so drift falls on all alike; the table gives each one's median rate, its ratio
to LlamaIndex's rate in the same rounds, and what its spans hold (model calls and the messages
they send), with the time per model call and per message. Target: at least 100,000 spans/s
for every framework, which LlamaIndex's trace reaches on a fast day of this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_derive_ab import TRACES  # noqa: E402
from interleave import interleaved  # noqa: E402
from results import write_section  # noqa: E402

from otel_bridge import derive  # noqa: E402

SIZE = 1_000
SPANS_PER_TURN = 10_000  # each trace derives this many spans' worth per round
REFERENCE = "LlamaIndex"


def sent_messages(spans: list[Any]) -> int:
    """Messages the trace's model calls send and receive (``*.message.role`` attributes)."""
    return sum(sum(1 for key in s.attributes if key.endswith(".message.role")) for s in spans)


def measure(rounds: int, seed: int) -> dict[str, dict[str, float]]:
    """Per trace: spans, model calls, messages and the median seconds per derive."""
    traces = {name: make(SIZE) for name, (make, _) in TRACES.items()}
    repeats = {name: max(1, SPANS_PER_TURN // len(spans)) for name, spans in traces.items()}

    def turn(name: str) -> Callable[[], None]:
        def derive_repeatedly() -> None:
            for _ in range(repeats[name]):
                derive(traces[name])

        return derive_repeatedly

    turns = interleaved(
        {name: turn(name) for name in traces},
        rounds,
        warmup=1,  # imports, price data, caches of keys
        seed=seed,
    )
    times = {name: [t / repeats[name] for t in values] for name, values in turns.items()}
    reference = traces[REFERENCE]
    return {
        name: {
            "spans": len(spans),
            "calls": len(derive(spans).llm_calls),
            "messages": sent_messages(spans),
            "seconds": statistics.median(times[name]),
            # its rate over LlamaIndex's in the same round, the median of the rounds
            "ratio": statistics.median(
                (len(spans) / own) / (len(reference) / theirs)
                for own, theirs in zip(times[name], times[REFERENCE], strict=True)
            ),
        }
        for name, spans in traces.items()
    }


def table(results: dict[str, dict[str, float]], rounds: int) -> str:
    lines = [
        f"`python benchmarks/bench_frameworks.py --rounds {rounds}`: each trace's median over "
        f"{rounds} rounds, all four derived in every round (shuffled order).",
        "",
        "| trace | spans | model calls | messages sent | median ms | spans/s "
        f"| rate / {REFERENCE}'s in the same round, median | us per model call | us per message |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        rate = r["spans"] / r["seconds"]
        lines.append(
            f"| {name} | {r['spans']:,.0f} | {r['calls']:,.0f} | {r['messages']:,.0f} "
            f"| {r['seconds'] * 1e3:.2f} | {rate:,.0f} | {r['ratio']:.2f} "
            f"| {r['seconds'] / r['calls'] * 1e6:.0f} | {r['seconds'] / r['messages'] * 1e6:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="into benchmarks/README.md")
    args = parser.parse_args()
    text = table(measure(args.rounds, args.seed), args.rounds)
    print(text)
    if args.write:
        write_section("frameworks-derive", text)


if __name__ == "__main__":
    main()
