"""Exporters: OTLP/JSON lines to a file, and a wrapper that reports export failures once."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..otlp import request_to_json

__all__ = ["FanOut", "OTLPJsonFileExporter", "ReportingExporter"]

logger = logging.getLogger(__name__)


class OTLPJsonFileExporter(SpanExporter):
    """Appends each export batch as one OTLP/JSON body per line (what ``load_spans`` reads)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write one line; FAILURE (never an exception) when the file cannot be written."""
        try:
            line = json.dumps(request_to_json(encode_spans(spans)), separators=(",", ":"))
            with self._lock:
                self._file.write(line + "\n")
                self._file.flush()
        except (OSError, ValueError):
            logger.exception("otel-bridge: could not write spans to %s", self.path)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the file."""
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Lines are flushed as they are written."""
        return True


class _ExportReasons(logging.Filter):
    """Why an OTLP exporter failed, in its own words: it logs the reason (an HTTP status, a
    gRPC code) and returns only FAILURE. Kept per thread, the thread that exported.

    A filter placed first on the exporters' own loggers: it sees each error before the gRPC
    exporter's duplicate filter drops a repeat, and lets every record through.
    """

    LOGGERS = (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.exporter",
    )

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the latest error of this thread; pass every record on."""
        if record.levelno >= logging.ERROR:
            self._local.reason = record.getMessage().rstrip(".")
        return True

    def take(self) -> str | None:
        """The latest error logged on this thread since the last ``take``."""
        reason, self._local.reason = getattr(self._local, "reason", None), None
        return reason


_REASONS = _ExportReasons()


def _listen_for_reasons() -> None:
    """Hear the OTLP exporters' errors (a filter put first, once; nothing else changes)."""
    for name in _ExportReasons.LOGGERS:
        exporter = logging.getLogger(name)
        if _REASONS not in exporter.filters:
            exporter.filters.insert(0, _REASONS)


class ReportingExporter(SpanExporter):
    """Wraps an exporter: counts failed batches and spans, logs the first failure clearly,
    with the exporter's own reason when it logged one (``401``, ``UNAUTHENTICATED``, ...).

    It remembers which traces lost spans (the last ``MAX_FAILED_TRACES``), so a RunTrace can
    say its own export failed.
    """

    MAX_FAILED_TRACES = 10_000

    def __init__(self, inner: SpanExporter, target: str) -> None:
        self.inner = inner
        self.target = target
        self.failed_batches = 0
        self.failed_spans = 0
        self.last_error: str | None = None
        self._failed_traces: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()
        _listen_for_reasons()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export, never raising; a failure is counted and reported once."""
        _REASONS.take()  # an older reason of this thread is not this batch's
        try:
            result = self.inner.export(spans)
            error = None
            if result is not SpanExportResult.SUCCESS:
                error = _REASONS.take() or "exporter returned FAILURE"
        except Exception as exc:  # an exporter bug must not reach the agent
            result, error = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        if error is not None:
            with self._lock:
                self.failed_batches += 1
                self.failed_spans += len(spans)
                self.last_error = error
                first = self.failed_batches == 1
                for span in spans:
                    if span.context is not None:
                        self._failed_traces[span.context.trace_id] = None
                while len(self._failed_traces) > self.MAX_FAILED_TRACES:
                    self._failed_traces.popitem(last=False)
            if first:
                logger.warning(
                    "otel-bridge: export to %s failed (%s); the run's data is still kept in "
                    "memory. Further failures are counted, not logged.",
                    self.target,
                    error,
                )
        return result

    def lost(self, trace_id: int) -> bool:
        """Whether spans of this trace failed to export (so far)."""
        with self._lock:
            return trace_id in self._failed_traces

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return self.inner.force_flush(timeout_millis)


class FanOut(SpanExporter):
    """Hands every batch to each exporter in turn (each reports its own failures)."""

    def __init__(self, exporters: Sequence[SpanExporter]) -> None:
        self.exporters = list(exporters)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """SUCCESS only when every exporter succeeded."""
        results = [exporter.export(spans) for exporter in self.exporters]
        ok = all(r is SpanExportResult.SUCCESS for r in results)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Shut every exporter down."""
        for exporter in self.exporters:
            exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush every exporter."""
        return all([exporter.force_flush(timeout_millis) for exporter in self.exporters])
