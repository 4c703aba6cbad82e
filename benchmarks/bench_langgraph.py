"""LangGraph: derive() throughput on LangGraph spans, and the adapter's overhead on a run.

    python benchmarks/bench_langgraph.py [--part derive|adapter|all] [--runs 40] [--write]

derive: the recorded langgraph-swarm run (tests/data/langgraph/swarm.otlp.json: 21 spans,
every one with LangChain's ``metadata`` JSON, three model calls, a tool and a handoff) tiled
into one trace of about 100 to 10,000 spans (each copy with its own span ids, later in time,
under the one root), derived repeatedly; spans/s is the rate. Target: at least 100,000 spans/s.

adapter: one swarm run (3 model calls, a tool, a handoff) six ways against a zero-latency
scripted server: bare (no instrumentation, in a subprocess), instrumented (OpenInference's
LangChain instrumentor, spans captured by a Telemetry, no adapter), ``LangGraphAgentAdapter``
(root span, labels; a new adapter per run as in a MASEval Benchmark), MASEval 0.5.1's own
``LangGraphAgentAdapter``, and each adapter's ``run`` followed by ``gather_traces()`` as a
MASEval task reads it (ours derives the run there); all but bare interleaved in a shuffled
order per round.
Target: adapter / instrumented at most 1.05.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import tiling  # noqa: E402
from interleave import (  # noqa: E402
    adapter_variants,
    interleaved,
    ratio_table,
    timed,
    times_in_a_fresh_process,
)
from results import write_section  # noqa: E402

from otel_bridge import SpanRecord, derive  # noqa: E402

SIZES = (100, 1_000, 10_000)
WARMUP = 5


def tiled_trace(n_spans: int) -> list[SpanRecord]:
    """The recorded run, tiled into one trace of about ``n_spans`` spans."""
    return tiling.tiled_trace(ROOT / "tests/data/langgraph/swarm.otlp.json", n_spans)


def derive_table(repeat: int) -> str:
    """spans/s of derive() on tiled LangGraph traces, and on bench_derive's LlamaIndex trace of
    1,000 spans measured alongside (the machine is shared: compare the two)."""
    from bench_derive import synthetic_trace

    lines = ["| trace | spans | median derive time | spans/s |", "|---|---:|---:|---:|"]
    cases = [("LangGraph swarm, tiled", tiled_trace(size)) for size in SIZES]
    cases.append(("LlamaIndex (bench_derive.py), for reference", synthetic_trace(1_000)))
    for label, spans in cases:
        trace = derive(spans)
        assert not trace.issues, trace.issues
        loops = max(1, 20_000 // len(spans))
        times = []
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            for _ in range(loops):
                derive(spans)
            times.append((time.perf_counter() - start) / loops)
        median = statistics.median(times)
        lines.append(
            f"| {label} | {len(spans):,} | {median * 1e3:.2f} ms | {len(spans) / median:,.0f} |"
        )
    return "\n".join(lines)


def _graph(server: Any) -> Any:
    from support import langgraph_scenarios as lg

    return lg.swarm_graph(server)


def _router() -> Any:
    from support import langgraph_scenarios as lg

    from otel_bridge.scripted import ConversationRouter

    return ConversationRouter({lg.QUERY: lg.SWARM_REPLIES})


def measure_bare(runs: int) -> list[float]:
    """The graph alone, nothing instrumented (run this in a fresh process)."""
    from support import langgraph_scenarios as lg

    from otel_bridge.scripted import ScriptedLLMServer

    with ScriptedLLMServer(_router()) as server:
        graph = _graph(server)
        for _ in range(WARMUP):
            lg.invoke(graph)
        return [timed(lambda: lg.invoke(graph)) for _ in range(runs)]


def measure_interleaved(runs: int, seed: int) -> dict[str, list[float]]:
    """Instrumented, our adapter and MASEval's adapter, interleaved."""
    from maseval.interface.agents.langgraph import LangGraphAgentAdapter as MasevalAdapter
    from support import langgraph_scenarios as lg

    from otel_bridge import Telemetry
    from otel_bridge.maseval_adapter import LangGraphAgentAdapter
    from otel_bridge.scripted import ScriptedLLMServer

    with ScriptedLLMServer(_router()) as server, Telemetry(frameworks=["langgraph"]) as tel:
        plain, ours_graph, theirs_graph = (_graph(server) for _ in range(3))

        def instrumented() -> Any:
            with tel.activate():
                return lg.invoke(plain)

        variants = {
            "instrumented": instrumented,
            **adapter_variants(
                lambda: LangGraphAgentAdapter(ours_graph, "team", tel),
                lambda: MasevalAdapter(theirs_graph, "team"),
                lg.QUERY,
            ),
        }

        def forget() -> None:  # keep the capture from growing across rounds
            for trace in tel.run_traces():
                tel.capture.discard(trace.trace_id)

        times = interleaved(variants, runs, warmup=WARMUP, seed=seed, after_round=forget)
        check = LangGraphAgentAdapter(ours_graph, "check", tel)
        check.run(lg.QUERY)
        assert check.last_run is not None and len(check.last_run.handoffs) == 1
        return times


def adapter_table(runs: int, seed: int) -> str:
    """Medians of the four variants and their ratios."""
    times = {"bare": times_in_a_fresh_process(__file__, ["--bare-only", "--runs", str(runs)])}
    times.update(measure_interleaved(runs, seed))
    return ratio_table(
        f"`python benchmarks/bench_langgraph.py --part adapter --runs {runs}` "
        f"(swarm run; medians; warm-up {WARMUP} runs each)",
        times,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (or write) the tables."""
    parser = argparse.ArgumentParser(description="otel-bridge on LangGraph")
    parser.add_argument("--part", choices=["derive", "adapter", "all"], default="all")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_only:
        print(json.dumps(measure_bare(args.runs)))
        return 0
    if args.part in ("derive", "all"):
        table = derive_table(args.repeat)
        print(table)
        if args.write:
            write_section("langgraph-derive", table)
    if args.part in ("adapter", "all"):
        table = adapter_table(args.runs, args.seed)
        print(table)
        if args.write:
            write_section("langgraph-adapter", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
