"""Ingest throughput of the embedded collector, and the cost of reading a run back.

Run: ``python benchmarks/bench_ingest.py`` (about a minute; ``--quick`` for a smoke run,
``--no-phoenix`` to skip Phoenix, ``--write`` to write the table into benchmarks/README.md).

- Ingest: OTLP/HTTP protobuf and OTLP/gRPC, requests of 512 OpenInference-shaped spans (~2 KB
  of attributes each, traces of 32 spans), sent by 1 and by 2 client processes. Bodies are
  encoded before the clock starts, so the figure is the collector's: spans/s from the first
  request to the last acknowledgement, and an acknowledgement means the spans are committed to
  SQLite (WAL), with synchronous=FULL (the default: fsync per transaction) and NORMAL. The
  count in the database is checked against what was sent.
- Read back: one 1,000-span agent trace, fetched and derived through the query API
  (``GET /api/traces/{id}/run``) and through ``load_spans`` + ``derive`` (median of 25 after a
  warm-up), with the server-side steps timed in-process.
- Phoenix (if an interpreter with arize-phoenix is found, see tests/support/phoenix_server.py): the
  same HTTP load; Phoenix acknowledges before it stores, so the time until every span is readable
  over its REST API is reported as well.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from results import write_section  # noqa: E402

from otel_bridge import SpanRecord, derive, load_spans  # noqa: E402
from otel_bridge.collector import Collector  # noqa: E402
from otel_bridge.otlp import from_request, to_request  # noqa: E402

BATCH = 512
TRACE_SPANS = 32
PROJECT = "bench-ingest"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = {"content-type": "application/x-protobuf"}
RESOURCE = MappingProxyType(
    {
        "service.name": "bench-agent",
        "openinference.project.name": PROJECT,
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": "1.45.2",
    }
)
SCOPE = "openinference.instrumentation.llama_index"
WORDS = ("span", "trace", "token", "agent", "tool", "handoff", "model", "prompt", "answer")
CORPUS = " ".join(random.Random(0).choice(WORDS) for _ in range(50_000))


STEPS = {
    "api_run_ready": "**GET /api/traces/{id}/run**, first time, run ended >= 0.5 s before "
    "(derived ahead by the collector; target <= 20)",
    "api_run": "**GET /api/traces/{id}/run**, first time, derived on demand (`prepare_runs` "
    "off; target <= 20)",
    "api_run_warm": "GET /api/traces/{id}/run again (kept until the trace grows)",
    "load_spans": "**load_spans(url) + derive** (protobuf over HTTP, derive in the client; "
    "target <= 20)",
    "store_read": "of which: SQLite read + OTLP request assembly",
    "from_request": "of which: OTLP -> SpanRecord (`otlp.from_request`)",
    "derive": "of which: `derive`",
    "to_json": "of which: RunTrace JSON",
}


# ---- synthetic OpenInference spans ------------------------------------------------------------


def _text(rnd: random.Random, n_chars: int) -> str:
    start = rnd.randrange(len(CORPUS) - n_chars)
    return CORPUS[start : start + n_chars]


def agent_trace(trace_id: int, n_spans: int, t0: int, rnd: random.Random) -> list[SpanRecord]:
    """A two-agent run: a root, then turns of step (prepare, LLM call), parse, call_tool (tool)."""
    ms = 1_000_000
    agents = ("researcher", "writer")
    spans: list[SpanRecord] = []
    root_id = rnd.getrandbits(64) | 1  # random ids: Phoenix keys spans by span id alone
    history: list[tuple[str, str]] = [("system", _text(rnd, 500)), ("user", _text(rnd, 400))]
    t = t0 + ms

    def add(name: str, parent: int, start: int, end: int, **attributes: Any) -> int:
        span_id = rnd.getrandbits(64) | 1
        spans.append(
            SpanRecord(
                trace_id, span_id, parent, name, start, end, status="OK",
                attributes=attributes, resource=RESOURCE, scope=SCOPE,
            )
        )  # fmt: skip
        return span_id

    turn = 0
    while len(spans) < n_spans - 1:
        agent = agents[(turn // 8) % 2]
        call_id = f"call_{trace_id:x}_{turn}"
        step = add(
            "AgentWorkflow.run_agent_step", root_id, t, t + 300 * ms,
            **{"openinference.span.kind": "CHAIN",
               "input.value": f"AgentInput(input=[...{_text(rnd, 1400)}], "
                              f"current_agent_name='{agent}')",
               "output.value": _text(rnd, 400)},
        )  # fmt: skip
        add("OpenAI._prepare_chat_with_tools", step, t + ms, t + 2 * ms,
            **{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
               "input.value": _text(rnd, 1800)})  # fmt: skip
        llm: dict[str, Any] = {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 400 + 20 * turn,
            "llm.token_count.completion": 25,
            "llm.token_count.total": 425 + 20 * turn,
        }
        for i, (role, content) in enumerate(history[-6:]):
            llm[f"llm.input_messages.{i}.message.role"] = role
            llm[f"llm.input_messages.{i}.message.content"] = content
        llm["llm.output_messages.0.message.role"] = "assistant"
        llm["llm.output_messages.0.message.tool_calls.0.tool_call.id"] = call_id
        llm["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] = "search"
        llm["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"] = (
            f'{{"query": "{_text(rnd, 60)}"}}'
        )
        add("OpenAI.astream_chat", step, t + 3 * ms, t + 250 * ms, **llm)
        add("AgentWorkflow.parse_agent_output", root_id, t + 251 * ms, t + 252 * ms,
            **{"openinference.span.kind": "CHAIN", "input.value": _text(rnd, 2200)})  # fmt: skip
        call = add(
            "AgentWorkflow.call_tool", root_id, t + 253 * ms, t + 290 * ms,
            **{"openinference.span.kind": "CHAIN",
               "input.value": f"ToolCall(tool_name='search', tool_kwargs={{}}, "
                              f"tool_id='{call_id}') {_text(rnd, 1800)}"},
        )  # fmt: skip
        result = _text(rnd, 500)
        add("FunctionTool.acall", call, t + 254 * ms, t + 289 * ms,
            **{"openinference.span.kind": "TOOL", "tool.name": "search",
               "input.value": '{"kwargs": {"query": "q"}}', "output.value": result,
               "tool.description": _text(rnd, 700)})  # fmt: skip
        history += [("assistant", ""), ("tool", result)]
        t += 300 * ms
        turn += 1
    spans = spans[: n_spans - 1]
    end = max(s.end_ns for s in spans) if spans else t
    spans.insert(
        0,
        SpanRecord(
            trace_id, root_id, None, "AgentWorkflow.run", t0, end + ms, status="OK",
            attributes={"openinference.span.kind": "CHAIN", "input.value": _text(rnd, 2000),
                        "output.value": _text(rnd, 200)},
            resource=RESOURCE, scope=SCOPE,
        ),
    )  # fmt: skip
    return spans


def batch_bodies(n_batches: int, seed: int) -> list[bytes]:
    """OTLP protobuf bodies of BATCH spans each, distinct ids (traces of TRACE_SPANS spans)."""
    rnd = random.Random(seed)
    bodies = []
    t0 = time.time_ns()
    for _ in range(n_batches):
        spans: list[SpanRecord] = []
        while len(spans) < BATCH:
            spans += agent_trace(rnd.getrandbits(128) | 1, TRACE_SPANS, t0, rnd)
        bodies.append(to_request(spans[:BATCH]).SerializeToString())
    return bodies


# ---- clients (separate processes) --------------------------------------------------------------


def _client(
    target: str, protocol: str, n_batches: int, seed: int, ready: Any, go: Any, out: Any
) -> None:
    bodies = batch_bodies(n_batches, seed)
    ready.put(sum(len(b) for b in bodies))
    go.wait()
    started = time.perf_counter()
    if protocol == "http":
        with httpx.Client(timeout=120) as client:
            for body in bodies:
                response = client.post(target, content=body, headers=PROTOBUF)
                if response.status_code != 200:
                    raise SystemExit(f"HTTP {response.status_code}: {response.text[:200]}")
    else:
        import grpc

        options = [("grpc.max_send_message_length", 64 << 20)]
        with grpc.insecure_channel(target, options=options) as channel:
            export = channel.unary_unary(EXPORT)  # raw bytes: no client-side re-encoding
            for body in bodies:
                export(body, timeout=120)
    out.put(time.perf_counter() - started)


def run_clients(
    target: str, protocol: str, clients: int, n_batches: int, seed: int
) -> dict[str, float]:
    """Start the clients, let them encode, release them together; spans/s until the last ack."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_client, args=(target, protocol, n_batches, seed + k, ready, go, out))
        for k in range(clients)
    ]
    for proc in procs:
        proc.start()
    body_bytes = sum(ready.get(timeout=300) for _ in procs)
    go.set()
    t0 = time.perf_counter()
    for _ in procs:
        out.get(timeout=600)
    elapsed = time.perf_counter() - t0
    for proc in procs:
        proc.join(60)
        if proc.exitcode != 0:
            raise SystemExit(f"a {protocol} client failed with exit code {proc.exitcode}")
    spans = clients * n_batches * BATCH
    return {"spans": spans, "seconds": elapsed, "rate": spans / elapsed,
            "bytes_per_span": body_bytes / spans}  # fmt: skip


# ---- read back -----------------------------------------------------------------------------------


def read_back(collector: Collector, repeat: int) -> dict[str, Any]:
    """Read ``repeat`` distinct 1,000-span traces back (cold), and one of them again (warm)."""
    rnd = random.Random(7)
    traces = [agent_trace(0xB16_7ACE + i, 1000, time.time_ns(), rnd) for i in range(repeat)]
    with httpx.Client(timeout=60) as client:
        for trace in traces:
            body = to_request(trace).SerializeToString()
            response = client.post(
                f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF
            )
            response.raise_for_status()
        ids = [trace[0].trace_id_hex for trace in traces]
        size = len(body)
        del traces, body
        gc.collect()  # the spans built above would otherwise slow every GC pass below
        base = collector.http_url

        def api_run(tid: str) -> Any:
            return client.get(f"{base}/api/traces/{tid}/run").json()

        results: dict[str, Any] = {"spans": 1000, "body_bytes": size}
        # Every trace is asked for once: the first answer is always derived (cold).
        results["api_run"] = sample(api_run, ids)
        results["api_run_warm"] = sample(api_run, [ids[0]] * repeat)
        results["load_spans"] = sample(
            lambda tid: derive(load_spans(base, tid, client=client)), ids
        )
    store = collector.store
    assert store is not None
    request = store.trace_request(ids[0])
    assert request is not None
    records = from_request(request)
    run = derive(records)
    results["store_read"] = sample(store.trace_request, ids)
    results["from_request"] = sample(lambda _: from_request(request), ids)
    results["derive"] = sample(lambda _: derive(records), ids)
    results["to_json"] = sample(lambda _: json.dumps(run.to_dict()), ids)
    return results


def read_ready(collector: Collector, repeat: int) -> tuple[float, float, float]:
    """First reads of ended 1,000-span runs once the collector has derived them ahead."""
    rnd = random.Random(8)
    ids = []
    with httpx.Client(timeout=60) as client:
        for i in range(repeat):
            trace = agent_trace(0xAEAD_0000 + i, 1000, time.time_ns(), rnd)
            body = to_request(trace).SerializeToString()
            client.post(f"{collector.http_url}/v1/traces", content=body, headers=PROTOBUF)
            ids.append(trace[0].trace_id_hex)
        preparer = collector.preparer
        assert preparer is not None
        deadline = time.monotonic() + 120
        while preparer.prepared < repeat and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
        return sample(lambda tid: client.get(f"{collector.http_url}/api/traces/{tid}/run"), ids)


def sample(fn: Callable[[Any], Any], args: list[Any]) -> tuple[float, float, float]:
    """(median, min, max) milliseconds of ``fn(arg)`` for each arg."""
    samples = []
    for arg in args:
        started = time.perf_counter()
        fn(arg)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), max(samples)


# ---- Phoenix -------------------------------------------------------------------------------------


def phoenix_ingest(n_batches: int, seed: int) -> dict[str, Any] | None:
    try:
        from support.phoenix_server import (
            PhoenixServer,
            fetch_span_pages,
            find_phoenix_python,
            spans_url,
        )
    except ImportError:
        return None
    python = find_phoenix_python()
    if python is None:
        return None
    with (
        tempfile.TemporaryDirectory() as workdir,
        PhoenixServer(python, Path(workdir), project=PROJECT) as phoenix,
    ):
        sent = run_clients(phoenix.otlp_http_traces_url, "http", 1, n_batches, seed)
        started = time.perf_counter() - sent["seconds"]
        url = spans_url(phoenix.http_endpoint, PROJECT)
        with httpx.Client(timeout=60) as client:
            while True:
                stored = fetch_span_pages(client, url, {}) or []
                if len(stored) >= sent["spans"]:
                    break
                if time.perf_counter() - started > 900:
                    raise SystemExit(
                        f"Phoenix stored {len(stored)} of {sent['spans']} spans in 15 min"
                    )
                time.sleep(1.0)
        visible = time.perf_counter() - started
        return {**sent, "visible_seconds": visible, "visible_rate": sent["spans"] / visible,
                "startup_s": phoenix.startup_s}  # fmt: skip


def ingest(db: Path, protocol: str, clients: int, sync: str, batches: int) -> tuple[Any, ...]:
    """One ingest measurement against a fresh collector; checks the stored count."""
    with Collector(db, synchronous=sync) as collector:
        target = (
            f"{collector.http_url}/v1/traces"
            if protocol == "http"
            else f"127.0.0.1:{collector.grpc_port}"
        )
        result = run_clients(target, protocol, clients, batches, seed=clients * 1000)
        assert collector.store is not None
        stored = collector.store.span_count()
    if stored != result["spans"]:
        raise SystemExit(f"stored {stored} spans, sent {result['spans']}")
    rate = result["rate"]
    print(f"{protocol:4} x{clients} {sync:6}: {rate:8,.0f} spans/s ({result['spans']:,} spans)")
    return protocol, clients, sync, result


# ---- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="requests per client")
    parser.add_argument("--repeat", type=int, default=15, help="traces read back")
    parser.add_argument("--phoenix-batches", type=int, default=4)
    parser.add_argument("--no-phoenix", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a few batches, no Phoenix")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.repeat, args.no_phoenix = 4, 5, True

    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        rows = [
            ingest(Path(tmp) / f"{p}-{c}-{sync}.db", p, c, sync, args.batches)
            for sync in ("FULL", "NORMAL")
            for p in ("http", "grpc")
            for c in (1, 2)
        ]
        with Collector(Path(tmp) / "read.db", prepare_runs=False) as collector:
            back = read_back(collector, args.repeat)
        with Collector(Path(tmp) / "ready.db") as collector:
            back["api_run_ready"] = read_ready(collector, args.repeat)
        for key in STEPS:
            median, low, high = back[key]
            print(f"{key:13} median {median:6.1f} ms (min {low:.1f}, max {high:.1f})")
    phoenix = None if args.no_phoenix else phoenix_ingest(args.phoenix_batches, seed=99)
    if phoenix:
        acked, visible = phoenix["rate"], phoenix["visible_rate"]
        print(f"phoenix: acked {acked:,.0f} spans/s, all readable at {visible:,.0f} spans/s")
    table = render(rows, back, phoenix, args)
    print()
    print(table)
    if args.write:
        write_section("ingest", table)


def render(rows: list[Any], back: dict[str, Any], phoenix: dict[str, Any] | None, args: Any) -> str:
    cpu = os.cpu_count()
    http_rate = next(r["rate"] for p, c, s, r in rows if (p, c, s) == ("http", 1, "FULL"))
    lines = [
        "## Collector ingest and read-back (`python benchmarks/bench_ingest.py --write`)",
        "",
        "Targets on this 2-core machine: at least 20,000 spans/s ingested and committed; a "
        "1,000-span",
        "trace fetched and derived in at most 20 ms.",
        "",
        f"{platform.python_implementation()} {platform.python_version()}, {cpu} cores, SQLite "
        f"WAL (synchronous FULL is the default), requests of {BATCH} spans "
        f"(~{rows[0][3]['bytes_per_span']:,.0f} B of OTLP protobuf per span), traces of "
        f"{TRACE_SPANS} spans. Clients are separate processes that encode before the clock "
        "starts; acked = committed; the stored count is checked.",
        "",
        "| ingest | synchronous | clients | spans | seconds | spans/s (target >= 20,000) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for protocol, clients, sync, r in rows:
        name = "OTLP/HTTP protobuf" if protocol == "http" else "OTLP/gRPC"
        lines.append(
            f"| {name} | {sync} | {clients} | {r['spans']:,} | {r['seconds']:.2f} "
            f"| {r['rate']:,.0f} |"
        )
    if phoenix:
        lines += [
            f"| Phoenix, OTLP/HTTP, acked (stored later) | - | 1 | {phoenix['spans']:,} | "
            f"{phoenix['seconds']:.2f} | {phoenix['rate']:,.0f} |",
            f"| Phoenix, until all readable over REST | - | 1 | {phoenix['spans']:,} | "
            f"{phoenix['visible_seconds']:.2f} | {phoenix['visible_rate']:,.0f} |",
            "",
            f"Ratio, OTLP/HTTP 1 client, collector (FULL) / Phoenix: "
            f"{http_rate / phoenix['rate']:.1f}x "
            f"on acknowledgements, {http_rate / phoenix['visible_rate']:,.0f}x on stored spans.",
        ]
    lines += [
        "",
        f"Read back {args.repeat} distinct {back['spans']:,}-span agent traces "
        f"({back['body_bytes'] / 1e6:.1f} MB of protobuf each), each once, in ms (the warm row "
        "asks for the same trace again):",
        "",
        "| step | median | min | max |",
        "|---|---:|---:|---:|",
    ]
    for key, name in STEPS.items():
        median, low, high = back[key]
        lines.append(f"| {name} | {median:.1f} | {low:.1f} | {high:.1f} |")
    core = back["from_request"][0] + back["derive"][0]
    ready, cold = back["api_run_ready"][0], back["api_run"][0]
    lines += [
        "",
        f"A run that has ended is served in {ready:.1f} ms: the collector derives a trace in "
        "the background 0.5 s after its root span is committed. Derived on demand (a trace "
        f"asked for before that, or with `prepare_runs` off) it takes {cold:.1f} ms, "
        f"{core:.0f} ms of which are OTLP -> SpanRecord and `derive`"
        + (": over the 20 ms target." if cold > 20 else "."),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
