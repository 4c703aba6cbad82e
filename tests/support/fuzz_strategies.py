"""Fuzz inputs (hypothesis strategies), shared by tests/otlp/test_otlp_fuzz.py and ``stress/``.

What a hostile or broken producer can send: OTLP-shaped JSON whose every field may hold any
JSON value (text with lone surrogates included), protobuf requests with random content,
mutated, cut or replaced by noise, either one gzipped or not, under any content type; query
API paths and parameters. A sentinel trace the strategies never generate is stored before
fuzzing and checked after.
"""

from __future__ import annotations

import gzip
import json
from urllib.parse import quote

import grpc
from hypothesis import strategies as st

from otel_bridge import SpanRecord
from otel_bridge.otlp import to_request

SENTINEL_TRACE = 0x5E17_1E15_0000_0000_0000_0000_0000_0001
"""A trace the strategies never generate: stored before fuzzing, checked after."""
SENTINEL_SPANS = [
    SpanRecord(SENTINEL_TRACE, 1, None, "sentinel", 1_000, 9_000, status="OK"),
    SpanRecord(SENTINEL_TRACE, 2, 1, "child", 2_000, 3_000, attributes={"k": "v"}),
]
"""The sentinel trace's spans."""
EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
"""The OTLP/gRPC method, for a raw (bytes in, bytes out) call."""

_TEXT = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from('{}[]":,\\')),
    max_size=40,
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)
_HEX_ID = st.one_of(
    st.text("0123456789abcdef", min_size=0, max_size=34), st.sampled_from(["0" * 32, "0" * 16])
)
_ANY_VALUE = st.one_of(
    st.fixed_dictionaries({}, optional={"stringValue": _JSON}),
    st.fixed_dictionaries(
        {},
        optional={
            "intValue": st.one_of(st.integers().map(str), _JSON),
            "doubleValue": _JSON,
            "boolValue": _JSON,
            "bytesValue": _JSON,
            "arrayValue": st.fixed_dictionaries({"values": st.lists(_JSON, max_size=3)}),
            "kvlistValue": _JSON,
        },
    ),
    _JSON,
)
_KEY_VALUES = st.one_of(
    st.lists(st.fixed_dictionaries({"key": _TEXT, "value": _ANY_VALUE}), max_size=4), _JSON
)
_NANOS = st.one_of(st.integers(min_value=0, max_value=2**64 + 5).map(str), _JSON)
_SPAN = st.fixed_dictionaries(
    {"traceId": st.one_of(_HEX_ID, _HEX_ID, _JSON), "spanId": _HEX_ID},
    optional={
        "parentSpanId": st.one_of(_HEX_ID, _JSON),
        "name": _JSON,
        "kind": st.one_of(st.integers(-2, 9), st.sampled_from(["SPAN_KIND_SERVER"]), _JSON),
        "startTimeUnixNano": _NANOS,
        "endTimeUnixNano": _NANOS,
        "attributes": _KEY_VALUES,
        "events": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"name": _JSON, "timeUnixNano": _NANOS, "attributes": _KEY_VALUES}
                ),
                max_size=2,
            ),
            _JSON,
        ),
        "links": st.one_of(
            st.lists(st.fixed_dictionaries({"traceId": _HEX_ID}), max_size=2), _JSON
        ),
        "status": st.one_of(
            st.fixed_dictionaries({}, optional={"code": _JSON, "message": _JSON}), _JSON
        ),
        "droppedAttributesCount": _JSON,
        "flags": _JSON,
    },
)
_OTLP_JSON = st.one_of(
    st.fixed_dictionaries(
        {
            "resourceSpans": st.lists(
                st.fixed_dictionaries(
                    {
                        "scopeSpans": st.lists(
                            st.fixed_dictionaries(
                                {"spans": st.lists(_SPAN, max_size=3)},
                                optional={"scope": _JSON, "schemaUrl": _JSON},
                            ),
                            max_size=2,
                        )
                    },
                    optional={
                        "resource": st.fixed_dictionaries({"attributes": _KEY_VALUES}),
                        "schemaUrl": _JSON,
                    },
                ),
                max_size=2,
            )
        },
        optional={"unknownField": _JSON},
    ),
    _JSON,
)


def _mutate(data: st.DataObject, body: bytes) -> bytes:
    """The body as is, cut short, with bytes overwritten, or with noise inserted."""
    how = data.draw(st.sampled_from(["same", "same", "cut", "flip", "insert"]))
    if how == "same" or not body:
        return body
    at = data.draw(st.integers(0, len(body) - 1))
    if how == "cut":
        return body[:at]
    noise = data.draw(st.binary(min_size=1, max_size=8))
    if how == "flip":
        return body[:at] + noise + body[at + len(noise) :]
    return body[:at] + noise + body[at:]


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """OTLP/JSON-shaped bodies with arbitrary values, sometimes mutated."""
    body = json.dumps(draw(_OTLP_JSON)).encode()  # ASCII: a lone surrogate is an escape
    return _mutate(draw(st.data()), body)


_RECORD = st.builds(
    SpanRecord,
    trace_id=st.integers(1, 2**100),
    span_id=st.integers(1, 2**64 - 1),
    parent_id=st.one_of(st.none(), st.integers(1, 2**64 - 1)),
    name=st.text(max_size=20),
    start_ns=st.integers(0, 2**64 - 1),
    end_ns=st.integers(0, 2**64 - 1),
    kind=st.sampled_from(["INTERNAL", "SERVER", "CLIENT"]),
    status=st.sampled_from(["UNSET", "OK", "ERROR"]),
    attributes=st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.text(max_size=20), st.integers(-(2**63), 2**63 - 1), st.floats()),
        max_size=4,
    ),
)


@st.composite
def protobuf_bodies(draw: st.DrawFn) -> bytes:
    """OTLP protobuf requests with random spans, mutated, or plain noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    body = to_request(draw(st.lists(_RECORD, max_size=4))).SerializeToString()
    return _mutate(draw(st.data()), body)


_CONTENT_TYPES = st.sampled_from(
    ["application/x-protobuf", "application/json", "application/json; charset=utf-8",
     "application/protobuf", "text/plain", ""]
)  # fmt: skip


@st.composite
def http_exports(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A body and the headers of an OTLP/HTTP export: any body under any content type."""
    body = draw(st.one_of(json_bodies(), protobuf_bodies()))
    headers = {"content-type": draw(_CONTENT_TYPES)}
    encoding = draw(st.sampled_from(["", "", "gzip", "gzip", "br", "identity"]))
    if encoding:
        headers["content-encoding"] = encoding
    if encoding == "gzip" and draw(st.booleans()):
        body = _mutate(draw(st.data()), gzip.compress(body))
    return body, headers


_PATH_PART = st.text(max_size=40).map(lambda text: quote(text, safe=""))
query_requests = st.tuples(
    st.one_of(
        st.builds(lambda t: f"/api/traces/{t}", _PATH_PART),
        st.builds(lambda t: f"/api/traces/{t}/spans", _PATH_PART),
        st.builds(lambda t: f"/api/traces/{t}/run", _PATH_PART),
        st.just("/api/traces"),
        st.just(f"/api/traces/{SENTINEL_TRACE:032x}/run"),
    ),
    st.dictionaries(
        st.sampled_from(["limit", "cursor", "start", "end", "status", "service"]),
        st.text(max_size=30),
        max_size=4,
    ),
)
"""A query API path and its parameters."""


def grpc_code_is_a_client_answer(code: grpc.StatusCode) -> bool:
    """The gRPC codes the collector may answer a client's input with (never a server fault)."""
    return code in (
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAUTHENTICATED,
    )
