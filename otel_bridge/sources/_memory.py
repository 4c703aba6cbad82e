"""In-memory capture as a span source: a ``Telemetry`` or a ``SpanCapture``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from ..errors import SourceError
from ..spans import SpanRecord, format_trace_id, group_by_trace, parse_trace_id
from ._reading import drain
from ._source import Listed, RunQuery, SpanSource, local_runs

__all__ = ["CaptureSource", "MemorySource", "read_memory"]


@runtime_checkable
class MemorySource(Protocol):
    """Anything that hands out captured spans by trace id (Telemetry, SpanCapture)."""

    def spans(self, trace_id: str | int | None = None) -> list[SpanRecord]:
        """Spans of one trace, or of every trace kept."""
        ...


def read_memory(source: MemorySource, trace_id: str | int | None = None) -> list[SpanRecord]:
    """The captured spans of one trace (SourceError if none), or all of them."""
    spans = source.spans(trace_id)
    if trace_id is not None and not spans:
        tid = format_trace_id(trace_id)
        raise SourceError(f"no captured spans of trace {tid} (evicted, or not this Telemetry's)")
    return spans


class CaptureSource(SpanSource):
    """A ``Telemetry`` or ``SpanCapture`` as a source (no syntax: it is an object, not a name)."""

    scheme = "memory"
    example = "Telemetry()"
    description = "in-memory capture"
    remote = False
    filters = frozenset({"session", "task", "limit"})

    def __init__(self, capture: MemorySource) -> None:
        super().__init__(type(capture).__name__)
        self.capture = capture

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        return read_memory(self.capture, trace_id)

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        """The captured runs, in capture order; ``limit`` keeps the newest."""
        return local_runs(self.capture.spans(), query)

    def read_traces(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[list[SpanRecord]]:
        groups = group_by_trace(self.capture.spans())
        return drain([groups[parse_trace_id(tid)] for tid in trace_ids])
