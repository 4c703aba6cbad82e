"""Variants of one run timed in turn, a shuffled order each round, for the adapter benchmarks."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def timed(call: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def adapter_variants(
    ours: Callable[[], Any], theirs: Callable[[], Any], query: str
) -> dict[str, Callable[[], Any]]:
    """Our adapter and MASEval's (each a new one per run, made by ``ours`` / ``theirs``): their
    ``run`` alone, then ``run`` followed by ``gather_traces()`` as a MASEval task reads it."""

    def run_then_gather(adapter: Any) -> Any:
        adapter.run(query)
        return adapter.gather_traces()

    return {
        "otel-bridge adapter": lambda: ours().run(query),
        "maseval adapter": lambda: theirs().run(query),
        "otel-bridge adapter, run + gather_traces": lambda: run_then_gather(ours()),
        "maseval adapter, run + gather_traces": lambda: run_then_gather(theirs()),
    }


def interleaved(
    variants: Mapping[str, Callable[[], Any]],
    runs: int,
    *,
    warmup: int,
    seed: int | None = None,
    after_round: Callable[[], None] | None = None,
) -> dict[str, list[float]]:
    """Each variant ``warmup`` times, then ``runs`` rounds of every variant once, in an order
    shuffled per round (so that drift and noise fall on all of them alike); seconds per run."""
    for call in variants.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    rng = random.Random(seed)
    for _ in range(runs):
        rng.shuffle(order)
        for name in order:
            times[name].append(timed(variants[name]))
        if after_round is not None:
            after_round()
    return times


def times_in_a_fresh_process(script: str, args: Sequence[str]) -> list[float]:
    """Seconds per run that ``script`` prints as its last line (a JSON list), run with ``args``
    in a new interpreter: the bare variant, with no instrumentation loaded in the process."""
    done = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True
    )
    return [float(t) for t in json.loads(done.stdout.strip().splitlines()[-1])]


def ratio_table(heading: str, times: Mapping[str, Sequence[float]]) -> str:
    """Medians of the variants (``bare`` and ``instrumented`` among them) and their ratios to
    those two, as a Markdown table under ``heading``."""
    medians = {name: statistics.median(values) for name, values in times.items()}
    base, bare = medians["instrumented"], medians["bare"]
    lines = [
        heading,
        "",
        "| variant | median ms | / instrumented | / bare |",
        "|---|---:|---:|---:|",
    ]
    for name, median in medians.items():
        lines.append(
            f"| {name} | {median * 1000:.2f} | {median / base:.3f} | {median / bare:.3f} |"
        )
    return "\n".join(lines)
