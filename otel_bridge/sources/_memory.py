"""In-memory capture as a span source: a ``Telemetry`` or a ``SpanCapture``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..errors import SourceError
from ..spans import SpanRecord, format_trace_id

__all__ = ["MemorySource", "read_memory"]


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
