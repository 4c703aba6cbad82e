"""OTLP/JSON export requests straight to SpanRecords, without protobuf's JSON parser.

What ``otlp.from_request(otlp.decode_request_json(body))`` gives, read off the parsed JSON
directly: protobuf's ``json_format.ParseDict`` is written in Python and takes most of the time
of reading a large JSON file. Ids are hex (OTLP/JSON); integers may be strings (64-bit values
are); kinds and status codes numbers or enum names; unknown fields are ignored.

A request's text is parsed by simdjson (``parse_request``), which makes Python values only of
what is read: a listing reads five fields of each span, and the wrappers around each
attribute's value (``{"key": .., "value": {"stringValue": ..}}``) are never made dicts. What
simdjson refuses (a lone surrogate, NaN, an integer beyond 64 bits, bad syntax) is read by
``otlp.load_json``, as everywhere else, which reads what it can and says what is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from sys import intern
from typing import Any, TypeVar

import simdjson

from ..errors import SpanFormatError
from ..otlp import load_json
from ..spans import EMPTY, FrozenAttributes, SpanEvent, SpanRecord, StatusName, printable

__all__ = ["SpanSeen", "parse_request", "records_from_json_body", "spans_seen_in_json_body"]

T = TypeVar("T")

_KINDS: dict[Any, str] = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_KINDS.update({f"SPAN_KIND_{name}": name for name in list(_KINDS.values())})
_STATUSES: dict[Any, StatusName] = {0: "UNSET", 1: "OK", 2: "ERROR"}
_STATUSES.update({f"STATUS_CODE_{name}": name for name in ("UNSET", "OK", "ERROR")})
_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def parse_request(text: bytes) -> Any:
    """JSON text as simdjson's document (its objects read as they are asked for), or, for what
    simdjson refuses, as ``load_json`` reads it. SpanFormatError when it is not JSON.

    Each document has a parser of its own (a few microseconds): threads may read files side by
    side, and a parser is not reused while anything of its last document is alive.
    """
    try:
        return simdjson.Parser().parse(text)
    except (ValueError, RuntimeError):  # RuntimeError: an integer beyond 64 bits
        return load_json(text)[0]


def records_from_json_body(body: Any) -> list[SpanRecord]:
    """The spans of one OTLP/JSON export request (parsed: ``parse_request``, or a dict)."""
    return _checked(_records, body)


SpanSeen = tuple[bytes, int, int, bool, SpanRecord | None]
"""What a listing reads of a span: trace id (16 bytes), start and end (ns), whether its status
is an error, and the span as a record when it is a root."""


def spans_seen_in_json_body(body: Any) -> list[SpanSeen]:
    """What a listing reads of each span of one OTLP/JSON export request: only a root span is
    read whole (its attributes carry the run's labels), the others' attributes are not."""
    return _checked(_seen, body)


def _checked(read: Callable[[Mapping[str, Any]], list[T]], body: Any) -> list[T]:
    if not isinstance(body, dict | simdjson.Object) or "resourceSpans" not in body:
        raise SpanFormatError("no 'resourceSpans' key")
    try:
        return read(body)
    except SpanFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise SpanFormatError(f"malformed OTLP/JSON: {printable(repr(exc))}") from exc


def _records(body: Mapping[str, Any]) -> list[SpanRecord]:
    records: list[SpanRecord] = []
    append = records.append
    for rs in body.get("resourceSpans") or ():
        resource = _attributes((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans") or ():
            scope = str((ss.get("scope") or {}).get("name") or "")
            for span in ss.get("spans") or ():
                append(_record(_whole(span), resource, scope))
    return records


def _seen(body: Mapping[str, Any]) -> list[SpanSeen]:
    seen: list[SpanSeen] = []
    append = seen.append
    trace_ids: dict[str, bytes] = {}  # each trace id's text checked once
    for rs in body.get("resourceSpans") or ():
        resource: Mapping[str, Any] | None = None  # read for a root span only
        for ss in rs.get("scopeSpans") or ():
            scope = str((ss.get("scope") or {}).get("name") or "")
            for span in ss.get("spans") or ():
                text = span.get("traceId")
                trace_id = trace_ids.get(text) if type(text) is str else None
                if trace_id is None:
                    trace_id = _id(text, 16, "traceId").to_bytes(16, "big")
                    trace_ids[text] = trace_id
                start = int(span.get("startTimeUnixNano") or 0)
                end = int(span.get("endTimeUnixNano") or 0) or start
                status = span.get("status")
                error = bool(status) and _STATUSES.get(status.get("code") or 0) == "ERROR"
                parent = span.get("parentSpanId")
                root = None
                if not parent or not int(parent, 16):
                    if resource is None:
                        resource = _attributes((rs.get("resource") or {}).get("attributes"))
                    root = _record(_whole(span), resource, scope)
                append((trace_id, start, end, error, root))
    return seen


def _whole(span: Any) -> Any:
    """A span read whole: of simdjson's document, as a dict (at once, faster than field by
    field, and faster than orjson's reading of the whole request)."""
    return span.as_dict() if type(span) is simdjson.Object else span


def _record(span: Mapping[str, Any], resource: Mapping[str, Any], scope: str) -> SpanRecord:
    start = int(span.get("startTimeUnixNano") or 0)
    status = span.get("status") or {}
    parent = span.get("parentSpanId")
    events = span.get("events")
    return SpanRecord(
        trace_id=_id(span.get("traceId"), 16, "traceId"),
        span_id=_id(span.get("spanId"), 8, "spanId"),
        parent_id=int(parent, 16) or None if parent else None,
        name=str(span.get("name") or ""),
        start_ns=start,
        end_ns=int(span.get("endTimeUnixNano") or 0) or start,
        kind=_KINDS.get(span.get("kind") or 0, "INTERNAL"),
        status=_STATUSES.get(status.get("code") or 0, "UNSET"),
        status_message=str(status.get("message") or ""),
        attributes=_attributes(span.get("attributes")),
        events=tuple(
            SpanEvent(
                str(e.get("name") or ""),
                int(e.get("timeUnixNano") or 0),
                _attributes(e.get("attributes")),
            )
            for e in events
        )
        if events
        else (),
        resource=resource,
        scope=scope,
    )


def _id(value: Any, size: int, what: str) -> int:
    """An id as ``otlp.from_request`` checks it: hex, ``size`` bytes, not all zeros."""
    if not isinstance(value, str):
        raise SpanFormatError(f"{what} must be a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise SpanFormatError(f"{what} is not hex: {printable(repr(value), 80)}") from None
    if len(raw) != size:
        raise SpanFormatError(f"{what} must be {size} bytes, got {len(raw)}")
    number = int.from_bytes(raw, "big")
    if number == 0:
        raise SpanFormatError(f"{what} is all zeros")
    return number


def _attributes(items: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Any]:
    if not items:
        return EMPTY
    return FrozenAttributes({intern(item["key"]): _value(item.get("value")) for item in items})


def _value(value: Mapping[str, Any] | None) -> Any:
    """The Python value of an OTLP/JSON ``AnyValue`` (the types of ``otlp.value_of``)."""
    if not value:
        return None
    text = value.get("stringValue")
    if text is not None:
        return text
    for field, raw in value.items():
        if field == "intValue":
            return int(raw)
        if field == "doubleValue":
            return _FLOATS[raw] if isinstance(raw, str) and raw in _FLOATS else float(raw)
        if field == "boolValue":
            return bool(raw)
        if field == "arrayValue":
            return tuple(_value(v) for v in (raw or {}).get("values") or ())
        if field == "kvlistValue":
            values = (raw or {}).get("values") or ()
            return json.dumps({kv["key"]: _value(kv.get("value")) for kv in values})
        if field == "bytesValue":
            return str(raw)
    return None
