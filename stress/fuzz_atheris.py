"""Coverage-guided fuzzing (atheris / libFuzzer) of one target, for ``stress/fuzz.py``.

Run: ``python stress/fuzz_atheris.py TARGET RUNS`` with TARGET ``protobuf`` or ``json`` (the
decoders) or ``http`` or ``grpc`` (a running collector's receivers). otel-bridge's own code is
instrumented, so libFuzzer keeps inputs that reach new branches of it, starting from a valid
protobuf and a valid OTLP/JSON request. A crash (an exception other than SpanFormatError, a
5xx, a server-fault gRPC code) stops the run with libFuzzer's report. After RUNS inputs, one
JSON line: the target, the inputs, the outcomes counted, and whether a trace stored before
the receivers were fuzzed is unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import atheris
from _report import machine

with atheris.instrument_imports(include=["otel_bridge"]):
    import grpc
    import httpx
    from support.fuzz_strategies import EXPORT_METHOD, SENTINEL_TRACE, grpc_code_is_a_client_answer
    from support.phoenix_server import LOOPBACK

    from otel_bridge import SpanRecord
    from otel_bridge.collector import Collector
    from otel_bridge.errors import SpanFormatError
    from otel_bridge.otlp import (
        decode_request,
        decode_request_json,
        from_request,
        iter_json_bodies,
        records_from_json,
        request_to_json,
        to_request,
    )

NAMES = {
    "protobuf": "decoders, protobuf",
    "json": "decoders, OTLP/JSON",
    "http": "OTLP/HTTP receiver",
    "grpc": "OTLP/gRPC receiver",
}
CONTENT_TYPES = ["application/x-protobuf", "application/json", "application/protobuf"]
SEED = [
    SpanRecord(0xA7E, 1, None, "agent.run", 1_000, 9_000, status="OK", attributes={"k": "v"}),
    SpanRecord(0xA7E, 2, 1, "llm", 2_000, 3_000, attributes={"llm.token_count.total": 12}),
]


def decoders(json_body: bool) -> Callable[[bytes], str]:
    def check(data: bytes) -> str:
        try:
            if json_body:
                from_request(decode_request_json(data))
                records_from_json(list(iter_json_bodies(data.decode("utf-8", "replace"))))
            else:
                from_request(decode_request(data))
        except SpanFormatError as exc:
            str(exc).encode("utf-8")
            return "SpanFormatError"
        return "decoded"

    return check


def main() -> None:
    target, runs = sys.argv[1], int(sys.argv[2])
    outcomes: Counter[str] = Counter()
    work = Path(tempfile.mkdtemp(prefix="otel-bridge-atheris-"))
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "request.pb").write_bytes(to_request(SEED).SerializeToString())
    (corpus / "request.json").write_text(json.dumps(request_to_json(to_request(SEED))))
    collector: Collector | None = None
    client: httpx.Client | None = None
    sentinel_before = b""

    if target in ("protobuf", "json"):
        check = decoders(target == "json")
    else:
        collector = Collector(work / "fuzz.db").start()
        client = httpx.Client(timeout=60)
        base = collector.http_url
        body = to_request(
            [SpanRecord(SENTINEL_TRACE, 1, None, "sentinel", 1_000, 9_000)]
        ).SerializeToString()
        client.post(f"{base}/v1/traces", content=body, headers={"content-type": CONTENT_TYPES[0]})
        sentinel_before = client.get(f"{base}/api/traces/{SENTINEL_TRACE:032x}/spans").content
        if target == "http":

            def check(data: bytes) -> str:
                assert client is not None
                headers = {"content-type": CONTENT_TYPES[data[0] % 3] if data else ""}
                if data and data[0] & 0x80:
                    headers["content-encoding"] = "gzip"
                answer = client.post(f"{base}/v1/traces", content=data[1:], headers=headers)
                if answer.status_code >= 500:
                    raise AssertionError(f"{answer.status_code}: {answer.text[:300]}")
                return str(answer.status_code)

        else:
            channel = grpc.insecure_channel(f"{LOOPBACK}:{collector.grpc_port}")
            export = channel.unary_unary(EXPORT_METHOD)

            def check(data: bytes) -> str:
                try:
                    export(data, timeout=60)
                    return "OK"
                except grpc.RpcError as exc:
                    if not grpc_code_is_a_client_answer(exc.code()):
                        raise AssertionError(f"{exc.code()}: {exc.details()}") from exc
                    return str(exc.code().name)

    def one_input(data: bytes) -> None:
        outcomes[check(data)] += 1
        if sum(outcomes.values()) >= runs:
            finish()

    def finish() -> None:
        intact = True
        if collector is not None and client is not None:
            after = client.get(f"{collector.http_url}/api/traces/{SENTINEL_TRACE:032x}/spans")
            intact = after.status_code == 200 and after.content == sentinel_before
        summary = {
            "target": target,
            "name": NAMES[target],
            "inputs": sum(outcomes.values()),
            "outcomes": dict(outcomes),
            "sentinel_intact": intact,
            "machine": machine(),
        }
        print(json.dumps(summary), flush=True)
        os._exit(0 if intact else 1)  # libFuzzer owns the process: leave without its teardown

    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-runs={runs * 2}",
            "-max_len=4096",
            "-timeout=60",
            f"-artifact_prefix={work}/",
            "-print_final_stats=0",
        ],
        one_input,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
