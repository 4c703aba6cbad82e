"""Reading the spans of many runs in order, while the caller derives them.

``read_ahead`` fetches one trace per request, a few ahead on threads; ``read_batches`` fetches
many per request (the collector's ``GET /api/spans``), downloading the next batch on a thread.
Either way each trace is let go once handed over, so memory holds a bounded number of traces.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..spans import SpanRecord

__all__ = ["BATCH_SPANS", "FIRST_BATCH", "drain", "read_ahead", "read_batches"]

BATCH_SPANS = 5000  # spans per request, for a source that reads many traces in one
FIRST_BATCH = 8  # traces in the first request, before their size is known


def drain(groups: list[list[SpanRecord]]) -> Iterator[list[SpanRecord]]:
    """Hand over each group once and forget it, so derived runs do not keep spans alive."""
    queue = deque(groups)
    groups.clear()
    while queue:
        yield queue.popleft()


def read_batches(
    download: Callable[[list[str]], Callable[[], list[list[SpanRecord]]]],
    ids: list[str],
    ahead: bool,
    max_batch: int,
) -> Iterator[list[SpanRecord]]:
    """The spans of each id in order, fetched in batches of about BATCH_SPANS spans.

    ``download(batch)`` fetches a batch and returns what decodes it. A batch's size comes from
    the mean size of the traces read so far (FIRST_BATCH traces before any is known), at most
    ``max_batch`` (what the source takes in one request). With ``ahead``, the next batch is
    downloaded on a thread while this one is decoded and handed over here (decoding on the
    thread would only contend for the interpreter); each trace is let go once handed over.
    """
    position = 0
    seen_traces = seen_spans = 0

    def next_batch() -> list[str]:
        nonlocal position
        size = FIRST_BATCH
        if seen_traces:
            size = BATCH_SPANS * seen_traces // max(1, seen_spans)
        size = max(1, min(max_batch, size))
        batch = ids[position : position + size]
        position += len(batch)
        return batch

    def counted(batch: list[list[SpanRecord]]) -> deque[list[SpanRecord]]:
        nonlocal seen_traces, seen_spans
        seen_traces += len(batch)
        seen_spans += sum(len(spans) for spans in batch)
        return deque(batch)

    if not ahead:
        while batch := next_batch():
            runs = counted(download(batch)())
            while runs:
                yield runs.popleft()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="otel-bridge-read") as pool:
        first = next_batch()
        pending = pool.submit(download, first) if first else None
        try:
            while pending is not None:
                decode = pending.result()
                following = next_batch()
                pending = pool.submit(download, following) if following else None
                runs = counted(decode())
                del decode  # the downloaded bytes
                while runs:
                    yield runs.popleft()
        finally:
            if pending is not None:
                pending.cancel()


def read_ahead(
    fetch: Callable[[str], list[SpanRecord]], ids: list[str], depth: int
) -> Iterator[list[SpanRecord]]:
    """``fetch(id)`` for each id in order, up to ``depth`` of them running ahead on threads.

    The network wait of the next traces overlaps the derivation of this one; at most
    ``depth + 1`` traces are in memory.
    """
    if depth < 1:
        yield from (fetch(tid) for tid in ids)
        return
    pending: deque[Future[list[SpanRecord]]] = deque()
    todo = iter(ids)
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="otel-bridge-read") as pool:
        try:
            for tid in todo:
                pending.append(pool.submit(fetch, tid))
                if len(pending) >= depth:
                    break
            while pending:
                spans = pending.popleft().result()
                following = next(todo, None)
                if following is not None:
                    pending.append(pool.submit(fetch, following))
                yield spans
        finally:
            for future in pending:
                future.cancel()
