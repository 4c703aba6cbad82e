"""OTLP export requests assembled from the stored protobuf bytes, without parsing a span.

The store keeps each span as its own serialised ``Span`` and each resource and scope once
(``origins``). Protobuf's wire format lets a request be written by framing those bytes: a
message field is its tag, its length and its bytes, and a repeated field is its items one
after another. So the query API answers with the bytes it stored, and a request for several
traces is the requests of each trace one after another (protobuf reads concatenated messages
as one, with the repeated ``resource_spans`` appended). The grouping is the one the store has
always served: spans sorted by start, one ``ScopeSpans`` per origin in the order first seen,
under one ``ResourceSpans`` per distinct resource.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans

__all__ = ["OriginBytes", "request_bytes"]

# (resource, resource schema url, scope, scope schema url), as stored in ``origins``
OriginBytes = tuple[bytes, str, bytes, str]

_LENGTH_DELIMITED = 2  # the wire type of messages, strings and bytes


def _tag(message: type, field: str) -> bytes:
    number = message.DESCRIPTOR.fields_by_name[field].number  # type: ignore[attr-defined]
    return _varint(number << 3 | _LENGTH_DELIMITED)


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative integer."""
    if value < 0x4000:  # a span's length, nearly always: one or two bytes, no loop
        return bytes((value,)) if value < 0x80 else bytes((value & 0x7F | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_RESOURCE_SPANS = _tag(ExportTraceServiceRequest, "resource_spans")
_RESOURCE = _tag(ResourceSpans, "resource")
_SCOPE_SPANS = _tag(ResourceSpans, "scope_spans")
_RESOURCE_SCHEMA_URL = _tag(ResourceSpans, "schema_url")
_SCOPE = _tag(ScopeSpans, "scope")
_SPANS = _tag(ScopeSpans, "spans")
_SCOPE_SCHEMA_URL = _tag(ScopeSpans, "schema_url")


def _field(tag: bytes, value: bytes) -> bytes:
    return tag + _varint(len(value)) + value


def request_bytes(rows: list[tuple[int, bytes]], origins: dict[int, OriginBytes]) -> bytes:
    """A serialised ``ExportTraceServiceRequest`` of stored spans: (origin id, Span bytes)."""
    # resource key -> its scope spans, each (origin id, [framed span, ...]), in first-seen order
    resources: dict[tuple[bytes, str], list[tuple[int, list[bytes]]]] = {}
    by_origin: dict[int, list[bytes]] = {}
    spans_tag = _SPANS
    for origin_id, data in rows:
        framed = by_origin.get(origin_id)
        if framed is None:
            resource, resource_url = origins[origin_id][:2]
            framed = by_origin[origin_id] = []
            resources.setdefault((resource, resource_url), []).append((origin_id, framed))
        framed.append(spans_tag + _varint(len(data)))
        framed.append(data)
    # Written with one copy of the span bytes: each message's length is summed from its parts
    # and the framing (tag, length) goes in front of them in one flat list, joined at the end.
    out: list[bytes] = []
    for (resource, resource_url), scopes in resources.items():
        # Fields in number order, as protobuf writes them: resource, scope_spans, schema_url.
        head = [_field(_RESOURCE, resource)]
        size = len(head[0])
        scope_parts: list[list[bytes]] = []
        for origin_id, framed in scopes:
            _, _, scope, scope_url = origins[origin_id]
            first = _field(_SCOPE, scope)
            last = _field(_SCOPE_SCHEMA_URL, scope_url.encode()) if scope_url else b""
            body = len(first) + sum(map(len, framed)) + len(last)
            opening = _SCOPE_SPANS + _varint(body)
            scope_parts.append([opening, first, *framed, last])
            size += len(opening) + body
        tail = _field(_RESOURCE_SCHEMA_URL, resource_url.encode()) if resource_url else b""
        size += len(tail)
        out += (_RESOURCE_SPANS, _varint(size), *head)
        for parts in scope_parts:
            out += parts
        out.append(tail)
    return b"".join(out)
