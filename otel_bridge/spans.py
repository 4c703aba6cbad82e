"""SpanRecord: the one neutral, immutable span model, its index, ids and times.

Every source converts to ``SpanRecord`` at its edge (the SDK's spans in ``telemetry``, OTLP in
``otlp.py``, each backend's JSON in ``sources``); derivation only ever sees records. Ids are
integers, times integer nanoseconds. ``parse_trace_id`` is the one reader of trace ids that
come from outside; ``iso``/``iso_ns`` the one pair of time conversions.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from sys import intern
from typing import Any, Literal, NoReturn

from ._frozen import direct_init
from .errors import TraceIdError

__all__ = [
    "EMPTY",
    "FrozenAttributes",
    "Nearest",
    "SpanEvent",
    "SpanIndex",
    "SpanRecord",
    "StatusName",
    "format_trace_id",
    "freeze",
    "group_by_trace",
    "iso",
    "iso_ns",
    "parse_span_id",
    "parse_trace_id",
    "printable",
]

StatusName = Literal["UNSET", "OK", "ERROR"]
AttrValue = Any  # str | bool | int | float | tuple of those


class FrozenAttributes(dict[str, AttrValue]):
    """A span's attributes: a dict that refuses every change.

    Read-only like a ``MappingProxyType``, read at a dict's speed: derivation looks a span's
    attributes up tens of times, and a proxy's ``get`` costs about twice a dict's.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("span attributes are read-only")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenAttributes], tuple[dict[str, AttrValue]]]:
        # Copies and pickles are built whole: filling one key by key would be refused.
        return FrozenAttributes, (dict(self),)


EMPTY: Mapping[str, AttrValue] = FrozenAttributes()


@direct_init
@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped event of a span (e.g. ``exception``, ``First Token Stream Event``)."""

    name: str
    time_ns: int
    attributes: Mapping[str, AttrValue] = field(default_factory=lambda: EMPTY)


@direct_init
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
    return FrozenAttributes(
        {intern(k): tuple(v) if isinstance(v, list | tuple) else v for k, v in attributes.items()}
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
    _parents_first: list[tuple[int, int | None]] | None = field(init=False, default=None)

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

    def parents_first(self) -> list[tuple[int, int | None]]:
        """(span id, parent id) of each span below a root or an orphan, every one after its
        parent (None for the roots and orphans themselves), breadth first; made once.

        A span on a parent cycle (bad input) is below none of them, and not in the list.
        """
        if self._parents_first is None:
            order: list[tuple[int, int | None]] = [
                (span.span_id, None) for span in (*self.roots, *self.orphans)
            ]
            children = self.children
            for span_id, _ in order:  # the list grows as it is read: breadth first
                for child in children.get(span_id, ()):
                    order.append((child.span_id, span_id))
            self._parents_first = order
        return self._parents_first

    def parent(self, span: SpanRecord) -> SpanRecord | None:
        """The parent record, if present."""
        return None if span.parent_id is None else self.by_id.get(span.parent_id)

    def ancestors(self, span: SpanRecord) -> Iterator[SpanRecord]:
        """Parents from the nearest up to the root (cycle-safe).

        Walking this for every span costs the depth of the tree each time; to ask the same
        question of every span, use ``nearest``.
        """
        seen = {span.span_id}
        current = self.parent(span)
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            yield current
            current = self.parent(current)

    def nearest(self, marked: Container[int]) -> Nearest:
        """For every span, the id of its nearest ancestor in ``marked`` (None when it has none).

        Linear in the number of spans whatever the depth, and lazy: see ``Nearest``.
        """
        return Nearest(self, marked)


_UNANSWERED = object()


class Nearest(Mapping[int, "int | None"]):
    """Span id -> id of its nearest ancestor among ``marked`` (None: none).

    A span's answer is its parent if marked, else its parent's answer: every span below a root
    or an orphan is answered at once, parents first (``SpanIndex.parents_first``), one step
    each, whatever the depth. A span on a parent cycle (bad input) is answered on demand: the
    walk up stops where the cycle closes, so the span it closes on is the last ancestor looked
    at.
    """

    def __init__(self, index: SpanIndex, marked: Container[int]) -> None:
        self._index = index
        self._marked = marked
        found: dict[int, int | None] = {}
        for span_id, parent_id in index.parents_first():
            if parent_id is None:
                found[span_id] = None
            else:
                found[span_id] = parent_id if parent_id in marked else found[parent_id]
        self._found = found

    def __getitem__(self, span_id: int) -> int | None:
        above = self.get(span_id, _UNANSWERED)
        if above is _UNANSWERED:
            raise KeyError(span_id)
        return above

    def get(self, span_id: int, default: Any = None) -> Any:
        """The answer for ``span_id``; ``default`` for an id not in the trace."""
        # The lookup itself, not Mapping.get's way through __getitem__ and KeyError: it is hot.
        found = self._found
        if span_id in found:
            return found[span_id]
        by_id = self._index.by_id
        span = by_id.get(span_id)
        if span is None:
            return default
        parent = None if span.parent_id is None else by_id.get(span.parent_id)
        if parent is None or parent.span_id in found:  # the usual cases: one step
            above = None
            if parent is not None:
                up = parent.span_id
                above = up if up in self._marked else found[up]
            found[span_id] = above
            return above
        path: list[int] = []
        on_path: set[int] = set()
        node: SpanRecord | None = span
        while node is not None and node.span_id not in found and node.span_id not in on_path:
            path.append(node.span_id)
            on_path.add(node.span_id)
            node = None if node.parent_id is None else by_id.get(node.parent_id)
        if node is None:
            above = None
        elif node.span_id in self._marked:
            above = node.span_id
        else:
            above = found.get(node.span_id)  # None when the walk closed a cycle
        for step in reversed(path):
            found[step] = above
            if step in self._marked:
                above = step
        return found[span_id]

    def __iter__(self) -> Iterator[int]:
        return (span.span_id for span in self._index.spans)

    def __len__(self) -> int:
        return len(self._index.spans)


# ---- ids and times -----------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def _parse_hex_id(value: str | int, bits: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad_id(value, what, "expected hex text or an integer")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not 0 < len(text) <= bits // 4 or not _HEX.issuperset(text):
            raise _bad_id(value, what, f"expected up to {bits // 4} hex characters")
        number = int(text, 16)
    if not 0 < number < 1 << bits:
        raise _bad_id(value, what, f"not a non-zero {bits}-bit id")
    return number


def printable(text: str, limit: int = 300) -> str:
    """Outside input for an error message: lone surrogates escaped, cut at ``limit``."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bad_id(value: object, what: str, why: str) -> TraceIdError:
    return TraceIdError(f"invalid {what} {printable(repr(value), 80)}: {why}")


def parse_trace_id(value: str | int) -> int:
    """A trace id from hex text (up to 32 characters: Jaeger drops leading zeros) or an int.

    ``TraceIdError`` (a ValueError) for anything else, including an all-zero id.
    """
    return _parse_hex_id(value, 128, "trace id")


def parse_span_id(value: str | int) -> int:
    """A span id from hex text (up to 16 characters) or an int; ``TraceIdError`` otherwise."""
    return _parse_hex_id(value, 64, "span id")


def format_trace_id(trace_id: str | int) -> str:
    """A trace id as 32 lowercase hex characters (validated like ``parse_trace_id``)."""
    return f"{parse_trace_id(trace_id):032x}"


def iso(ns: int) -> str:
    """ISO-8601 UTC time of a nanosecond epoch timestamp (microsecond precision)."""
    if not 0 <= ns < _LAST_NS:
        return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")
    # What datetime.fromtimestamp(ns / 1e9) gives, without its time zone work (RunTrace.to_dict
    # writes two times a call): the float's microseconds rounded half to even, the date and
    # time of the whole second built once per second.
    fraction, whole = math.modf(ns / 1e9)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1
    text = _iso_second(int(whole))
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


_LAST_NS = 253_402_300_799 * 10**9  # 9999-12-31T23:59:59, the last second datetime has
_NAIVE_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str:
    return (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ns(text: str) -> int:
    """Unix nanoseconds of an ISO-8601 time (UTC when it names no zone), without float rounding.

    ``ValueError`` when the text is not ISO-8601.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
