"""Long fuzz run of the OTLP decoders and the collector's receivers; figures for RELIABILITY.md.

Run: ``python stress/fuzz.py`` (10,000 inputs per target, about 10 minutes on 2 cores;
``--inputs N`` to change, ``--no-atheris`` to skip the coverage-guided part, ``--write`` to
put the table into docs/RELIABILITY.md).

1. Property-based (hypothesis, the strategies of ``tests/support/fuzz_strategies.py``): OTLP/JSON
   with arbitrary values and lone surrogates, protobuf requests with random spans, mutated, cut
   or replaced by noise, gzipped or not, under any content type; query API paths and
   parameters. Targets: the decoders in-process, and a running collector's OTLP/HTTP,
   OTLP/gRPC and query API.
2. Coverage-guided (atheris, if installed; ``stress/fuzz_atheris.py``): libFuzzer mutates
   bytes toward new branches of otel-bridge's code, from a valid protobuf and a valid JSON
   request, against the same targets.

Counted per target: inputs, answers by status, server faults (HTTP 5xx, gRPC codes other than
OK / INVALID_ARGUMENT / RESOURCE_EXHAUSTED / UNAUTHENTICATED), crashes (an exception other than
SpanFormatError from a decoder, or a receiver that stops answering). A trace stored before the
run must be byte-for-byte the same after it, and derive to the same RunTrace.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
from _report import ROOT, machine, run_target, write_section
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


def crash(value: Any, exc: BaseException) -> str:
    print(f"CRASH {type(exc).__name__}: {exc!r} on {value!r:.300}", file=sys.stderr)
    return f"crash: {type(exc).__name__}"


def decode_protobuf(body: bytes) -> str:
    try:
        from_request(decode_request(body))
        return "decoded"
    except SpanFormatError:
        return "SpanFormatError"
    except Exception as exc:
        return crash(body, exc)


def decode_json(body: bytes) -> str:
    outcome = "decoded"
    try:
        for decode in (
            lambda: from_request(decode_request_json(body)),
            lambda: records_from_json(list(iter_json_bodies(body.decode("utf-8", "replace")))),
        ):
            try:
                decode()
            except SpanFormatError as exc:
                str(exc).encode("utf-8")  # the message must be printable
                outcome = "SpanFormatError"
    except Exception as exc:
        return crash(body, exc)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--no-atheris", action="store_true")
    parser.add_argument("--write", action="store_true", help="update docs/RELIABILITY.md")
    args = parser.parse_args()

    rows: list[tuple[str, int, Counter[str], float]] = []
    with tempfile.TemporaryDirectory() as tmp, Collector(Path(tmp) / "fuzz.db") as collector:
        client = httpx.Client(timeout=60)
        channel = grpc.insecure_channel(f"{LOOPBACK}:{collector.grpc_port}")
        export = channel.unary_unary(EXPORT_METHOD)
        base = collector.http_url
        sentinel = to_request(SENTINEL_SPANS).SerializeToString()
        headers = {"content-type": "application/x-protobuf"}
        assert client.post(f"{base}/v1/traces", content=sentinel, headers=headers).is_success
        run_before = client.get(f"{base}/api/traces/{SENTINEL_TRACE:032x}/run").content
        spans_before = client.get(f"{base}/api/traces/{SENTINEL_TRACE:032x}/spans").content

        def post(export_: tuple[bytes, dict[str, str]]) -> str:
            body, headers = export_
            try:
                answer = client.post(f"{base}/v1/traces", content=body, headers=headers)
            except httpx.HTTPError as exc:
                return crash(export_, exc)
            code = answer.status_code
            return f"server fault: {code}" if code >= 500 else str(code)

        def call(body: bytes) -> str:
            try:
                export(body, timeout=60)
                return "OK"
            except grpc.RpcError as exc:
                code = exc.code()
                name = code.name if code is not None else "none"
                return name if grpc_code_is_a_client_answer(code) else f"server fault: {name}"

        def query(request: tuple[str, dict[str, str]]) -> str:
            path, params = request
            try:
                answer = client.get(base + path, params=params)
            except httpx.HTTPError as exc:
                return crash(request, exc)
            code = answer.status_code
            return f"server fault: {code}" if code >= 500 else str(code)

        targets: list[tuple[str, st.SearchStrategy[Any], Callable[[Any], str]]] = [
            ("decoders, protobuf", protobuf_bodies(), decode_protobuf),
            ("decoders, OTLP/JSON", json_bodies(), decode_json),
            ("OTLP/HTTP receiver", http_exports(), post),
            ("OTLP/gRPC receiver", st.one_of(protobuf_bodies(), json_bodies()), call),
            ("query API", query_requests, query),
        ]
        for name, strategy, check in targets:
            outcomes, seconds = run_target(strategy, check, args.inputs, args.seed)
            rows.append((f"{name} (hypothesis)", sum(outcomes.values()), outcomes, seconds))
            print(f"{name}: {sum(outcomes.values())} inputs in {seconds:.0f} s: {dict(outcomes)}")

        atheris = not args.no_atheris and importlib.util.find_spec("atheris") is not None
        if not args.no_atheris and not atheris:
            print("atheris is not installed (pip install atheris): coverage-guided part skipped")
        for target in ("protobuf", "json", "http", "grpc") if atheris else ():
            rows.append(atheris_run(target, args.inputs))

        health = client.get(f"{base}/healthz").status_code
        run_after = client.get(f"{base}/api/traces/{SENTINEL_TRACE:032x}/run").content
        spans_after = client.get(f"{base}/api/traces/{SENTINEL_TRACE:032x}/spans").content
        intact = run_after == run_before and spans_after == spans_before and health == 200
        client.close()
        channel.close()

    table = render(rows, intact, args)
    print(table)
    if args.write:
        write_section("fuzz", table)
    bad = sum(n for _, _, outcomes, _ in rows for k, n in outcomes.items() if ":" in k)
    sys.exit(0 if intact and not bad else 1)


def atheris_run(target: str, runs: int) -> tuple[str, int, Counter[str], float]:
    """One coverage-guided run in its own process (libFuzzer exits when done)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "stress" / "fuzz_atheris.py"), target, str(runs)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    summary = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not summary:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        outcomes = Counter({f"crash: exit {done.returncode}": 1})
        return f"{target} (atheris)", 0, outcomes, seconds
    result = json.loads(summary[-1])
    outcomes = Counter(result["outcomes"])
    print(f"atheris {target}: {result['inputs']} inputs in {seconds:.0f} s: {dict(outcomes)}")
    return f"{result['name']} (atheris)", result["inputs"], outcomes, seconds


def render(rows: list[tuple[str, int, Counter[str], float]], intact: bool, args: Any) -> str:
    lines = [
        f"`python stress/fuzz.py --inputs {args.inputs}` ({machine()})",
        "",
        "| target | inputs | answers | server faults | crashes | time |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, inputs, outcomes, seconds in rows:
        faults = sum(n for k, n in outcomes.items() if k.startswith("server fault"))
        crashes = sum(n for k, n in outcomes.items() if k.startswith("crash"))
        answers = ", ".join(f"{k} {n:,}" for k, n in sorted(outcomes.items()) if ":" not in k)
        lines.append(
            f"| {name} | {inputs:,} | {answers} | {faults} | {crashes} | {seconds:.0f} s |"
        )
    verdict = "intact" if intact else "CHANGED"
    lines += ["", f"Trace stored before the run, after it (spans and RunTrace): {verdict}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
