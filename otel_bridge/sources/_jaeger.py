"""Jaeger's query service as a span source: API v3 (OTLP/JSON) and the legacy JSON model.

- ``GET {base}/api/v3/traces/{id}``: ``{"result": <OTLP TracesData JSON>}`` (several such objects,
  one per line, when streamed); ``{"error": {"httpCode": 404, ...}}`` for an unknown trace.
- ``GET {base}/api/traces/{id}`` (what the Jaeger UI reads): ``{"data": [trace], "errors": ...}``
  in Jaeger's own model, converted here the way the OpenTelemetry Collector's Jaeger translator
  does it in reverse: process ``serviceName`` and tags -> resource; tags -> attributes, except
  ``span.kind``, ``otel.status_code``/``otel.status_description``/``error`` (-> kind and status)
  and ``otel.scope.name``/``otel.scope.version`` (-> scope); the first CHILD_OF reference in
  the same trace -> parent; logs -> events (field ``event`` is the name). Times are in
  microseconds, and array attributes arrive as JSON strings (Jaeger stores them so).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME

from ..errors import SourceError, SpanFormatError
from ..otlp import decode_request_json, from_request, iter_json_bodies
from ..spans import (
    SpanEvent,
    SpanRecord,
    StatusName,
    format_trace_id,
    freeze,
    parse_span_id,
    parse_trace_id,
    printable,
)
from ._http import client_for, get, json_of

__all__ = ["read_jaeger", "records_from_jaeger_json", "records_from_jaeger_v3"]

_SCOPE_TAGS = ("otel.scope.name", "otel.library.name")
_SCOPE_VERSION_TAGS = ("otel.scope.version", "otel.library.version")
_DROPPED_TAGS = ("internal.span.format", "w3c.tracestate", *_SCOPE_VERSION_TAGS)
_KINDS = {
    "client": "CLIENT",
    "server": "SERVER",
    "producer": "PRODUCER",
    "consumer": "CONSUMER",
    "internal": "INTERNAL",
}


def read_jaeger(
    base_url: str,
    trace_id: str | int,
    *,
    api: str = "auto",
    token: str | None = None,
    client: httpx.Client | None = None,
) -> list[SpanRecord]:
    """Every span of a trace from Jaeger query; ``api`` is ``v3``, ``legacy`` or ``auto``.

    ``auto`` asks API v3 and falls back to the legacy API when the v3 route does not exist.
    """
    tid = format_trace_id(trace_id)
    base = base_url.rstrip("/")
    with client_for(token, client) as http:
        if api in ("v3", "auto"):
            url = f"{base}/api/v3/traces/{tid}"
            response = get(http, url)
            if response.status_code != 404:
                return _nonempty(records_from_jaeger_v3(response.text, url), base_url, tid)
            if api == "v3" or _is_jaeger_error(response):
                raise SourceError(f"{base_url}: no trace {tid} in Jaeger")
        url = f"{base}/api/traces/{tid}"
        response = get(http, url)
        if response.status_code == 404:
            raise SourceError(f"{base_url}: no trace {tid} in Jaeger")
        try:
            records = records_from_jaeger_json(json_of(response))
        except SpanFormatError as exc:
            raise SourceError(f"{url}: {exc}") from exc
    return _nonempty(records, base_url, tid)


def _nonempty(records: list[SpanRecord], base_url: str, tid: str) -> list[SpanRecord]:
    if not records:
        raise SourceError(f"{base_url}: no spans of trace {tid} in Jaeger")
    return records


def _is_jaeger_error(response: httpx.Response) -> bool:
    """True for API v3's own error body (the route exists; the trace does not)."""
    try:
        return isinstance(response.json().get("error"), dict)
    except (ValueError, AttributeError):
        return False


# ---- API v3 ---------------------------------------------------------------------------------


def records_from_jaeger_v3(text: str, url: str = "Jaeger API v3") -> list[SpanRecord]:
    """SpanRecords from an API v3 answer (one or more ``{"result": TracesData}`` objects)."""
    records: list[SpanRecord] = []
    try:
        for body in iter_json_bodies(text):
            if not isinstance(body, dict):
                raise SpanFormatError(f"expected a JSON object, got {type(body).__name__}")
            if "error" in body:
                raise SourceError(f"{url}: {body['error']}")
            result = body.get("result", body)
            if isinstance(result, dict) and result.get("resourceSpans"):
                records.extend(from_request(decode_request_json(result)))
    except SpanFormatError as exc:
        raise SourceError(f"{url}: not OTLP/JSON: {exc}") from exc
    return records


# ---- legacy JSON model ------------------------------------------------------------------------


def records_from_jaeger_json(body: Mapping[str, Any]) -> list[SpanRecord]:
    """SpanRecords from ``/api/traces/{id}`` (``{"data": [trace, ...]}``) or one trace object."""
    if not isinstance(body, Mapping):
        raise SpanFormatError(f"expected a JSON object, got {type(body).__name__}")
    traces = body.get("data") if "data" in body else [body]
    if traces is None:
        return []
    if not isinstance(traces, list):
        raise SpanFormatError("'data' must be a list of traces")
    try:
        return [record for trace in traces for record in _trace_records(trace)]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpanFormatError(f"not a Jaeger trace: {printable(repr(exc))}") from exc


def _trace_records(trace: Mapping[str, Any]) -> Iterable[SpanRecord]:
    processes = {pid: _resource(process) for pid, process in (trace.get("processes") or {}).items()}
    for span in trace.get("spans") or ():
        if span.get("process"):
            resource = _resource(span["process"])
        else:
            resource = processes.get(span.get("processID"), freeze(None))
        yield _span(span, resource)


def _resource(process: Mapping[str, Any]) -> Mapping[str, Any]:
    attributes: dict[str, Any] = {}
    if process.get("serviceName"):
        attributes[SERVICE_NAME] = process["serviceName"]
    attributes.update(_tags(process.get("tags")))
    return freeze(attributes)


def _span(span: Mapping[str, Any], resource: Mapping[str, Any]) -> SpanRecord:
    trace_id = parse_trace_id(span["traceID"])
    tags = _tags(span.get("tags"))
    scope = next((str(tags.pop(key)) for key in _SCOPE_TAGS if key in tags), "")
    for key in (*_SCOPE_TAGS, *_DROPPED_TAGS):
        tags.pop(key, None)
    kind = _KINDS.get(str(tags.pop("span.kind", "")).lower(), "UNSPECIFIED")
    status, message = _status(tags)
    start_ns = int(span["startTime"]) * 1000
    return SpanRecord(
        trace_id=trace_id,
        span_id=parse_span_id(span["spanID"]),
        parent_id=_parent(span, trace_id),
        name=str(span.get("operationName") or ""),
        start_ns=start_ns,
        end_ns=start_ns + int(span.get("duration") or 0) * 1000,
        kind=kind,
        status=status,
        status_message=message,
        attributes=freeze(tags),
        events=tuple(_event(log) for log in span.get("logs") or ()),
        resource=resource,
        scope=scope,
    )


def _parent(span: Mapping[str, Any], trace_id: int) -> int | None:
    for ref in span.get("references") or ():
        if ref.get("refType") == "CHILD_OF" and parse_trace_id(ref["traceID"]) == trace_id:
            return _optional_span_id(ref["spanID"])
    return _optional_span_id(span.get("parentSpanID"))  # very old Jaeger models


def _optional_span_id(value: Any) -> int | None:
    """A parent span id; None for an absent or all-zero one (how Jaeger writes "no parent")."""
    text = str(value or "")
    return parse_span_id(text) if text.strip("0") else None


def _status(tags: dict[str, Any]) -> tuple[StatusName, str]:
    """The span status from (and removed from) the tags, as the OTel Jaeger translator reads it."""
    code = str(tags.pop("otel.status_code", "")).upper()
    message = str(tags.pop("otel.status_description", ""))
    error = tags.get("error")
    if error is True:
        del tags["error"]
        return "ERROR", message
    if code in ("OK", "ERROR"):
        return ("OK" if code == "OK" else "ERROR"), message
    return "UNSET", message


def _event(log: Mapping[str, Any]) -> SpanEvent:
    fields = _tags(log.get("fields"))
    name = str(fields.pop("event", ""))
    return SpanEvent(name, int(log.get("timestamp") or 0) * 1000, freeze(fields))


def _tags(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """Jaeger key/type/value triples as attributes (JSON types are already the right ones)."""
    out: dict[str, Any] = {}
    for tag in tags or ():
        value: Any = tag.get("value")
        kind = tag.get("type", "string")
        if kind == "int64":
            value = int(value)
        elif kind == "float64":
            value = float(value)
        elif kind == "bool" and not isinstance(value, bool):
            value = str(value).lower() == "true"
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        out[str(tag["key"])] = value
    return out
