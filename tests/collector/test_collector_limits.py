"""Bad input and limits, per the OTLP specification: 400/415/413/429 over HTTP with a
google.rpc.Status in the request's encoding, partial success for invalid spans, the gRPC
equivalents, and a server that keeps working (and keeps what it stored) after all of it.
"""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from otel_bridge import SpanRecord
from otel_bridge.collector import Collector
from otel_bridge.otlp import request_to_json, to_request

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LIMIT = 64 * 1024


def spans(n: int = 3, trace_id: int = 0xABC, first_span: int = 1) -> list[SpanRecord]:
    """n spans of one trace: a root and its children."""
    root = SpanRecord(trace_id, first_span, None, "root", 1_000, 9_000, status="OK")
    children = [
        SpanRecord(trace_id, first_span + i, first_span, f"child-{i}", 1_000 + i, 2_000 + i)
        for i in range(1, n)
    ]
    return [root, *children]


def request_bytes(records: list[SpanRecord]) -> bytes:
    return to_request(records).SerializeToString()


def status_of(response: httpx.Response) -> status_pb2.Status:
    """The google.rpc.Status body, decoded per the response's content type."""
    status = status_pb2.Status()
    if response.headers["content-type"] == "application/json":
        json_format.Parse(response.text, status)
    else:
        assert response.headers["content-type"] == "application/x-protobuf"
        status.ParseFromString(response.content)
    return status


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Collector]:
    """A collector with a 64 KiB body limit and a one-batch write queue."""
    with Collector(tmp_path / "small.db", max_body_bytes=LIMIT, max_pending_bytes=1) as running:
        yield running


def post(
    collector: Collector,
    content: bytes,
    headers: dict[str, str],
    client: httpx.Client | None = None,
) -> httpx.Response:
    url = f"{collector.http_url}/v1/traces"
    if client is not None:
        return client.post(url, content=content, headers=headers)
    return httpx.post(url, content=content, headers=headers)


# ---- 400: data that cannot be decoded -----------------------------------------------------------


def test_malformed_protobuf_is_400_with_a_protobuf_status(small: Collector) -> None:
    response = post(small, b"\x0a\xff\xff\xff", PROTOBUF)
    assert response.status_code == 400
    status = status_of(response)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert "malformed OTLP protobuf" in status.message
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].description == status.message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be an object"),
        (b'{"resourceSpans": {"a": 1}}', "'resourceSpans' must be a list"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "not hex"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"endTimeUnixNano": "soon"}]}]}]}',
            "soon",
        ),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]}', "must be an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"links": [1]}]}]}]}', "an object"),
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
    ],
)
def test_malformed_json_is_400_with_a_json_status(small: Collector, body: bytes, says: str) -> None:
    response = post(small, body, JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    status = status_of(response)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert says in status.message, status.message


@pytest.mark.parametrize("body", [b"\x1f\x8b\x08\x00garbage", gzip.compress(b"x" * 1000)[:-20]])
def test_broken_gzip_is_400(small: Collector, body: bytes) -> None:
    response = post(small, body, {**PROTOBUF, "content-encoding": "gzip"})
    assert response.status_code == 400
    assert "malformed gzip body" in status_of(response).message


# ---- 415 and 413 --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_unsupported_content_type_is_415(small: Collector, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = post(small, request_bytes(spans()), headers)
    assert response.status_code == 415
    assert "unsupported Content-Type" in status_of(response).message


def test_unsupported_content_encoding_is_415(small: Collector) -> None:
    response = post(small, request_bytes(spans()), {**PROTOBUF, "content-encoding": "br"})
    assert response.status_code == 415
    assert "unsupported Content-Encoding 'br'" in status_of(response).message


def test_body_over_the_limit_is_413(small: Collector) -> None:
    body = b"\x00" * (LIMIT + 1)
    declared = post(small, body, PROTOBUF)  # Content-Length says it all
    assert declared.status_code == 413
    assert status_of(declared).message == f"the body is {LIMIT + 1} bytes; the limit is {LIMIT}"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(4):
            yield b"\x00" * (LIMIT // 2)

    streamed = httpx.post(f"{small.http_url}/v1/traces", content=chunks(), headers=PROTOBUF)
    assert streamed.status_code == 413
    assert status_of(streamed).message == f"the body is more than {LIMIT} bytes"


def test_gzip_bomb_is_413_without_inflating_it(small: Collector) -> None:
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))  # 50 MiB of zeros in ~50 KiB
    assert len(bomb) < LIMIT
    response = post(small, bomb, {**JSON, "content-encoding": "gzip"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert status_of(response).message == f"the body decompresses to more than {LIMIT} bytes"


# ---- partial success ----------------------------------------------------------------------------


def invalid_request() -> ExportTraceServiceRequest:
    """3 valid spans and 4 invalid ones (short trace id, zero span id, bad parent, far future)."""
    request = to_request(spans(3))
    scope = request.resource_spans[0].scope_spans[0]
    for mutate in (
        lambda s: setattr(s, "trace_id", b"\x01" * 8),
        lambda s: setattr(s, "span_id", bytes(8)),
        lambda s: setattr(s, "parent_span_id", b"\x01\x02\x03"),
        lambda s: setattr(s, "end_time_unix_nano", 2**63),
    ):
        span = scope.spans.add()
        span.CopyFrom(scope.spans[1])
        span.span_id = random.randbytes(8)
        mutate(span)
    return request


def test_invalid_spans_are_rejected_one_by_one_and_the_rest_is_stored(small: Collector) -> None:
    response = post(small, invalid_request().SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 4
    message = answer.partial_success.error_message
    assert message.startswith("rejected 4 span(s): 1 with an invalid trace id")
    for reason in ("invalid span id", "invalid parent span id", "after the year 2262"):
        assert reason in message
    assert small.store is not None and small.store.span_count() == 3


def test_partial_success_in_json(small: Collector) -> None:
    body = json.dumps(request_to_json(invalid_request()))
    response = post(small, body.encode(), JSON)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "4"  # int64: a JSON string


def test_empty_requests_succeed(small: Collector) -> None:
    assert post(small, b"", PROTOBUF).content == b""  # an empty protobuf is a valid request
    warned = post(small, b'{"resource_spans": []}', JSON)  # snake_case: an unknown field
    assert warned.status_code == 200
    assert warned.json()["partialSuccess"]["errorMessage"].startswith("no 'resourceSpans'")
    assert "rejectedSpans" not in warned.json()["partialSuccess"]


def test_a_resent_span_is_stored_once(small: Collector) -> None:
    body = request_bytes(spans(3))
    for _ in range(3):
        assert post(small, body, PROTOBUF).status_code == 200
    more = request_bytes(spans(5))  # 3 known spans and 2 new ones
    assert post(small, more, PROTOBUF).status_code == 200
    assert small.store is not None and small.store.span_count() == 5
    summary = httpx.get(f"{small.http_url}/api/traces/{0xABC:032x}").json()
    assert summary["span_count"] == 5 and summary["root_name"] == "root"


# ---- 429 / RESOURCE_EXHAUSTED: the writer is behind ---------------------------------------------


def test_full_write_queue_is_429_then_everything_acked_is_stored(small: Collector) -> None:
    assert small.store is not None
    blocker = sqlite3.connect(small.store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the writer now waits for the database
    first: list[httpx.Response] = []
    waiting = threading.Thread(
        target=lambda: first.append(post(small, request_bytes(spans(3)), PROTOBUF))
    )
    try:
        waiting.start()
        _wait_until(lambda: small.store is not None and small.store.writer.pending_bytes > 0)
        second = post(small, request_bytes(spans(2, trace_id=0xDEF)), JSON | PROTOBUF)
        assert second.status_code == 429
        assert second.headers["retry-after"] == "1"
        status = status_of(second)
        assert status.code == code_pb2.RESOURCE_EXHAUSTED
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry) and retry.retry_delay.seconds == 1

        channel = grpc.insecure_channel(f"127.0.0.1:{small.grpc_port}")
        with pytest.raises(grpc.RpcError) as raised:
            TraceServiceStub(channel).Export(to_request(spans(2, trace_id=0xDEF)), timeout=10)
        channel.close()
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailers = dict(raised.value.trailing_metadata())
        assert error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
        assert not first  # the first request is not acknowledged before its commit
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        waiting.join(30)
    assert first[0].status_code == 200
    assert small.store.span_count() == 3


def _wait_until(condition: object, timeout_s: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


# ---- gRPC ---------------------------------------------------------------------------------------


def test_grpc_bad_input_and_partial_success(small: Collector) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{small.grpc_port}")
    try:
        raw = channel.unary_unary(EXPORT)  # bytes in, bytes out: no client-side checks
        with pytest.raises(grpc.RpcError) as malformed:
            raw(b"\x0a\xff\xff\xff", timeout=10)
        assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed OTLP protobuf" in malformed.value.details()

        with pytest.raises(grpc.RpcError) as too_big:
            raw(b"\x00" * (LIMIT + 1), timeout=10)
        assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        answer = TraceServiceStub(channel).Export(invalid_request(), timeout=10)
        assert answer.partial_success.rejected_spans == 4
    finally:
        channel.close()
    assert small.store is not None and small.store.span_count() == 3


# ---- it never crashes ---------------------------------------------------------------------------


def test_random_bodies_never_break_the_server(small: Collector) -> None:
    rng = random.Random(5)
    good = request_bytes(spans(3))
    client = httpx.Client()
    assert post(small, good, PROTOBUF).status_code == 200
    for i in range(60):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if i % 3 == 0:  # a valid request with some bytes flipped
            flipped = bytearray(good)
            for _ in range(3):
                flipped[rng.randrange(len(flipped))] = rng.getrandbits(8)
            body = bytes(flipped)
        headers = rng.choice([PROTOBUF, JSON, {**PROTOBUF, "content-encoding": "gzip"}])
        response = post(small, body, headers, client)
        assert response.status_code in (200, 400, 413), (response.status_code, response.text)
    client.close()
    assert httpx.get(f"{small.http_url}/healthz").json() == {"status": "ok"}
    assert small.store is not None and small.store.span_count() >= 3
    assert httpx.get(f"{small.http_url}/api/traces/{0xABC:032x}").status_code == 200


def test_grpc_gzip_and_a_gzip_bomb(small: Collector) -> None:
    channel = grpc.insecure_channel(
        f"127.0.0.1:{small.grpc_port}", compression=grpc.Compression.Gzip
    )
    try:
        stub = TraceServiceStub(channel)
        stub.Export(to_request(spans(3)), timeout=10)
        bomb = to_request([SpanRecord(0xB0B, 1, None, "x" * (8 * 1024 * 1024), 1, 2)])
        with pytest.raises(grpc.RpcError) as raised:  # ~8 KiB on the wire, 8 MiB inflated
            stub.Export(bomb, timeout=10)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        channel.close()
    assert small.store is not None and small.store.span_count() == 3


def test_a_request_that_gives_up_does_not_stop_the_writer(small: Collector) -> None:
    """A cancelled wait (a request cut off at shutdown) must leave the writer working."""
    from otel_bridge.collector._ingest import batch_from_request

    assert small.store is not None
    future = small.store.submit(batch_from_request(to_request(spans(3, trace_id=0x51))))
    assert future.cancel() is False  # the writer owns it until it is committed
    assert future.result(timeout=30) == 3
    assert post(small, to_request(spans(3, trace_id=0x52)).SerializeToString(), PROTOBUF).is_success
    assert small.store.span_count() == 6
