"""Fuzzing, short run: the OTLP decoders and the HTTP and gRPC receivers take anything a
producer can send without a crash or a 5xx, and keep what was stored before.

The long run (10,000+ inputs per target, and coverage-guided with atheris) is
``python stress/fuzz.py``; the strategies are in ``fuzz_strategies``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzz_strategies import (
    EXPORT_METHOD,
    SENTINEL_SPANS,
    SENTINEL_TRACE,
    grpc_code_is_a_client_answer,
    http_exports,
    json_bodies,
    protobuf_bodies,
    query_requests,
)
from support.phoenix_server import LOOPBACK

from otel_bridge import SpanRecord, load_spans
from otel_bridge.collector import Collector
from otel_bridge.errors import SpanFormatError
from otel_bridge.otlp import (
    decode_request,
    decode_request_json,
    from_request,
    iter_json_bodies,
    records_from_json,
    to_request,
)

# Derandomized: the same inputs on every run of the suite (the long run explores at random).
SHORT = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def assert_encodable(exc: SpanFormatError) -> None:
    """An error message that can be printed and sent as UTF-8, on one line."""
    message = str(exc)
    message.encode("utf-8")
    assert "\n" not in message


# ---- the decoders -------------------------------------------------------------------------------


@SHORT
@given(protobuf_bodies())
def test_protobuf_decoding_raises_only_span_format_errors(body: bytes) -> None:
    try:
        records = from_request(decode_request(body))
    except SpanFormatError as exc:
        assert_encodable(exc)
        return
    assert all(isinstance(r, SpanRecord) for r in records)


@SHORT
@given(json_bodies())
def test_json_decoding_raises_only_span_format_errors(body: bytes) -> None:
    for decode in (
        lambda: from_request(decode_request_json(body)),
        lambda: records_from_json(list(iter_json_bodies(body.decode("utf-8", "replace")))),
    ):
        try:
            records = decode()
        except SpanFormatError as exc:
            assert_encodable(exc)
            continue
        for record in records:
            record.name.encode("utf-8")  # no lone surrogate gets through
            for key, value in record.attributes.items():
                key.encode("utf-8")
                if isinstance(value, str):
                    value.encode("utf-8")


@SHORT
@given(st.recursive(st.text(), lambda inner: st.dictionaries(st.text(), inner), max_leaves=8))
def test_a_callers_own_dict_raises_only_span_format_errors(body: Any) -> None:
    for copy in (True, False):
        try:
            decode_request_json({"resourceSpans": [{"scopeSpans": [body]}]}, copy=copy)
        except SpanFormatError as exc:
            assert_encodable(exc)


# ---- the receivers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One HTTP client for the module (a new one per request costs more than the request)."""
    with httpx.Client() as shared:
        yield shared


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collector, Any]]:
    """One collector for the module, holding a sentinel trace; checked intact at the end."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with Collector(db) as collector:
        body = to_request(SENTINEL_SPANS).SerializeToString()
        headers = {"content-type": "application/x-protobuf"}
        assert httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=headers)
        run = httpx.get(f"{collector.http_url}/api/traces/{SENTINEL_TRACE:032x}/run").json()
        yield collector, run
        stored = sorted(load_spans(collector.http_url, SENTINEL_TRACE), key=lambda s: s.span_id)
        assert stored == SENTINEL_SPANS
        after = httpx.get(f"{collector.http_url}/api/traces/{SENTINEL_TRACE:032x}/run").json()
        assert after == run
        channel = _channels.pop(collector.grpc_port or 0, None)
        if channel is not None:
            channel.close()


@SHORT
@given(export=http_exports())
def test_http_receiver_never_answers_5xx(
    fuzzed: tuple[Collector, Any], client: httpx.Client, export: Any
) -> None:
    collector, _ = fuzzed
    body, headers = export
    answer = client.post(f"{collector.http_url}/v1/traces", content=body, headers=headers)
    assert answer.status_code in (200, 400, 413, 415), (answer.status_code, answer.content)


_channels: dict[int, grpc.Channel] = {}


def grpc_export(collector: Collector) -> Any:
    """A raw (bytes in, bytes out) Export on one channel per collector port."""
    assert collector.grpc_port is not None
    channel = _channels.get(collector.grpc_port)
    if channel is None:
        channel = _channels[collector.grpc_port] = grpc.insecure_channel(
            f"{LOOPBACK}:{collector.grpc_port}"
        )
    return channel.unary_unary(EXPORT_METHOD)


@SHORT
@given(body=st.one_of(protobuf_bodies(), json_bodies()))
def test_grpc_receiver_never_answers_a_server_fault(
    fuzzed: tuple[Collector, Any], body: bytes
) -> None:
    collector, _ = fuzzed
    try:
        grpc_export(collector)(body, timeout=30)
    except grpc.RpcError as exc:
        assert grpc_code_is_a_client_answer(exc.code()), (exc.code(), exc.details())


@SHORT
@given(query=query_requests)
def test_query_api_never_answers_5xx(
    fuzzed: tuple[Collector, Any], client: httpx.Client, query: Any
) -> None:
    collector, _ = fuzzed
    path, params = query
    answer = client.get(collector.http_url + path, params=params)
    assert answer.status_code in (200, 307, 400, 404, 422), (path, params, answer.text)
