"""OTLP: the wire constants, and protobuf and OTLP/JSON to and from ``SpanRecord``.

The protocol is handled by ``opentelemetry-proto``; JSON goes through protobuf's own
``json_format`` after the one OTLP/JSON twist: trace and span ids are hex, not base64.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from sys import intern
from types import MappingProxyType
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from .errors import SpanFormatError
from .spans import EMPTY, SpanEvent, SpanRecord, StatusName

__all__ = [
    "JSON",
    "PROTOBUF",
    "PROTOBUF_TYPES",
    "TRACES_PATH",
    "decode_request",
    "decode_request_json",
    "from_request",
    "iter_json_bodies",
    "records_from_json",
    "request_to_json",
    "to_request",
    "value_of",
]

TRACES_PATH = "/v1/traces"
"""Where OTLP/HTTP traces are POSTed."""
PROTOBUF = "application/x-protobuf"
"""The OTLP/HTTP protobuf content type."""
PROTOBUF_TYPES = (PROTOBUF, "application/protobuf")
"""Content types accepted as protobuf."""
JSON = "application/json"
"""The OTLP/HTTP JSON content type."""

_KIND = {v: k.removeprefix("SPAN_KIND_") for k, v in Span.SpanKind.items()}
_KIND_NUM = {name: num for num, name in _KIND.items()}
_STATUS: dict[int, StatusName] = {0: "UNSET", 1: "OK", 2: "ERROR"}
_STATUS_NUM = {name: num for num, name in _STATUS.items()}
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


# ---- protobuf <-> SpanRecord -------------------------------------------------------------


def value_of(value: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue`` (arrays become tuples)."""
    which = value.WhichOneof("value")
    if which == "string_value":  # by far the most common: checked first
        return value.string_value
    if which is None:
        return None
    if which == "array_value":
        return tuple(value_of(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return json.dumps({kv.key: value_of(kv.value) for kv in value.kvlist_value.values})
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def _attrs(kvs: Sequence[KeyValue]) -> Mapping[str, Any]:
    """Read-only attributes with interned keys (what ``spans.freeze`` makes), built in one go."""
    if not kvs:
        return EMPTY
    return MappingProxyType({intern(kv.key): value_of(kv.value) for kv in kvs})


def _id(raw: bytes, size: int, what: str) -> int:
    if len(raw) != size:
        raise SpanFormatError(f"{what} must be {size} bytes, got {len(raw)}")
    value = int.from_bytes(raw, "big")
    if value == 0:
        raise SpanFormatError(f"{what} is all zeros")
    return value


def from_request(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    """All spans of an OTLP export request; raises SpanFormatError on invalid ids."""
    records: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for span in ss.spans:
                records.append(_from_span(span, resource, scope))
    return records


def _from_span(span: Span, resource: Mapping[str, Any], scope: str) -> SpanRecord:
    return SpanRecord(
        trace_id=_id(span.trace_id, 16, "traceId"),
        span_id=_id(span.span_id, 8, "spanId"),
        parent_id=int.from_bytes(span.parent_span_id, "big") or None,
        name=span.name,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano or span.start_time_unix_nano,
        kind=_KIND.get(span.kind, "INTERNAL"),
        status=_STATUS.get(span.status.code, "UNSET"),
        status_message=span.status.message,
        attributes=_attrs(span.attributes),
        events=tuple(
            SpanEvent(e.name, e.time_unix_nano, _attrs(e.attributes)) for e in span.events
        ),
        resource=resource,
        scope=scope,
    )


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(_any(v) for v in value)
        return out
    return AnyValue(string_value=str(value))


def _kvs(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in attributes.items()]


def to_request(spans: Iterable[SpanRecord]) -> ExportTraceServiceRequest:
    """An OTLP export request holding the spans, grouped by resource and scope (by content)."""
    groups: dict[tuple[object, ...], tuple[Mapping[str, Any], dict[str, list[SpanRecord]]]] = {}
    for span in spans:
        key = tuple(sorted(span.resource.items()))
        scopes = groups.setdefault(key, (span.resource, {}))[1]
        scopes.setdefault(span.scope, []).append(span)
    request = ExportTraceServiceRequest()
    for resource, scopes in groups.values():
        rs = request.resource_spans.add(resource=Resource(attributes=_kvs(resource)))
        for scope, members in scopes.items():
            ss: ScopeSpans = rs.scope_spans.add()
            ss.scope.name = scope
            ss.spans.extend(_to_span(s) for s in members)
    return request


def _to_span(record: SpanRecord) -> Span:
    span = Span(
        trace_id=record.trace_id.to_bytes(16, "big"),
        span_id=record.span_id.to_bytes(8, "big"),
        parent_span_id=record.parent_id.to_bytes(8, "big") if record.parent_id else b"",
        name=record.name,
        kind=_KIND_NUM.get(record.kind, 1),
        start_time_unix_nano=record.start_ns,
        end_time_unix_nano=record.end_ns,
        attributes=_kvs(record.attributes),
        status=Status(
            code=_STATUS_NUM[record.status],  # type: ignore[arg-type]
            message=record.status_message,
        ),
    )
    for event in record.events:
        span.events.add(
            name=event.name, time_unix_nano=event.time_ns, attributes=_kvs(event.attributes)
        )
    return span


def decode_request(body: bytes) -> ExportTraceServiceRequest:
    """Parse an OTLP protobuf body; raises SpanFormatError when it is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise SpanFormatError(f"malformed OTLP protobuf: {exc}") from exc
    return request


# ---- OTLP/JSON --------------------------------------------------------------------------


def _walk_ids(body: Any, convert: Any) -> None:
    """Apply ``convert`` to every span/link id in an OTLP JSON body, in place."""
    for rs in _list(body, "resourceSpans"):
        for ss in _list(rs, "scopeSpans"):
            for span in _list(ss, "spans"):
                _convert_ids(span, convert)
                for link in _list(span, "links"):
                    _convert_ids(link, convert)


def _list(obj: Any, key: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise SpanFormatError(f"expected an object holding {key!r}, got {type(obj).__name__}")
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise SpanFormatError(f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _convert_ids(obj: Any, convert: Any) -> None:
    if not isinstance(obj, dict):
        raise SpanFormatError(f"a span or link must be an object, got {type(obj).__name__}")
    for key in _ID_KEYS:
        if obj.get(key):
            obj[key] = convert(obj[key], key)


def _hex_to_b64(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise SpanFormatError(f"{key} must be a hex string, got {type(value).__name__}")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError as exc:
        raise SpanFormatError(f"{key} is not hex: {value!r}") from exc


def _b64_to_hex(value: str, key: str) -> str:
    return base64.b64decode(value).hex()


def decode_request_json(body: Any, *, copy: bool = True) -> ExportTraceServiceRequest:
    """Parse one OTLP/JSON body (a dict, or its text) into a protobuf request.

    Ids are rewritten in place: a dict is copied first unless ``copy=False`` (the caller's own).
    """
    if isinstance(body, bytes | str):
        body = _json(body)
        copy = False
    if not isinstance(body, dict) or "resourceSpans" not in body:
        raise SpanFormatError("no 'resourceSpans' key")
    if copy:
        body = _json(json.dumps(body))
    _walk_ids(body, _hex_to_b64)
    try:
        return json_format.ParseDict(body, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        raise SpanFormatError(f"malformed OTLP/JSON: {exc}") from exc


def _json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpanFormatError(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise SpanFormatError("not JSON: nested too deeply") from exc


def request_to_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON form of a request (hex ids, integer enums)."""
    body = json_format.MessageToDict(request, use_integers_for_enums=True)
    _walk_ids(body, _b64_to_hex)
    return body


def iter_json_bodies(text: str) -> Iterator[dict[str, Any]]:
    """OTLP/JSON bodies in a text: one whole JSON document, or one body per line."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield json.loads(stripped)
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise SpanFormatError(f"line {number} is not JSON: {exc.msg}") from exc


def records_from_json(bodies: Sequence[Any]) -> list[SpanRecord]:
    """SpanRecords from OTLP/JSON bodies."""
    return [r for body in bodies for r in from_request(decode_request_json(body))]
