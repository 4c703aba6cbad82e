"""RunTraces served by the query API: derived on request, or ahead of it once a run ends.

A run's RunTrace is usually wanted right after the run: when a committed batch holds a trace's
root span (the run has ended), ``RunPreparer`` derives that trace in the background after a
short grace for late children, so ``GET /api/traces/{id}/run`` finds it ready. It is an
optimisation only: a full queue drops work (counted), and the query API derives on demand
whatever is not ready. Spans are never changed once stored, so a RunTrace stays valid while
the trace's span count is unchanged.

The work one trace can cause is bounded (``RunLimits``): a trace with more spans, or a deeper
chain of parents, than the limits is not derived here (``RunTooLarge``), in the background
or on request; its spans stay readable for a local ``derive``. The span count is checked
before the spans are read, the depth (of a trace with more spans than levels allowed) in one
pass over their ids before derivation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from ..derivation import derive
from ..errors import RunTooLarge
from ..otlp import from_request
from ..spans import SpanRecord
from ._store import RunFacts, SpanStore

__all__ = [
    "RunCache",
    "RunLimits",
    "RunPreparer",
    "RunTooLarge",
    "check_span_count",
    "depth_of",
    "derive_run_json",
]

logger = logging.getLogger(__name__)

RUN_CACHE_SIZE = 256


class RunCache:
    """RunTrace JSON of recent traces, valid while their span count is unchanged."""

    def __init__(self, size: int = RUN_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, trace_id: str, span_count: int) -> bytes | None:
        """The cached JSON, if derived from this many spans."""
        with self._lock:
            entry = self._entries.get(trace_id)
            if entry is None or entry[0] != span_count:
                return None
            self._entries.move_to_end(trace_id)
            return entry[1]

    def put(self, trace_id: str, span_count: int, body: bytes) -> None:
        """Keep one answer, dropping the least recently used beyond ``size``."""
        with self._lock:
            self._entries[trace_id] = (span_count, body)
            self._entries.move_to_end(trace_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class RunLimits:
    """The largest trace the collector derives: spans, and levels of parents."""

    max_spans: int
    max_depth: int


def _too_many(trace_id: str, spans: int, limits: RunLimits) -> RunTooLarge:
    return RunTooLarge(
        f"trace {trace_id} has {spans} spans; the collector derives runs of at most "
        f"{limits.max_spans} (max_run_spans): read /api/traces/{trace_id}/spans and derive "
        "them locally"
    )


def check_span_count(trace_id: str, spans: int, limits: RunLimits) -> None:
    """RunTooLarge when a trace has more spans than the limit."""
    if spans > limits.max_spans:
        raise _too_many(trace_id, spans, limits)


def depth_of(spans: Sequence[SpanRecord], stop_after: int | None = None) -> int:
    """Levels of the deepest chain of parents (a root alone is 1), in one pass; cycle-safe.

    Stops counting once a chain is deeper than ``stop_after``.
    """
    parents = {span.span_id: span.parent_id for span in spans}
    depth: dict[int | None, int] = {}
    deepest = 0
    path: list[int] = []
    for start in parents:
        if start in depth:
            continue
        node: int | None = start
        while node in parents and node not in depth:
            path.append(node)
            depth[node] = -1  # on this path: met again, it closes a cycle
            node = parents[node]
        level = max(depth.get(node, 0), 0)  # 0 above a root, a missing parent or a cycle
        while path:
            level += 1
            depth[path.pop()] = level
        deepest = max(deepest, level)
        if stop_after is not None and deepest > stop_after:
            break
    return deepest


def derive_run_json(store: SpanStore, trace_id: str, limits: RunLimits) -> tuple[int, bytes] | None:
    """(span count, RunTrace JSON) of a stored trace, or None when it has no spans.

    ``RunTooLarge`` when the trace is beyond the limits. What the run adds to the trace's
    summary (agents, tokens, cost, labels) and the RunTrace JSON are kept in the store, so
    listings and exports need no derivation: each run is derived once.
    """
    otlp = store.trace_request(trace_id)
    if otlp is None:
        return None
    # Counted from the spans read: a batch may have landed since the summary was read.
    spans = sum(len(ss.spans) for rs in otlp.resource_spans for ss in rs.scope_spans)
    check_span_count(trace_id, spans, limits)
    records = from_request(otlp)
    # No chain of parents has more levels than the trace has spans: only a trace with more
    # spans than the depth limit needs counting.
    if (
        spans > limits.max_depth
        and depth_of(records, stop_after=limits.max_depth) > limits.max_depth
    ):
        raise RunTooLarge(
            f"trace {trace_id} nests spans more than {limits.max_depth} levels deep; the "
            "collector derives runs up to that depth (max_run_depth): read "
            f"/api/traces/{trace_id}/spans and derive them locally"
        )
    run = derive(records).to_dict()
    try:
        body = orjson.dumps(run)  # UTF-8, compact: a tenth of json.dumps's time
    except orjson.JSONEncodeError:
        # A lone surrogate that derivation found inside a JSON attribute (a message cut by a
        # UTF-16 producer): ASCII JSON carries it as an escape, which every client reads.
        body = json.dumps(run, separators=(",", ":")).encode()
    store.remember_run(trace_id, RunFacts.of_run(spans, run), body)
    return spans, body


class RunPreparer:
    """A background thread that derives ended runs ahead of the first request for them."""

    def __init__(
        self,
        store: SpanStore,
        cache: RunCache,
        limits: RunLimits,
        grace_s: float = 0.5,
        max_pending: int = 10_000,
    ) -> None:
        self.store = store
        self.cache = cache
        self.limits = limits
        self.grace_s = grace_s
        self.max_pending = max_pending
        self.prepared = 0
        self.dropped = 0
        self.too_large = 0
        self.failed = 0
        self._due: OrderedDict[str, float] = OrderedDict()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="otel-bridge-runs", daemon=True)
        self._thread.start()

    def schedule(self, trace_ids: Iterable[bytes]) -> None:
        """Derive these traces after the grace period (called by the writer after a commit)."""
        due = time.monotonic() + self.grace_s
        with self._wake:
            for raw in trace_ids:
                trace_id = raw.hex()
                self._due.pop(trace_id, None)  # a later commit pushes the deadline back
                self._due[trace_id] = due
                while len(self._due) > self.max_pending:
                    self._due.popitem(last=False)
                    self.dropped += 1
            self._wake.notify()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread; work not started is dropped (the query API derives on demand)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout_s)

    def _next(self) -> str | None:
        """The next trace whose grace has passed; None once closed."""
        with self._wake:
            while not self._closed:
                if self._due:
                    trace_id, due = next(iter(self._due.items()))
                    wait = due - time.monotonic()
                    if wait <= 0:
                        del self._due[trace_id]
                        return trace_id
                    self._wake.wait(wait)
                else:
                    self._wake.wait()
            return None

    def _run(self) -> None:
        while (trace_id := self._next()) is not None:
            try:
                summary = self.store.trace(trace_id)
                if summary is None or self.cache.get(trace_id, summary.span_count) is not None:
                    continue
                check_span_count(trace_id, summary.span_count, self.limits)  # before reading
                result = derive_run_json(self.store, trace_id, self.limits)
                if result is not None:
                    self.cache.put(trace_id, *result)
                    self.prepared += 1
            except RunTooLarge:
                self.too_large += 1  # asked for, it gets the same answer (a 422)
            except Exception:  # the thread must outlive a bad trace or a closed store
                self.failed += 1
                if self.failed == 1:
                    logger.exception("otel-bridge collector: could not derive trace %s", trace_id)
