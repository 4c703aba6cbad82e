"""What a Jaeger query service answers for given spans, for fake Jaeger services in tests.

API v3 wraps OTLP/JSON; the legacy JSON model is built the way the OpenTelemetry Collector's
translator converts OTLP spans to it. Answers recorded from a real Jaeger are in
tests/data/jaeger/ (tests/sources/test_jaeger_recorded.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from otel_bridge import SpanRecord
from otel_bridge.otlp import request_to_json, to_request


def jaeger_v3_body(spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """``GET /api/v3/traces/{id}``: OTLP/JSON in a ``result`` wrapper."""
    return {"result": request_to_json(to_request(spans))}


def jaeger_legacy_body(spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """``GET /api/traces/{id}``: Jaeger's JSON model, as Jaeger converts OTLP spans to it."""
    processes: dict[str, dict[str, Any]] = {}
    process_ids: dict[str, str] = {}
    out = []
    for span in spans:
        resource = dict(span.resource)
        key = json.dumps(sorted(resource.items()), default=list)
        pid = process_ids.setdefault(key, f"p{len(process_ids) + 1}")
        service = resource.pop("service.name", "OTLPResourceNoServiceName")
        processes[pid] = {"serviceName": service, "tags": [_tag(k, v) for k, v in resource.items()]}
        tags = [_tag("otel.scope.name", span.scope)] if span.scope else []
        tags += [_tag(k, v) for k, v in span.attributes.items()]
        if span.kind != "UNSPECIFIED":
            tags.append(_tag("span.kind", span.kind.lower()))
        if span.status != "UNSET":
            tags.append(_tag("otel.status_code", span.status))
        if span.status == "ERROR":
            tags.append(_tag("error", True))
        if span.status_message:
            tags.append(_tag("otel.status_description", span.status_message))
        references = []
        if span.parent_id is not None:
            references.append(
                {
                    "refType": "CHILD_OF",
                    "traceID": _jaeger_trace_id(span.trace_id),
                    "spanID": span.parent_id_hex,
                }
            )
        out.append(
            {
                "traceID": _jaeger_trace_id(span.trace_id),
                "spanID": span.span_id_hex,
                "flags": 1,
                "operationName": span.name,
                "references": references,
                "startTime": span.start_ns // 1000,
                "duration": (span.end_ns - span.start_ns) // 1000,
                "tags": tags,
                "logs": [
                    {
                        "timestamp": event.time_ns // 1000,
                        "fields": [_tag("event", event.name)]
                        + [_tag(k, v) for k, v in event.attributes.items()],
                    }
                    for event in span.events
                ],
                "processID": pid,
                "warnings": None,
            }
        )
    trace_id = _jaeger_trace_id(spans[0].trace_id)
    trace = {"traceID": trace_id, "spans": out, "processes": processes, "warnings": None}
    return {"data": [trace], "total": 0, "limit": 0, "offset": 0, "errors": None}


def _jaeger_trace_id(trace_id: int) -> str:
    """Jaeger's TraceID.String(): the high half without padding, or only the low half."""
    high, low = trace_id >> 64, trace_id & (2**64 - 1)
    return f"{high:x}{low:016x}" if high else f"{low:016x}"


def _tag(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, tuple | list):
        return {"key": key, "type": "string", "value": json.dumps(list(value))}
    return {"key": key, "type": "string", "value": str(value)}
