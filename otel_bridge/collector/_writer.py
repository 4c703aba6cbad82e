"""The single SQLite writer: a thread that commits queued batches and only then acknowledges.

Receivers ``submit`` an ``IngestBatch`` and wait on the returned future; the writer takes every
batch waiting (up to ``max_batch_spans`` spans) into one transaction, commits, and resolves
the futures. A request is therefore acknowledged only after its spans are committed. The queue
is bounded in bytes: when full, ``submit`` raises ``QueueFull`` and the receiver answers
"retry later" (HTTP 429 / gRPC RESOURCE_EXHAUSTED) instead of dropping data.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..errors import QueueFull, StoreError
from ._ingest import IngestBatch, Origin

__all__ = ["SpanWriter"]

logger = logging.getLogger(__name__)

STATUS_ERROR = 2  # OTLP Status.code of an error
_INSERT_SPAN = (
    "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_id, origin_id, start_ns, end_ns,"
    " status, name, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ORIGIN = (
    "INSERT OR IGNORE INTO origins (digest, resource, resource_schema_url, scope,"
    " scope_schema_url, service) VALUES (?, ?, ?, ?, ?, ?)"
)


# A trace's summary grows with each batch; the first root span names it and gives its service.
_UPSERT_TRACE = """
INSERT INTO traces (trace_id, start_ns, end_ns, span_count, error_count, status, service,
                    root_name)
VALUES (?, ?, ?, ?, ?, CASE WHEN ? > 0 THEN 'error' ELSE 'ok' END, ?, ?)
ON CONFLICT (trace_id) DO UPDATE SET
    start_ns = min(start_ns, excluded.start_ns),
    end_ns = max(end_ns, excluded.end_ns),
    span_count = span_count + excluded.span_count,
    error_count = error_count + excluded.error_count,
    status = CASE WHEN error_count + excluded.error_count > 0 THEN 'error' ELSE 'ok' END,
    service = CASE WHEN root_name IS NULL AND excluded.root_name IS NOT NULL
                   THEN excluded.service ELSE coalesce(service, excluded.service) END,
    root_name = coalesce(root_name, excluded.root_name)
"""
# The same summary computed from the stored spans (when a batch re-sent some of them).
_RECOUNT_TRACE = """
INSERT OR REPLACE INTO traces (trace_id, start_ns, end_ns, span_count, error_count, status,
                               service, root_name)
SELECT s.trace_id, min(s.start_ns), max(s.end_ns), count(*), sum(s.status = 2),
       CASE WHEN sum(s.status = 2) > 0 THEN 'error' ELSE 'ok' END,
       (SELECT o.service FROM spans r JOIN origins o ON o.id = r.origin_id
        WHERE r.trace_id = s.trace_id ORDER BY r.parent_id IS NOT NULL, r.rowid LIMIT 1),
       (SELECT r.name FROM spans r WHERE r.trace_id = s.trace_id AND r.parent_id IS NULL
        ORDER BY r.rowid LIMIT 1)
FROM spans s WHERE s.trace_id = ? GROUP BY s.trace_id
"""


class _Item:
    __slots__ = ("batch", "future", "nbytes")

    def __init__(self, batch: IngestBatch, nbytes: int) -> None:
        self.batch = batch
        self.nbytes = nbytes
        self.future: Future[int] = Future()
        # Running from the start: a caller that gives up (a cancelled request) cannot cancel
        # it, and the writer can always resolve it.
        self.future.set_running_or_notify_cancel()


_STOP = object()


def _summaries(batch: IngestBatch) -> list[tuple[Any, ...]]:
    """Per trace of the batch: the parameters of ``_UPSERT_TRACE``."""
    traces: dict[bytes, list[Any]] = {}
    services = [origin.service for origin in batch.origins]
    for trace_id, _, parent, origin, start, end, status, name, _ in batch.rows:
        error = 1 if status == STATUS_ERROR else 0
        entry = traces.get(trace_id)
        if entry is None:
            root = name if parent is None else None
            traces[trace_id] = [trace_id, start, end, 1, error, error, services[origin], root]
            continue
        entry[1] = min(entry[1], start)
        entry[2] = max(entry[2], end)
        entry[3] += 1
        entry[4] += error
        entry[5] = entry[4]
        if parent is None and entry[7] is None:
            entry[6], entry[7] = services[origin], name
    return [tuple(entry) for entry in traces.values()]


class SpanWriter:
    """Owns the one write connection; ``submit`` is thread-safe, ``close`` drains the queue."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        *,
        max_pending_bytes: int,
        max_batch_spans: int,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._conn = connection
        self._on_commit = on_commit
        self.max_pending_bytes = max_pending_bytes
        self.max_batch_spans = max_batch_spans
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._origin_ids: dict[bytes, int] = {}
        self.committed_spans = 0
        self.failed_batches = 0
        self._failing = 0  # failures since the last commit
        # Called after a commit with the ids of the traces whose root span it stored.
        self.on_roots: Callable[[set[bytes]], None] | None = None
        # Called after a commit with the ids of the traces it added spans to (from the
        # per-trace summaries the commit computes anyway: no pass over the spans).
        self.on_traces: Callable[[list[bytes]], None] | None = None
        self._touched: list[bytes] = []
        self._thread = threading.Thread(target=self._run, name="otel-bridge-writer", daemon=True)
        self._thread.start()

    @property
    def pending_bytes(self) -> int:
        """Bytes of spans queued and not yet committed."""
        with self._lock:
            return self._pending

    def submit(self, batch: IngestBatch) -> Future[int]:
        """Queue a batch; the future gives the number of new spans once committed.

        Raises QueueFull when the queue holds ``max_pending_bytes`` already (an empty queue
        always takes one batch, so a request just under the body limit still goes through).
        """
        nbytes = batch.nbytes
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            if self._pending and self._pending + nbytes > self.max_pending_bytes:
                raise QueueFull(
                    f"{self._pending} bytes of spans are waiting to be written; retry later"
                )
            self._pending += nbytes
        item = _Item(batch, nbytes)
        self._queue.put(item)
        return item.future

    def close(self, timeout_s: float = 30.0) -> None:
        """Commit what is queued, stop the thread and close the connection (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error("otel-bridge collector: the writer did not stop in %.0f s", timeout_s)
        else:
            self._conn.close()

    # ---- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            assert isinstance(first, _Item)
            items = [first]
            spans = len(first.batch.rows)
            while spans < self.max_batch_spans:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                assert isinstance(more, _Item)
                items.append(more)
                spans += len(more.batch.rows)
            self._commit(items)

    def _commit(self, items: list[_Item]) -> None:
        # Exception, not only sqlite3.Error: the thread must outlive any bad batch (a value
        # SQLite cannot bind raises OverflowError), or every waiting request would hang.
        try:
            counts = self._write(items)
        except Exception:
            if len(items) == 1:
                self._fail(items[0])
                return
            # One bad batch must not fail the others: retry them one transaction each.
            for item in items:
                try:
                    self._resolve([item], self._write([item]))
                except Exception:
                    self._fail(item)
            return
        self._resolve(items, counts)

    def _write(self, items: list[_Item]) -> list[int]:
        conn = self._conn
        counts = []
        touched: list[bytes] = []
        cached = dict(self._origin_ids)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in items:
                batch = item.batch
                ids = [self._origin_id(origin, cached) for origin in batch.origins]
                rows = [(r[0], r[1], r[2], ids[r[3]], *r[4:]) for r in batch.rows]
                # rowcount counts the spans inserted, not the ignored duplicates.
                inserted = conn.executemany(_INSERT_SPAN, rows).rowcount
                summaries = _summaries(batch)
                touched.extend(s[0] for s in summaries)
                if inserted == len(rows):
                    conn.executemany(_UPSERT_TRACE, summaries)
                else:  # some spans were sent before: count from what is stored
                    conn.executemany(_RECOUNT_TRACE, [(s[0],) for s in summaries])
                counts.append(inserted)
            conn.execute("COMMIT")
            if self._on_commit is not None:
                self._on_commit()
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._origin_ids = cached
        self._touched = touched
        return counts

    def _origin_id(self, origin: Origin, cached: dict[bytes, int]) -> int:
        found = cached.get(origin.digest)
        if found is not None:
            return found
        self._conn.execute(
            _INSERT_ORIGIN,
            (
                origin.digest,
                origin.resource,
                origin.resource_schema_url,
                origin.scope,
                origin.scope_schema_url,
                origin.service,
            ),
        )
        row = self._conn.execute(
            "SELECT id FROM origins WHERE digest = ?", (origin.digest,)
        ).fetchone()
        cached[origin.digest] = row[0]
        return int(row[0])

    def _resolve(self, items: list[_Item], counts: list[int]) -> None:
        self._release(items)
        self._failing = 0
        for item, count in zip(items, counts, strict=True):
            self.committed_spans += count
            item.future.set_result(count)
        on_traces, touched, self._touched = self.on_traces, self._touched, []
        if on_traces is not None and touched:
            try:
                on_traces(touched)
            except Exception:  # a listener must not stop the writer
                logger.exception("otel-bridge collector: trace listener failed")
        on_roots = self.on_roots
        if on_roots is not None:
            roots = {row[0] for item in items for row in item.batch.rows if row[2] is None}
            if roots:
                try:
                    on_roots(roots)
                except Exception:  # a listener must not stop the writer
                    logger.exception("otel-bridge collector: root listener failed")

    def _fail(self, item: _Item) -> None:
        self._release([item])
        self.failed_batches += 1
        self._failing += 1
        spans = len(item.batch.rows)
        if self._failing == 1:  # the traceback once per run of failures (a full disk repeats)
            logger.exception("otel-bridge collector: could not store %d span(s)", spans)
        else:
            logger.error(
                "otel-bridge collector: could not store %d span(s) (%d failures in a row)",
                spans,
                self._failing,
            )
        item.future.set_exception(StoreError("the spans could not be stored; retry later"))

    def _release(self, items: list[_Item]) -> None:
        with self._lock:
            self._pending -= sum(item.nbytes for item in items)
