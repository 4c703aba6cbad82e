"""When to enrich: a per-trace buffer in the export thread (what is exported: ``_export_view``).

``EnrichingExporter`` sits behind a ``BatchSpanProcessor``: the work runs on export threads,
never the agent's. It buffers spans per trace and exports a trace ``grace_s`` after its root
arrives (LlamaIndex children may end after the root), after ``max_wait_s`` if the root never
ends, and on ``force_flush``/``shutdown``; each trace is exported as its plan says (``semconv``
mode, GenAI ``content``), new ``invoke_agent`` spans once; with the RunTrace of the same
spans when ``Telemetry.run_trace`` derived it already (``DerivedRuns``). A flushed trace's
records stay ``linger_s`` so late children are enriched from the whole trace. Over
``max_traces``/``max_spans`` lingering traces are forgotten first, then the oldest pending trace
is exported as it is, counted in ``overflow_spans``: nothing is dropped.

``EnrichingSpanProcessor.flush_traces`` exports given traces at once (their runs ended: no
grace) on a thread of its own and lets the caller wait for that with a bound; ``sent`` counts
the spans of each trace handed to the exporters (exported or failed), so a RunTrace can say
whether all of its own spans went out (``Telemetry.run_trace``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ..errors import ConfigError
from ..spans import SpanRecord
from . import _export_view as export_view
from ._capture import from_readable_span
from ._enrichment import DerivedRuns
from ._export_now import ExportNow
from ._export_view import ExportPlan, Semconv, check_semconv
from ._redaction import Redaction
from ._span_copy import copy_span, new_span

__all__ = ["EnrichingExporter", "EnrichingSpanProcessor"]

logger = logging.getLogger(__name__)


# ---- when: a per-trace buffer in the export thread ----------------------------------------


@dataclass(slots=True)
class _Trace:
    records: list[SpanRecord] = field(default_factory=list)
    pending: list[ReadableSpan] = field(default_factory=list)
    since: float = 0.0  # arrival of the oldest pending span
    root_at: float | None = None  # arrival of the root span
    seen_at: float = 0.0  # last arrival
    template: ReadableSpan | None = None  # resource and sampling of new spans in this trace
    added: set[int] = field(default_factory=set)  # new spans already exported


_Work = tuple[_Trace, list[SpanRecord], list[ReadableSpan]]


class EnrichingExporter(SpanExporter):
    """Buffers finished spans per trace and exports each trace enriched (see the module doc)."""

    MAX_SENT_TRACES = 10_000  # traces whose sent spans are counted (the most recent ones)

    def __init__(
        self,
        inner: SpanExporter,
        *,
        grace_s: float = 1.0,
        max_wait_s: float = 30.0,
        linger_s: float = 120.0,
        max_traces: int = 256,
        max_spans: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
        semconv: Semconv = "openinference",
        content: bool = True,
        redaction: Redaction | None = None,
        derived: DerivedRuns | None = None,
    ) -> None:
        if max_traces < 1 or max_spans < 1:
            raise ConfigError("enrichment buffer limits must be at least 1")
        self.inner = inner
        self.derived = derived  # runs derived already, reused instead of deriving again
        self.semconv, self.content = check_semconv(semconv), content
        # Hidden and masked before planning (nothing hidden is derived into the enrichment)
        # and again on each span sent (the originals' own attributes, the new spans).
        self.redaction = redaction if redaction is not None and redaction.active else None
        self.grace_s, self.max_wait_s, self.linger_s = grace_s, max_wait_s, linger_s
        self.max_traces, self.max_spans = max_traces, max_spans
        self.enriched_spans = self.overflow_spans = self.failures = 0
        self._clock, self._timer = clock, timer
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._sent: OrderedDict[int, int] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._export_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Buffer the batch and export the traces that are due; never raises."""
        try:
            passthrough, overflow = self._add(spans)
            if passthrough or overflow:
                self._send([*passthrough, *overflow], overflow)
            self._flush(self._take(force=False))
        except Exception:
            self._failed("could not buffer or enrich spans")
        return SpanExportResult.SUCCESS

    def flush_due(self) -> None:
        """Export the traces whose time has come (the timer thread does this by itself)."""
        self._flush(self._take(force=False))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every buffered span now, enriched with what is known of its trace.

        An export already under way on another thread is waited for (at most the timeout).
        """
        self._flush(self._take(force=True))
        if not self._export_lock.acquire(timeout=timeout_millis / 1000):
            return False
        self._export_lock.release()
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Export what is left, stop the timer and shut the wrapped exporter down."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.grace_s + 5.0)
        self._flush(self._take(force=True))
        self.inner.shutdown()

    def export_traces(self, trace_ids: Collection[int]) -> None:
        """Export the buffered spans of these traces now, enriched (their runs ended)."""
        work: list[_Work] = []
        with self._lock:
            for trace_id in trace_ids:
                trace = self._traces.get(trace_id)
                if trace is not None and trace.pending:
                    work.append((trace, list(trace.records), trace.pending))
                    trace.pending = []
        self._flush(work)

    def sent(self, trace_id: int) -> int:
        """Spans of this trace handed to the exporters so far (exported or failed)."""
        with self._lock:
            return self._sent.get(trace_id, 0)

    def _count_sent(self, spans: Sequence[ReadableSpan]) -> None:
        with self._lock:
            for span in spans:
                if span.context is not None:
                    trace_id = span.context.trace_id
                    self._sent[trace_id] = self._sent.get(trace_id, 0) + 1
                    self._sent.move_to_end(trace_id)
            while len(self._sent) > self.MAX_SENT_TRACES:
                self._sent.popitem(last=False)

    def held(self) -> tuple[int, int]:
        """Traces and spans held right now (pending, or kept for late children)."""
        with self._lock:
            return len(self._traces), self._held

    # ---- buffer -----------------------------------------------------------------------------

    def _add(self, spans: Sequence[ReadableSpan]) -> tuple[list[ReadableSpan], list[ReadableSpan]]:
        """Buffer spans; return those that cannot be buffered and those pushed out by the bounds."""
        converted, passthrough = [], []
        redaction = self.redaction
        for span in spans:
            try:
                record = from_readable_span(span)
                converted.append((record if redaction is None else redaction.record(record), span))
            except Exception:  # no span context: cannot be grouped, export it as it is
                self._failed("could not read a span")
                passthrough.append(span)
        overflow: list[ReadableSpan] = []
        with self._lock:
            now = self._clock()
            for record, span in converted:
                trace = self._traces.get(record.trace_id)
                if trace is None:
                    trace = self._traces[record.trace_id] = _Trace()
                if not trace.pending:
                    trace.since = now
                if trace.template is None:
                    trace.template = span
                trace.records.append(record)
                trace.pending.append(span)
                trace.seen_at = now
                if span.parent is None or span.parent.is_remote:
                    trace.root_at = now
                self._held += 1
            overflow = self._enforce_bounds()
            if self._timer and self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run_timer, name="otel-bridge-enrich", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        if overflow and not self.overflow_spans:
            logger.warning("otel-bridge: enrichment buffer full; exporting spans un-enriched")
        self.overflow_spans += len(overflow)
        return passthrough, overflow

    def _enforce_bounds(self) -> list[ReadableSpan]:
        overflow: list[ReadableSpan] = []
        while len(self._traces) > self.max_traces or self._held > self.max_spans:
            lingering = next((t for t, b in self._traces.items() if not b.pending), None)
            victim = lingering if lingering is not None else next(iter(self._traces))
            trace = self._traces.pop(victim)
            self._held -= len(trace.records)
            overflow.extend(trace.pending)
        return overflow

    def _due_at(self, trace: _Trace) -> float:
        if not trace.pending:
            return trace.seen_at + self.linger_s  # forget the records then
        due = trace.since + self.max_wait_s
        if trace.root_at is not None:
            due = min(due, trace.root_at + self.grace_s)
        return due

    def _take(self, force: bool) -> list[_Work]:
        with self._lock:
            return self._take_locked(self._clock(), force)

    def _take_locked(self, now: float, force: bool) -> list[_Work]:
        work: list[_Work] = []
        for trace_id, trace in list(self._traces.items()):
            if not force and self._due_at(trace) > now:
                continue
            if trace.pending:
                work.append((trace, list(trace.records), trace.pending))
                trace.pending = []
            elif not force:
                del self._traces[trace_id]
                self._held -= len(trace.records)
        return work

    def _run_timer(self) -> None:
        """Sleep until the next trace is due (no polling), then flush it."""
        while True:
            with self._lock:
                while not self._closed:
                    now = self._clock()
                    due = min((self._due_at(t) for t in self._traces.values()), default=None)
                    if due is not None and due <= now:
                        break
                    self._wake.wait(None if due is None else due - now)
                if self._closed:
                    return
                work = self._take_locked(now, force=False)
            self._flush(work)

    # ---- enrich and send ----------------------------------------------------------------------

    def _flush(self, work: list[_Work]) -> None:
        batch: list[ReadableSpan] = []
        enriched = 0
        for trace, records, pending in work:
            try:
                run = self.derived.get(records) if self.derived is not None else None
                plan = export_view.export_plan(records, self.semconv, self.content, run)
            except Exception:
                self._failed("could not derive a trace for enrichment; exporting it as it is")
                plan = ExportPlan()
            for span in pending:
                copy = copy_span(span, plan)
                batch.append(copy)
                enriched += copy is not span
            batch.extend(self._new_spans(trace, plan))
        if batch:
            with self._lock:
                self.enriched_spans += enriched
            self._send(batch, [span for _, _, pending in work for span in pending])

    def _new_spans(self, trace: _Trace, plan: ExportPlan) -> list[ReadableSpan]:
        """The plan's new spans not exported yet (a later flush of the trace plans them again)."""
        if not plan.added or trace.template is None:
            return []
        with self._lock:
            fresh = [r for r in plan.added if r.span_id not in trace.added]
            trace.added.update(r.span_id for r in fresh)
        return [new_span(record, trace.template) for record in fresh]

    def _send(self, spans: list[ReadableSpan], originals: Sequence[ReadableSpan]) -> None:
        """Export a batch; ``originals`` (the finished spans in it) are counted as sent."""
        with self._export_lock:
            try:
                if self.redaction is not None:
                    spans = [self.redaction.span(span) for span in spans]
                self.inner.export(spans)
            except Exception:
                self._failed("exporter raised")
            self._count_sent(originals)  # under the export lock: a flush that waits sees it

    def _failed(self, what: str) -> None:
        self.failures += 1
        if self.failures == 1:
            logger.exception("otel-bridge: %s (further failures are counted, not logged)", what)


class EnrichingSpanProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` whose exporter enriches each trace before the real export."""

    def __init__(
        self, exporter: SpanExporter, schedule_delay_millis: float = 500, **options: Any
    ) -> None:
        self.enricher = EnrichingExporter(exporter, **options)
        self._batch = BatchSpanProcessor(self.enricher, schedule_delay_millis=schedule_delay_millis)
        self._flusher = ExportNow(self._export_now)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do before the span ends."""
        self._batch.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the finished span (cheap; enrichment happens on the export threads)."""
        self._batch.on_end(span)

    def flush_traces(self, trace_ids: Collection[int], timeout_s: float) -> bool:
        """Export these traces' spans now; True when done (sent, or failed) within the bound.

        Spans that ended before the call are all in (the queue is drained first); the export
        itself may take the exporter's own timeout, which the bound may cut short: the export
        then goes on in the background.
        """
        if timeout_s <= 0 or not trace_ids:
            return False
        return self._flusher.request(trace_ids, timeout_s)

    def sent(self, trace_id: int) -> int:
        """Spans of this trace handed to the exporters so far (exported or failed)."""
        return self.enricher.sent(trace_id)

    def _export_now(self, trace_ids: set[int]) -> None:
        self._batch.force_flush()  # queued spans into the buffer (other due traces go out too)
        self.enricher.export_traces(trace_ids)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Drain the queue into the buffer, then export every buffered span."""
        drained = self._batch.force_flush(timeout_millis)
        return self.enricher.force_flush(timeout_millis) and drained

    def shutdown(self) -> None:
        """Export what is left and stop (the batch processor shuts the enricher down)."""
        self._flusher.close(timeout_s=self.enricher.grace_s + 5.0)
        self._batch.shutdown()
