"""In-memory capture: a span processor that keeps finished spans per trace, bounded."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import NamedTuple

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from ..errors import ConfigError, SpanFormatError
from ..spans import EMPTY, SpanEvent, SpanRecord, StatusName, freeze, parse_trace_id
from ._redaction import Redaction

__all__ = ["CapturedTrace", "SpanCapture", "from_readable_span"]

logger = logging.getLogger(__name__)


_STATUS: dict[StatusCode, StatusName] = {
    StatusCode.UNSET: "UNSET",
    StatusCode.OK: "OK",
    StatusCode.ERROR: "ERROR",
}


def from_readable_span(span: ReadableSpan) -> SpanRecord:
    """Convert a finished SDK span."""
    ctx = span.get_span_context()
    if ctx is None:
        raise SpanFormatError(f"span {span.name!r} has no context")
    parent = span.parent
    return SpanRecord(
        trace_id=ctx.trace_id,
        span_id=ctx.span_id,
        parent_id=parent.span_id if parent is not None else None,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        kind=span.kind.name,
        status=_STATUS[span.status.status_code],
        status_message=span.status.description or "",
        attributes=freeze(span.attributes),
        events=tuple(SpanEvent(e.name, e.timestamp, freeze(e.attributes)) for e in span.events),
        resource=freeze(span.resource.attributes) if span.resource else EMPTY,
        scope=span.instrumentation_scope.name if span.instrumentation_scope else "",
    )


class CapturedTrace(NamedTuple):
    """One trace as captured at a moment: its spans, and how many the bounds dropped."""

    spans: list[SpanRecord]
    evicted: int


class SpanCapture(SpanProcessor):
    """Keeps finished spans as ``SpanRecord``s, grouped by trace id; thread-safe.

    At most ``max_traces`` traces (the oldest trace goes first) and ``max_spans_per_trace``
    spans each; every span dropped is counted per trace and reported by ``evicted()``, so a
    derived RunTrace can say its data is incomplete. With a ``redaction``, each span is kept
    as it says (what is hidden never stored).
    """

    def __init__(
        self,
        max_traces: int = 1000,
        max_spans_per_trace: int = 20_000,
        redaction: Redaction | None = None,
    ) -> None:
        if max_traces < 1 or max_spans_per_trace < 1:
            raise ConfigError("capture limits must be at least 1")
        self.max_traces = max_traces
        self.max_spans_per_trace = max_spans_per_trace
        self.redaction = redaction if redaction is not None and redaction.active else None
        self._traces: OrderedDict[int, list[SpanRecord]] = OrderedDict()
        self._evicted: OrderedDict[int, int] = OrderedDict()
        self._lock = threading.Lock()
        self.failures = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do: attributes arrive when the span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        """Store the finished span; never raises into the instrumented program."""
        try:
            record = from_readable_span(span)
            self.add(record if self.redaction is None else self.redaction.record(record))
        except Exception:
            self.failures += 1
            if self.failures == 1:
                logger.exception("otel-bridge: could not capture span %r", span.name)

    def add(self, record: SpanRecord) -> None:
        """Store one record, evicting the oldest trace when full."""
        with self._lock:
            spans = self._traces.get(record.trace_id)
            if spans is None:
                if record.trace_id in self._evicted:
                    self._count_evicted(record.trace_id, 1)
                    return
                while len(self._traces) >= self.max_traces:
                    old_id, old = self._traces.popitem(last=False)
                    self._count_evicted(old_id, len(old))
                spans = self._traces[record.trace_id] = []
            if len(spans) >= self.max_spans_per_trace:
                self._count_evicted(record.trace_id, 1)
                return
            spans.append(record)

    def _count_evicted(self, trace_id: int, n: int) -> None:
        self._evicted[trace_id] = self._evicted.get(trace_id, 0) + n
        self._evicted.move_to_end(trace_id)
        while len(self._evicted) > 10 * self.max_traces:
            self._evicted.popitem(last=False)

    def spans(self, trace_id: int | str | None = None) -> list[SpanRecord]:
        """Spans of one trace (int or hex id), or of every trace kept."""
        with self._lock:
            if trace_id is None:
                return [s for spans in self._traces.values() for s in spans]
            return list(self._traces.get(parse_trace_id(trace_id), ()))

    def snapshot(self, trace_id: int | str) -> CapturedTrace:
        """The spans of one trace kept so far and its dropped count, read together."""
        tid = parse_trace_id(trace_id)
        with self._lock:
            return CapturedTrace(list(self._traces.get(tid, ())), self._evicted.get(tid, 0))

    def trace_ids(self) -> list[str]:
        """Hex ids of the traces kept, oldest first."""
        with self._lock:
            return [f"{t:032x}" for t in self._traces]

    def evicted(self, trace_id: int | str) -> int:
        """How many spans of this trace were dropped by the bounds."""
        with self._lock:
            return self._evicted.get(parse_trace_id(trace_id), 0)

    def evicted_counts(self) -> dict[int, int]:
        """Dropped span counts of every trace that lost spans."""
        with self._lock:
            return dict(self._evicted)

    def discard(self, trace_id: int | str) -> None:
        """Forget a trace (its spans are no longer needed)."""
        with self._lock:
            self._traces.pop(parse_trace_id(trace_id), None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._traces.clear()
            self._evicted.clear()

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Spans are stored synchronously: always flushed."""
        return True
