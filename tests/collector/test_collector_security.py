"""Loopback by default, and the bearer token on OTLP/HTTP, OTLP/gRPC and the query API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from click.testing import CliRunner
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from otel_bridge import ConfigError, SourceError, SpanRecord, load_spans
from otel_bridge.cli import main
from otel_bridge.collector import Collector, CollectorConfig, is_loopback
from otel_bridge.collector._auth import bearer_matches
from otel_bridge.otlp import to_request

TOKEN = "s3cret-token"
PROTOBUF = {"content-type": "application/x-protobuf"}
TRACE = 0x1234


def body() -> bytes:
    return to_request([SpanRecord(TRACE, 1, None, "root", 1, 2)]).SerializeToString()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Collector]:
    with Collector(tmp_path / "guarded.db", token=TOKEN) as running:
        yield running


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_network_address_needs_allow_remote(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"refusing to listen on '0\.0\.0\.0'"):
        Collector(host="0.0.0.0")
    with caplog.at_level(logging.WARNING):
        CollectorConfig(host="0.0.0.0", allow_remote=True)  # checked, never bound in tests
    assert "reachable from the network WITHOUT a token" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        CollectorConfig(host="0.0.0.0", allow_remote=True, token=TOKEN)
    assert "reachable from the network" in caplog.text and "WITHOUT" not in caplog.text


def test_cli_refuses_a_network_address_in_one_line() -> None:
    result = CliRunner().invoke(main, ["collector", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.output.startswith("otel-bridge: error: refusing to listen on '0.0.0.0'")


def test_bearer_matches() -> None:
    assert bearer_matches(None, None)
    assert bearer_matches("Bearer s3cret-token", TOKEN)
    assert bearer_matches(b"bearer s3cret-token", TOKEN)
    for wrong in (None, "", "Bearer", "Bearer s3cret", "Basic s3cret-token", "s3cret-token"):
        assert not bearer_matches(wrong, TOKEN)


def test_http_ingest_needs_the_token(guarded: Collector) -> None:
    url = f"{guarded.http_url}/v1/traces"
    missing = httpx.post(url, content=body(), headers=PROTOBUF)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    status = status_pb2.Status.FromString(missing.content)
    assert status.code == code_pb2.UNAUTHENTICATED
    wrong = httpx.post(
        url,
        content=b"{}",
        headers={"content-type": "application/json", "authorization": "Bearer x"},
    )
    assert wrong.status_code == 401
    assert json_format.Parse(wrong.text, status_pb2.Status()).code == code_pb2.UNAUTHENTICATED
    assert guarded.store is not None and guarded.store.span_count() == 0
    ok = httpx.post(url, content=body(), headers={**PROTOBUF, "authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert guarded.store.span_count() == 1


def test_grpc_ingest_needs_the_token(guarded: Collector) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{guarded.grpc_port}")
    stub = TraceServiceStub(channel)
    try:
        for metadata in ((), (("authorization", "Bearer nope"),)):
            with pytest.raises(grpc.RpcError) as denied:
                stub.Export(to_request([]), metadata=metadata, timeout=10)
            assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        stub.Export(
            to_request([SpanRecord(TRACE, 1, None, "root", 1, 2)]),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=10,
        )
    finally:
        channel.close()
    assert guarded.store is not None and guarded.store.span_count() == 1


def test_queries_need_the_token_and_health_does_not(guarded: Collector) -> None:
    base = guarded.http_url
    httpx.post(
        f"{base}/v1/traces",
        content=body(),
        headers={**PROTOBUF, "authorization": f"Bearer {TOKEN}"},
    )
    for path in ("/api/traces", f"/api/traces/{TRACE:032x}", f"/api/traces/{TRACE:032x}/spans"):
        denied = httpx.get(base + path)
        assert denied.status_code == 401 and "bearer token" in denied.json()["error"]
        allowed = httpx.get(base + path, headers={"authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200
    assert httpx.get(f"{base}/healthz").status_code == 200
    with pytest.raises(SourceError, match="401 Unauthorized: the server wants a"):
        load_spans(base, TRACE)
    with pytest.raises(SourceError, match="401"):
        load_spans(base, TRACE, token="wrong")
    assert [s.name for s in load_spans(base, TRACE, token=TOKEN)] == ["root"]
