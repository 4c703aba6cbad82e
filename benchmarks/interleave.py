"""Variants of one run timed in turn, a shuffled order each round, for the adapter benchmarks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any


def timed(call: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


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
