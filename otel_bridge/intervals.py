"""Interval arithmetic on nanosecond spans of time."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["union_length"]


def union_length(intervals: Iterable[tuple[int, int]]) -> int:
    """Total length covered by the intervals, overlaps counted once."""
    total = 0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total
