"""SpanRecord: the one neutral, immutable span model, and its index.

Every source converts to ``SpanRecord`` at its edge (``from_readable_span`` here, OTLP in
``otlp.py``); derivation only ever sees records. Ids are integers, times integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from sys import intern
from types import MappingProxyType
from typing import Any, Literal

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

__all__ = [
    "EMPTY",
    "SpanEvent",
    "SpanIndex",
    "SpanRecord",
    "StatusName",
    "from_readable_span",
    "group_by_trace",
]

StatusName = Literal["UNSET", "OK", "ERROR"]
AttrValue = Any  # str | bool | int | float | tuple of those
EMPTY: Mapping[str, AttrValue] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped event of a span (e.g. ``exception``, ``First Token Stream Event``)."""

    name: str
    time_ns: int
    attributes: Mapping[str, AttrValue] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span, independent of where it came from."""

    trace_id: int
    span_id: int
    parent_id: int | None
    name: str
    start_ns: int
    end_ns: int
    kind: str = "INTERNAL"
    status: StatusName = "UNSET"
    status_message: str = ""
    attributes: Mapping[str, AttrValue] = field(default_factory=lambda: EMPTY)
    events: tuple[SpanEvent, ...] = ()
    resource: Mapping[str, AttrValue] = field(default_factory=lambda: EMPTY)
    scope: str = ""

    @property
    def trace_id_hex(self) -> str:
        """Trace id as 32 lowercase hex characters."""
        return f"{self.trace_id:032x}"

    @property
    def span_id_hex(self) -> str:
        """Span id as 16 lowercase hex characters."""
        return f"{self.span_id:016x}"

    @property
    def parent_id_hex(self) -> str | None:
        """Parent span id as 16 hex characters, or None for a root."""
        return None if self.parent_id is None else f"{self.parent_id:016x}"

    @property
    def duration_ns(self) -> int:
        """End minus start, never negative."""
        return max(0, self.end_ns - self.start_ns)


_SEQUENCES = (list, tuple)


def freeze(attributes: Mapping[str, Any] | None) -> Mapping[str, AttrValue]:
    """Read-only copy of an attribute mapping; sequences become tuples.

    Keys are interned: the same few hundred attribute names repeat on every span, and lookups
    with interned keys compare by identity instead of by content.
    """
    if not attributes:
        return EMPTY
    return MappingProxyType(
        {intern(k): tuple(v) if isinstance(v, list | tuple) else v for k, v in attributes.items()}
    )


_STATUS: dict[StatusCode, StatusName] = {
    StatusCode.UNSET: "UNSET",
    StatusCode.OK: "OK",
    StatusCode.ERROR: "ERROR",
}


def from_readable_span(span: ReadableSpan) -> SpanRecord:
    """Convert a finished SDK span."""
    ctx = span.get_span_context()
    if ctx is None:
        raise ValueError(f"span {span.name!r} has no context")
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


def group_by_trace(spans: Iterable[SpanRecord]) -> dict[int, list[SpanRecord]]:
    """Spans grouped by trace id, in first-seen trace order."""
    groups: dict[int, list[SpanRecord]] = {}
    for span in spans:
        groups.setdefault(span.trace_id, []).append(span)
    return groups


@dataclass(slots=True)
class SpanIndex:
    """Spans of one trace sorted by start, with parent/child links kept apart from the records.

    Spans whose parent is missing are orphans and are treated as roots.
    """

    spans: list[SpanRecord]
    by_id: dict[int, SpanRecord] = field(init=False)
    children: dict[int, list[SpanRecord]] = field(init=False)
    roots: list[SpanRecord] = field(init=False)
    orphans: list[SpanRecord] = field(init=False)
    duplicates: int = field(init=False)

    def __post_init__(self) -> None:
        self.spans = sorted(self.spans, key=lambda s: (s.start_ns, s.end_ns))
        by_id: dict[int, SpanRecord] = {}
        for span in self.spans:
            by_id.setdefault(span.span_id, span)
        self.duplicates = len(self.spans) - len(by_id)
        if self.duplicates:
            seen: set[int] = set()
            unique = []
            for span in self.spans:
                if span.span_id not in seen:
                    seen.add(span.span_id)
                    unique.append(span)
            self.spans = unique
        self.by_id = by_id
        self.children = {}
        self.roots = []
        self.orphans = []
        for span in self.spans:
            if span.parent_id is None:
                self.roots.append(span)
            elif span.parent_id in by_id:
                self.children.setdefault(span.parent_id, []).append(span)
            else:
                self.orphans.append(span)

    def parent(self, span: SpanRecord) -> SpanRecord | None:
        """The parent record, if present."""
        return None if span.parent_id is None else self.by_id.get(span.parent_id)

    def ancestors(self, span: SpanRecord) -> Iterator[SpanRecord]:
        """Parents from the nearest up to the root (cycle-safe)."""
        seen = {span.span_id}
        current = self.parent(span)
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            yield current
            current = self.parent(current)
