"""Aligning two sequences of steps: an edit distance (Needleman-Wunsch) with substitutions.

Each side is given as two integer codes per step: its identity (which step it is) and its
fingerprint (which step, and what happened in it). Pairing two steps costs 0 when their
fingerprints are equal, 1 when only their identities are (the same step, changed content);
a step of one side only costs 1; steps of different identities are never paired. The common
head and tail are taken off first, so two long runs that differ in a few places cost little;
a middle still too large for the full table is cut at the longest runs of equal steps
(``difflib``'s matching blocks) and each gap is aligned on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Pair", "align"]

Pair = tuple[int | None, int | None]  # (index in A, index in B); None: that side has no step

GAP = 1
CHANGED = 1
NEVER = 2 * GAP + 1  # dearer than a step on each side: different steps are never paired
MAX_CELLS = 4_000_000  # the dynamic-programming table of one aligned stretch (int32: 16 MB)


def align(
    keys_a: Sequence[int], prints_a: Sequence[int], keys_b: Sequence[int], prints_b: Sequence[int]
) -> list[Pair]:
    """The cheapest alignment of A and B, in order (see the module doc for the costs)."""
    n, m = len(keys_a), len(keys_b)
    head = 0
    while head < min(n, m) and prints_a[head] == prints_b[head] and keys_a[head] == keys_b[head]:
        head += 1
    tail = 0
    while (
        tail < min(n, m) - head
        and prints_a[n - 1 - tail] == prints_b[m - 1 - tail]
        and keys_a[n - 1 - tail] == keys_b[m - 1 - tail]
    ):
        tail += 1
    import numpy as np  # here: importing otel_bridge does not load numpy

    pairs: list[Pair] = [(i, i) for i in range(head)]
    ka, pa = np.asarray(keys_a[head : n - tail]), np.asarray(prints_a[head : n - tail])
    kb, pb = np.asarray(keys_b[head : m - tail]), np.asarray(prints_b[head : m - tail])
    pairs.extend(_shift(p, head, head) for p in _middle(ka, pa, kb, pb))
    pairs.extend((n - tail + k, m - tail + k) for k in range(tail))
    return pairs


def _shift(pair: Pair, da: int, db: int) -> Pair:
    i, j = pair
    return (None if i is None else i + da, None if j is None else j + db)


def _middle(ka: np.ndarray, pa: np.ndarray, kb: np.ndarray, pb: np.ndarray) -> list[Pair]:
    n, m = len(ka), len(kb)
    if (n + 1) * (m + 1) <= MAX_CELLS:
        return _needleman_wunsch(ka, pa, kb, pb)
    # Too large for one table: anchor on the longest stretches of equal steps.
    matcher = difflib.SequenceMatcher(None, pa.tolist(), pb.tolist(), autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return [(i, None) for i in range(n)] + [(None, j) for j in range(m)]
    pairs: list[Pair] = []
    i = j = 0
    for block in [*blocks, None]:
        end_a, end_b = (n, m) if block is None else (block.a, block.b)
        gap = _middle(ka[i:end_a], pa[i:end_a], kb[j:end_b], pb[j:end_b])
        pairs.extend(_shift(p, i, j) for p in gap)
        if block is None:
            break
        pairs.extend((block.a + k, block.b + k) for k in range(block.size))
        i, j = block.a + block.size, block.b + block.size
    return pairs


def _needleman_wunsch(ka: np.ndarray, pa: np.ndarray, kb: np.ndarray, pb: np.ndarray) -> list[Pair]:
    import numpy as np

    n, m = len(ka), len(kb)
    if not n or not m:
        return [(i, None) for i in range(n)] + [(None, j) for j in range(m)]
    cost = np.empty((n + 1, m + 1), dtype=np.int32)
    columns = np.arange(m + 1, dtype=np.int32)
    cost[0] = columns * GAP
    row = np.empty(m + 1, dtype=np.int32)
    for i in range(1, n + 1):
        pair = np.where(pb == pa[i - 1], 0, np.where(kb == ka[i - 1], CHANGED, NEVER))
        row[0] = i * GAP
        row[1:] = np.minimum(cost[i - 1, :-1] + pair, cost[i - 1, 1:] + GAP)
        # A step of B only (from the left): cost[i][j] = min over k <= j of row[k] + (j - k).
        cost[i] = np.minimum.accumulate(row - columns * GAP) + columns * GAP
    pairs: list[Pair] = []
    i, j = n, m
    while i and j:
        here = cost[i, j]
        if pa[i - 1] == pb[j - 1]:
            pair_cost = 0
        elif ka[i - 1] == kb[j - 1]:
            pair_cost = CHANGED
        else:
            pair_cost = NEVER
        if pair_cost != NEVER and here == cost[i - 1, j - 1] + pair_cost:
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif here == cost[i, j - 1] + GAP:  # read backwards: A's own steps come first
            j -= 1
            pairs.append((None, j))
        else:
            i -= 1
            pairs.append((i, None))
    pairs.extend((k, None) for k in reversed(range(i)))
    pairs.extend((None, k) for k in reversed(range(j)))
    pairs.reverse()
    return pairs
