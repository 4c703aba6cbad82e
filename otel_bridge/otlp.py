"""OTLP: the wire constants, and protobuf and OTLP/JSON to and from ``SpanRecord``.

The protocol is handled by ``opentelemetry-proto``; JSON goes through protobuf's own
``json_format`` after the one OTLP/JSON twist: trace and span ids are hex, not base64.

Text that is not Unicode: protobuf strings must be UTF-8 and JSON bodies must be UTF-8 text,
so invalid UTF-8 bytes make the whole body a ``SpanFormatError``. A lone UTF-16 surrogate
escape in JSON (``"\\ud800"``, what a UTF-16 producer writes after cutting a string inside a
character pair) is valid JSON syntax but no character: it becomes U+FFFD, in keys and values
alike, and ``load_json`` says how many were replaced, so the rest of the data is kept.
Error messages quote input escaped and shortened, so they can always be encoded and printed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from sys import intern
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from .errors import SpanFormatError
from .spans import EMPTY, FrozenAttributes, SpanEvent, SpanRecord, StatusName, printable

__all__ = [
    "JSON",
    "PROTOBUF",
    "PROTOBUF_TYPES",
    "TRACES_PATH",
    "decode_request",
    "decode_request_json",
    "from_request",
    "iter_json_bodies",
    "load_json",
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
    out = {}
    for kv in kvs:
        value = kv.value
        # Most values are strings: a non-empty string_value is one (the field is a oneof),
        # which spares the WhichOneof call of value_of.
        out[intern(kv.key)] = value.string_value or value_of(value)
    return FrozenAttributes(out)


def _id(raw: bytes, size: int, what: str) -> int:
    if len(raw) != size:
        raise SpanFormatError(f"{what} must be {size} bytes, got {len(raw)}")
    value = int.from_bytes(raw, "big")
    if value == 0:
        raise SpanFormatError(f"{what} is all zeros")
    return value


def from_request(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    """All spans of an OTLP export request; raises SpanFormatError on invalid ids."""
    # The hot path of reading many runs: each access to a protobuf field makes a Python object,
    # so every field is read once, and a trace id is converted once per run of equal ids.
    records: list[SpanRecord] = []
    append = records.append
    kinds, statuses = _KIND, _STATUS
    last_raw, trace_id = b"", 0
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for span in ss.spans:
                raw = span.trace_id
                if raw != last_raw:
                    trace_id = _id(raw, 16, "traceId")
                    last_raw = raw
                start = span.start_time_unix_nano
                status = span.status
                events = span.events
                append(
                    SpanRecord(
                        trace_id=trace_id,
                        span_id=_id(span.span_id, 8, "spanId"),
                        parent_id=int.from_bytes(span.parent_span_id, "big") or None,
                        name=span.name,
                        start_ns=start,
                        end_ns=span.end_time_unix_nano or start,
                        kind=kinds.get(span.kind, "INTERNAL"),
                        status=statuses.get(status.code, "UNSET"),
                        status_message=status.message,
                        attributes=_attrs(span.attributes),
                        events=tuple(
                            SpanEvent(e.name, e.time_unix_nano, _attrs(e.attributes))
                            for e in events
                        )
                        if events
                        else (),
                        resource=resource,
                        scope=scope,
                    )
                )
    return records


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
        raise SpanFormatError(f"{key} is not hex: {printable(repr(value), 80)}") from exc


def _b64_to_hex(value: str, key: str) -> str:
    return base64.b64decode(value).hex()


def decode_request_json(body: Any, *, copy: bool = True) -> ExportTraceServiceRequest:
    """Parse one OTLP/JSON body (a dict, or its text) into a protobuf request.

    Ids are rewritten in place: a dict is copied first unless ``copy=False`` (the caller's own,
    e.g. from ``load_json``). Text and copied dicts get lone surrogates replaced (module doc).
    """
    if isinstance(body, bytes | str):
        body, _ = load_json(body)
        copy = False
    if not isinstance(body, dict) or "resourceSpans" not in body:
        raise SpanFormatError("no 'resourceSpans' key")
    if copy:
        try:
            text = json.dumps(body)  # ASCII: lone surrogates come out as escapes load_json fixes
        except (TypeError, ValueError) as exc:
            raise SpanFormatError(f"malformed OTLP/JSON: {printable(str(exc))}") from exc
        except RecursionError as exc:
            raise SpanFormatError("malformed OTLP/JSON: nested too deeply") from exc
        body, _ = load_json(text)
    _walk_ids(body, _hex_to_b64)
    try:
        return json_format.ParseDict(body, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        raise SpanFormatError(f"malformed OTLP/JSON: {printable(str(exc))}") from exc
    except SystemError as exc:
        # upb's answer to a lone surrogate in a caller's own dict (copy=False): its lookup of
        # the key fails to encode it as UTF-8.
        raise SpanFormatError(
            "malformed OTLP/JSON: a key or value holds a lone UTF-16 surrogate"
        ) from exc


# A JSON escape of a UTF-16 surrogate (D800-DFFF); a lone one survives json.loads as itself.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def load_json(text: str | bytes) -> tuple[Any, int]:
    """JSON text as Python values, and how many lone surrogates became U+FFFD (module doc).

    ``SpanFormatError`` when it is not JSON: bad syntax, invalid UTF-8, or nested too deeply.
    """
    try:
        # orjson reads OTLP/JSON in about half json's time; what it refuses (a lone
        # surrogate, NaN, a BOM, bad syntax) is read by json, which says what is wrong.
        return orjson.loads(text), 0
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise SpanFormatError(f"not JSON: not UTF-8 text: {printable(str(exc))}") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        # Some messages end in "at" already ("Unterminated string starting at").
        joiner = " " if exc.msg.endswith(" at") else " at "
        raise SpanFormatError(f"not JSON: {exc.msg}{joiner}{where}") from exc
    except RecursionError as exc:
        raise SpanFormatError("not JSON: nested too deeply") from exc
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    # Only a body with a surrogate escape (or, as text, a raw surrogate) can hold a lone one:
    # the walk is skipped for every other body.
    if _SURROGATE_ESCAPE.search(raw) is None and (
        isinstance(text, bytes) or _SURROGATE.search(text) is None
    ):
        return value, 0
    return _replace_surrogates(value)


def _replace_surrogates(value: Any) -> tuple[Any, int]:
    """The value with every lone surrogate in its strings (keys too) replaced; iterative."""
    replaced = 0

    def fix(text: str) -> str:
        nonlocal replaced
        fixed, n = _SURROGATE.subn(REPLACEMENT, text)
        replaced += n
        return fixed

    if isinstance(value, str):
        return fix(value), replaced
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = fix(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
        elif isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(item, str):
                    item = fix(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
                if _SURROGATE.search(key):
                    del node[key]
                    node[fix(key)] = item
                else:
                    node[key] = item
    return value, replaced


def request_to_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON form of a request (hex ids, integer enums)."""
    body = json_format.MessageToDict(request, use_integers_for_enums=True)
    _walk_ids(body, _b64_to_hex)
    return body


def iter_json_bodies(text: str) -> Iterator[dict[str, Any]]:
    """OTLP/JSON bodies in a text: one whole JSON document, or one body per line.

    Lone surrogates become U+FFFD (module doc); ``SpanFormatError`` names a line that is not
    JSON.
    """
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield load_json(stripped)[0]
        return
    except SpanFormatError:
        if "\n" not in stripped:
            raise
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield load_json(line)[0]
        except SpanFormatError as exc:
            raise SpanFormatError(f"line {number} is {exc}") from exc


def records_from_json(bodies: Sequence[Any]) -> list[SpanRecord]:
    """SpanRecords from OTLP/JSON bodies."""
    return [r for body in bodies for r in from_request(decode_request_json(body))]
