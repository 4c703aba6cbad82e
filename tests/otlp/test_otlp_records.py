"""OTLP protobuf -> SpanRecord (``otlp.from_request``, the hot path of reading many runs):
every field and every kind of attribute value, accounted for literally.
"""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from otel_bridge import SpanFormatError
from otel_bridge.otlp import from_request
from otel_bridge.spans import SpanEvent, SpanRecord

A, B = 0xA1 << 100, 0xB2 << 100


def kv(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))  # type: ignore[arg-type]


def request(*spans: Span, resource: Resource | None = None) -> ExportTraceServiceRequest:
    scope = ScopeSpans(scope=InstrumentationScope(name="scope-x"), spans=spans)
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource or Resource(), scope_spans=[scope])]
    )


def span(trace_id: int, span_id: int, **fields: object) -> Span:
    return Span(
        trace_id=trace_id.to_bytes(16, "big"),
        span_id=span_id.to_bytes(8, "big"),
        **fields,  # type: ignore[arg-type]
    )


def test_every_field_and_value_kind() -> None:
    pair = ArrayValue(values=[AnyValue(string_value="a"), AnyValue(int_value=1)])
    attributes = [
        kv("text", string_value="hello"),
        kv("empty_text", string_value=""),
        kv("zero", int_value=0),
        kv("count", int_value=42),
        kv("no", bool_value=False),
        kv("yes", bool_value=True),
        kv("ratio", double_value=0.0),
        kv("list", array_value=pair),
        kv("map", kvlist_value=KeyValueList(values=[kv("k", string_value="v")])),
        kv("raw", bytes_value=b"\x00\x01"),
        kv("unset"),
        kv("text", string_value="last one wins"),
    ]
    full = span(
        A, 2,
        parent_span_id=(1).to_bytes(8, "big"),
        name="call",
        kind=Span.SpanKind.SPAN_KIND_CLIENT,
        start_time_unix_nano=10,
        end_time_unix_nano=30,
        attributes=attributes,
        events=[Span.Event(name="ev", time_unix_nano=20, attributes=[kv("n", int_value=1)])],
        status=Status(code=Status.StatusCode.STATUS_CODE_ERROR, message="boom"),
    )  # fmt: skip
    bare = span(A, 3, start_time_unix_nano=40)  # no parent, no end, no attributes
    resource = Resource(attributes=[kv("service.name", string_value="svc")])
    got = from_request(request(full, bare, resource=resource))
    assert got == [
        SpanRecord(
            trace_id=A,
            span_id=2,
            parent_id=1,
            name="call",
            start_ns=10,
            end_ns=30,
            kind="CLIENT",
            status="ERROR",
            status_message="boom",
            attributes={
                "text": "last one wins",
                "empty_text": "",
                "zero": 0,
                "count": 42,
                "no": False,
                "yes": True,
                "ratio": 0.0,
                "list": ("a", 1),
                "map": '{"k": "v"}',
                "raw": "AAE=",
                "unset": None,
            },
            events=(SpanEvent("ev", 20, {"n": 1}),),
            resource={"service.name": "svc"},
            scope="scope-x",
        ),
        SpanRecord(
            trace_id=A,
            span_id=3,
            parent_id=None,
            name="",
            start_ns=40,
            end_ns=40,
            kind="UNSPECIFIED",
            status="UNSET",
            resource={"service.name": "svc"},
            scope="scope-x",
        ),
    ]
    assert type(got[0].attributes["zero"]) is int and type(got[0].attributes["no"]) is bool


def test_spans_of_interleaved_traces_keep_their_own_trace_id() -> None:
    got = from_request(request(span(A, 1), span(B, 2), span(A, 3), span(B, 4)))
    assert [(s.trace_id, s.span_id) for s in got] == [(A, 1), (B, 2), (A, 3), (B, 4)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Span(trace_id=b"\x01" * 3, span_id=b"\x01" * 8), "traceId must be 16 bytes, got 3"),
        (Span(trace_id=bytes(16), span_id=b"\x01" * 8), "traceId is all zeros"),
        (Span(trace_id=b"\x01" * 16, span_id=b"\x01" * 9), "spanId must be 8 bytes, got 9"),
        (Span(trace_id=b"\x01" * 16, span_id=bytes(8)), "spanId is all zeros"),
    ],
)
def test_invalid_ids_are_refused(bad: Span, message: str) -> None:
    with pytest.raises(SpanFormatError, match=message):
        from_request(request(span(A, 1), bad))
