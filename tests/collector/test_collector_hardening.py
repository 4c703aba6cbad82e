"""What a client cannot do to the collector: text that is not Unicode, slow or stalled uploads,
too many uploads at once, traces too big to derive, a token no client could send; and the
other side of the contract: the store's own failures are 503 / UNAVAILABLE, never a 500.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
import httpx
import pytest
from click.testing import CliRunner
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from support.collector_fixtures import LOOPBACK, serve_collector

from otel_bridge import ConfigError, SpanRecord, load_spans
from otel_bridge.cli import main
from otel_bridge.collector import Collector, CollectorConfig, SpanStore
from otel_bridge.otlp import to_request

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
TRACE = 0x7E57
TRACE_HEX = f"{TRACE:032x}"


def chain(depth: int, trace_id: int = TRACE) -> list[SpanRecord]:
    """A root and a chain of children, each the parent of the next."""
    return [
        SpanRecord(trace_id, i, i - 1 or None, f"level-{i}", 1_000 + i, 100_000 - i)
        for i in range(1, depth + 1)
    ]


def json_body(span: Mapping[str, object]) -> bytes:
    """One OTLP/JSON request holding the span, with ASCII escapes (``\\ud800`` stays one)."""
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def json_status(response: httpx.Response) -> status_pb2.Status:
    return json_format.Parse(response.text, status_pb2.Status())


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with Collector(tmp_path / "hardening.db") as running:
        yield running


# ---- text that is not Unicode -------------------------------------------------------------------

SPAN = {"traceId": TRACE_HEX, "spanId": "00000000000000a1", "name": "ok"}


def test_lone_surrogates_are_stored_as_replacement_characters(collector: Collector) -> None:
    span = {
        **SPAN,
        "name": "cut \ud83d",  # the first half of an emoji
        "kind": "SPAN_KIND_\udc00",  # an enum name: upb raised SystemError on it (a 500)
        "attributes": [{"key": "k\udfff", "value": {"stringValue": "v\ud800"}}],
        "unknown\ud800": 1,  # an unknown field, ignored; its name is looked up all the same
    }
    body = json_body(span)
    assert b"\\ud83d" in body
    response = httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    said = response.json()["partialSuccess"]["errorMessage"]
    assert said == "5 lone UTF-16 surrogate(s) in strings were stored as U+FFFD"
    [stored] = load_spans(collector.http_url, TRACE)
    assert stored.name == "cut \ufffd"
    assert dict(stored.attributes) == {"k\ufffd": "v\ufffd"}
    assert stored.kind == "UNSPECIFIED"  # an unknown enum name reads as 0


def test_a_run_whose_messages_hold_a_lone_surrogate_is_served(collector: Collector) -> None:
    messages = '[{"role": "user", "parts": [{"type": "text", "content": "cut \\ud83d"}]}]'
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages}
    body = to_request([SpanRecord(TRACE, 1, None, "chat", 1, 2, attributes=attributes)])
    url = collector.http_url
    assert httpx.post(f"{url}/v1/traces", content=body.SerializeToString(), headers=PROTOBUF)
    run = httpx.get(f"{url}/api/traces/{TRACE_HEX}/run")
    assert run.status_code == 200
    assert b'"cut \\ud83d"' in run.content  # an escape in ASCII JSON: the answer is UTF-8
    assert run.json()["input"] == "cut \ud83d"


def test_invalid_utf8_is_a_400_and_its_message_can_be_encoded(collector: Collector) -> None:
    url = f"{collector.http_url}/v1/traces"
    raw = json_body(SPAN).replace(b'"ok"', b'"\xed\xa0\x80\xff"')  # an encoded surrogate, 0xff
    bad_bytes = httpx.post(url, content=raw, headers=JSON)
    assert bad_bytes.status_code == 400
    assert "not UTF-8 text" in json_status(bad_bytes).message

    quoted = httpx.post(url, content=json_body({**SPAN, "traceId": "zz\ud800"}), headers=JSON)
    assert quoted.status_code == 400
    assert json_status(quoted).message == "traceId is not hex: 'zz\ufffd'"

    request = to_request([SpanRecord(TRACE, 1, None, "ab", 1, 2)]).SerializeToString()
    bad_proto = request.replace(b"ab", b"\xed\xa0")  # protobuf strings must be UTF-8 too
    over_http = httpx.post(url, content=bad_proto, headers=PROTOBUF)
    assert over_http.status_code == 400
    assert "bad UTF-8" in status_pb2.Status.FromString(over_http.content).message
    channel = grpc.insecure_channel(f"{LOOPBACK}:{collector.grpc_port}")
    try:
        raw_export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        )
        with pytest.raises(grpc.RpcError) as refused:
            raw_export(bad_proto, timeout=10)
    finally:
        channel.close()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "bad UTF-8" in refused.value.details()
    assert collector.store is not None and collector.store.span_count() == 0


def test_derive_reads_a_file_with_lone_surrogates_and_refuses_bad_ids_in_one_line(
    tmp_path: Path,
) -> None:
    good = tmp_path / "cut.otlp.json"
    good.write_bytes(json_body({**SPAN, "name": "agent \ud83d", "spanId": "0000000000000001"}))
    derived = subprocess.run(
        [sys.executable, "-m", "otel_bridge.cli", "derive", str(good), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert derived.returncode == 0, derived.stderr
    assert json.loads(derived.stdout.splitlines()[0])["trace_id"] == TRACE_HEX  # JSON Lines

    bad = tmp_path / "bad.otlp.json"
    bad.write_bytes(json_body({**SPAN, "spanId": "\udc00" * 3}))
    refused = subprocess.run(
        [sys.executable, "-m", "otel_bridge.cli", "derive", str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("otel-bridge: error: ")
    assert "spanId is not hex: '\ufffd\ufffd\ufffd'" in line


# ---- the token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("pässword", "character U+00E4 at position 2"),
        ("two words", "a space at position 4"),
        ("line\n", "character U+000A at position 5"),
    ],
)
def test_a_token_no_client_can_send_is_refused(token: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as refused:
        CollectorConfig(token=token)
    assert token.strip() not in str(refused.value)  # the secret is not repeated


def test_cli_refuses_a_non_ascii_token_from_the_environment_in_one_line() -> None:
    result = CliRunner().invoke(
        main,
        ["collector", "serve", "--http-port", "0", "--grpc-port", "0"],
        env={"OTEL_BRIDGE_COLLECTOR_TOKEN": "tökén"},
    )
    assert result.exit_code == 2
    assert result.output == (
        "otel-bridge: error: the token holds character U+00F6 at position 2: an Authorization "
        "header carries printable ASCII only, so no client could ever send it\n"
    )


# ---- slow and stalled clients -------------------------------------------------------------------


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Collector]:
    """Half a second for headers and for a pause in a body, 1.5 s for a whole body."""
    with Collector(
        tmp_path / "impatient.db", header_timeout_s=0.5, read_timeout_s=0.5, body_timeout_s=1.5
    ) as running:
        yield running


def connect(collector: Collector) -> socket.socket:
    assert collector.http_port is not None
    sock = socket.create_connection((LOOPBACK, collector.http_port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def upload_head(collector: Collector, length: int | None = None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /v1/traces HTTP/1.1\r\nHost: {LOOPBACK}:{collector.http_port}\r\n"
        f"Content-Type: application/x-protobuf\r\n{framing}\r\n\r\n"
    ).encode()


def test_a_silent_connection_and_slow_headers_are_closed(impatient: Collector) -> None:
    with connect(impatient) as silent, connect(impatient) as slow:
        slow.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        assert read_until_closed(silent) == b""
        assert read_until_closed(slow) == b""
    assert httpx.get(f"{impatient.http_url}/healthz").status_code == 200


def test_a_stalled_body_gets_408_and_the_connection_is_closed(impatient: Collector) -> None:
    with connect(impatient) as sock:
        sock.sendall(upload_head(impatient, length=1000) + b"\x0a\x05")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()
    status = status_pb2.Status.FromString(answer.split(b"\r\n\r\n", 1)[1])
    assert status.code == code_pb2.DEADLINE_EXCEEDED
    assert status.message == "the body stalled for more than 0.5 s"


def test_a_huge_chunk_trickled_in_gets_408_when_the_body_deadline_passes(
    impatient: Collector,
) -> None:
    with connect(impatient) as sock:
        sock.sendall(upload_head(impatient) + b"fffffffff\r\n")  # 64 GiB announced
        answer = b""
        for _ in range(40):  # a byte every 0.1 s: never a pause long enough to be a stall
            try:
                sock.sendall(b"\x00")
            except OSError:
                break
            time.sleep(0.1)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    message = status_pb2.Status.FromString(answer.split(b"\r\n\r\n", 1)[1]).message
    assert message == "the body took longer than 1.5 s"


# ---- too many uploads at once from one client ---------------------------------------------------


def test_uploads_over_the_per_client_cap_get_429_on_http_and_grpc(tmp_path: Path) -> None:
    with Collector(tmp_path / "cap.db", max_uploads_per_client=2, read_timeout_s=30) as collector:
        body = to_request(chain(3)).SerializeToString()
        stalled = [connect(collector), connect(collector)]
        for sock in stalled:  # two uploads in progress: headers sent, the body not yet
            sock.sendall(upload_head(collector, length=len(body)) + body[:5])
        try:
            deadline = time.monotonic() + 10
            while collector.uploads.in_progress(LOOPBACK) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            third = httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF)
            assert third.status_code == 429
            assert third.headers["retry-after"] == "1"
            status = status_pb2.Status.FromString(third.content)
            assert status.code == code_pb2.RESOURCE_EXHAUSTED
            assert status.message == "2 uploads from 127.0.0.1 are in progress already; retry later"

            channel = grpc.insecure_channel(f"{LOOPBACK}:{collector.grpc_port}")
            with pytest.raises(grpc.RpcError) as refused:
                TraceServiceStub(channel).Export(to_request(chain(3)), timeout=10)
            channel.close()
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            trailers = dict(refused.value.trailing_metadata())
            retry = error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
            assert retry.retry_delay.seconds == 1
        finally:
            for sock in stalled:
                sock.sendall(body[5:])
                assert b" 200 OK" in sock.recv(65536)
                sock.close()
        assert collector.uploads.in_progress(LOOPBACK) == 0
        assert collector.store is not None and collector.store.span_count() == 3


# ---- traces too big to derive -------------------------------------------------------------------


def test_run_of_a_trace_beyond_the_limits_is_422_and_its_spans_stay_readable(
    tmp_path: Path,
) -> None:
    with Collector(tmp_path / "big.db", max_run_spans=50, max_run_depth=20) as collector:
        url = f"{collector.http_url}"
        flat = [SpanRecord(0xF1A7, 1, None, "root", 1, 9)] + [
            SpanRecord(0xF1A7, i, 1, "child", 2, 3) for i in range(2, 62)
        ]
        for spans in (chain(20, 0xD1), chain(21, 0xD2), flat):
            body = to_request(spans).SerializeToString()
            assert httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).is_success

        assert httpx.get(f"{url}/api/traces/{0xD1:032x}/run").status_code == 200
        deep = httpx.get(f"{url}/api/traces/{0xD2:032x}/run")
        assert deep.status_code == 422
        assert deep.json()["error"].startswith(
            f"trace {0xD2:032x} nests spans more than 20 levels deep"
        )
        wide = httpx.get(f"{url}/api/traces/{0xF1A7:032x}/run")
        assert wide.status_code == 422
        assert wide.json()["error"].startswith(
            f"trace {0xF1A7:032x} has 61 spans; the collector derives runs of at most 50"
        )
        assert len(load_spans(url, 0xD2)) == 21 and len(load_spans(url, 0xF1A7)) == 61
        preparer = collector.preparer  # the background derivation refuses them too
        assert preparer is not None
        deadline = time.monotonic() + 10
        while preparer.too_large < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (preparer.too_large, preparer.failed) == (2, 0)


def test_depth_of_counts_the_deepest_chain_and_survives_cycles() -> None:
    from otel_bridge.collector._runs import depth_of

    def span(span_id: int, parent: int | None) -> SpanRecord:
        return SpanRecord(0xDE, span_id, parent, "s", 1, 2)

    assert depth_of([]) == 0
    assert depth_of(chain(7, 0xDE)) == 7
    # Two roots, one of them an orphan (its parent is not in the trace), and a branch.
    forest = [span(1, None), span(2, 1), span(3, 2), span(4, 99), span(5, 4), span(6, 1)]
    assert depth_of(forest) == 3
    assert depth_of(list(reversed(forest))) == 3
    # A cycle (bad input) ends the walk where it closes: counted once around.
    assert depth_of([span(1, 3), span(2, 1), span(3, 2), span(4, 3)]) == 3
    assert depth_of(chain(50, 0xDE), stop_after=10) == 11  # stops once deeper than asked


def test_a_10000_level_chain_is_refused_by_default(collector: Collector) -> None:
    body = to_request(chain(10_000)).SerializeToString()
    assert len(body) < 1_000_000
    assert httpx.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF).is_success
    run = httpx.get(f"{collector.http_url}/api/traces/{TRACE_HEX}/run", timeout=30)
    assert run.status_code == 422
    assert "more than 1000 levels deep" in run.json()["error"]


# ---- the server's own faults: 503 / UNAVAILABLE -------------------------------------------------


def test_a_store_closed_under_the_receivers_is_503_and_unavailable(collector: Collector) -> None:
    body = to_request(chain(3)).SerializeToString()
    url = collector.http_url
    assert httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    assert collector.store is not None
    collector.store.close()

    ingest = httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF)
    assert ingest.status_code == 503
    assert status_pb2.Status.FromString(ingest.content).code == code_pb2.UNAVAILABLE
    for path in ("/api/traces", f"/api/traces/{TRACE_HEX}", f"/api/traces/{TRACE_HEX}/run"):
        query = httpx.get(url + path)
        assert (query.status_code, query.json()) == (503, {"error": "the store is closed"})
    channel = grpc.insecure_channel(f"{LOOPBACK}:{collector.grpc_port}")
    try:
        with pytest.raises(grpc.RpcError) as unavailable:
            TraceServiceStub(channel).Export(to_request(chain(3)), timeout=10)
    finally:
        channel.close()
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
    assert unavailable.value.details() == "the store is closed"


def _one_megabyte_files() -> None:
    """In the collector's process: files may not grow past 1 MB (a full disk, for SQLite)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_full_disk_is_503_and_unavailable_and_acked_spans_stay(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    process, url, grpc_port = serve_collector(db, preexec_fn=_one_megabyte_files)
    acked: set[int] = set()
    refused = {"http": 0, "grpc": 0}
    channel = grpc.insecure_channel(f"{LOOPBACK}:{grpc_port}")
    try:
        with httpx.Client() as client:
            stub = TraceServiceStub(channel)
            for trace_id in range(1, 400):  # 40 KB per request: the disk fills up
                request = to_request(
                    [SpanRecord(trace_id, i, i - 1 or None, "x" * 2000, 1, 2) for i in range(1, 21)]
                )
                if trace_id % 2:
                    answer = client.post(
                        f"{url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF
                    )
                    if answer.status_code == 200:
                        acked.add(trace_id)
                        continue
                    assert answer.status_code == 503, answer.content
                    assert answer.headers["retry-after"] == "1"
                    status = status_pb2.Status.FromString(answer.content)
                    assert status.code == code_pb2.UNAVAILABLE
                    assert status.message == "the spans could not be stored; retry later"
                    refused["http"] += 1
                else:
                    try:
                        stub.Export(request, timeout=30)
                        acked.add(trace_id)
                        continue
                    except grpc.RpcError as exc:
                        assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                        assert exc.details() == "the spans could not be stored; retry later"
                        refused["grpc"] += 1
                if refused["http"] and refused["grpc"]:
                    break
            assert refused["http"] and refused["grpc"] and len(acked) >= 5
            listed = client.get(f"{url}/api/traces", params={"limit": 1000})
            assert listed.status_code == 200  # reading still works
            assert {int(t["trace_id"], 16) for t in listed.json()["traces"]} == acked
    finally:
        channel.close()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
    with SpanStore(db) as store:  # every acknowledged span, after a crash on a full disk
        assert store.span_count() == 20 * len(acked)
        assert {int(t.trace_id, 16) for t in store.list_traces(limit=1000).traces} == acked
