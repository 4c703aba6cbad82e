"""Derivation throughput: spans/s of derive() over synthetic OpenInference traces.

Run: ``python benchmarks/bench_derive.py [--repeat N] [--write]``. With ``--write`` the tables
replace the "derive" and "derive-depth" sections of benchmarks/README.md.

Each trace is a multi-agent AgentWorkflow shaped like the real spans: per turn a
``run_agent_step``, ``_prepare_chat_with_tools``, a streaming LLM call with flattened messages
and token counts, ``parse_agent_output``, ``call_tool`` + tool span, ``aggregate_tool_results``;
every 10th turn a handoff. Each LLM call re-sends a history window of up to 20 messages (agents
keep bounded memory), so the work per span is constant and the cost should be linear.

The depth case is a chain: every span the child of the one before (tools calling tools, or
tool and LLM spans in turn), 1,000 to 10,000 levels deep, derived and planned for export
(``export_plan`` in ``both`` mode, the enrichment every exported trace goes through). Each
"nearest enclosing X" is looked up once per trace, so the time per span should not grow with
the depth.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from results import write_section
from support.records import KIND, TraceBuilder, assistant, chain, tool_result, user
from support.records import sys as system

from otel_bridge import derive
from otel_bridge.telemetry._export_view import export_plan

SIZES = (10, 100, 1_000, 10_000)
WINDOW = 20
SCOPE = "openinference.instrumentation.llama_index"  # the instrumentor's, as on real spans
SPANS_PER_TURN = 8


def synthetic_trace(n_spans: int) -> list:
    """About ``n_spans`` OpenInference spans of one multi-agent run."""
    b = TraceBuilder(trace_id=0x5EED, scope=SCOPE)
    turns = max(1, (n_spans - 1) // SPANS_PER_TURN)  # 8 spans per turn + the root
    root = b.root(0, turns * 10 + 10)
    agents = ["researcher", "writer", "reviewer"]
    history = [system("You are the researcher."), user("Write a brief about tracing. " * 5)]
    t = 1.0
    for turn in range(turns):
        agent = agents[(turn // 10) % len(agents)]
        step = b.step(root, agent, t, t + 6)
        b.span("OpenAI._prepare_chat_with_tools", t, t + 0.1, step, **{KIND: "LLM"})
        call_id = f"call_{turn}"
        if turn % 10 == 9:
            name, args = "handoff", {"to_agent": agents[((turn + 1) // 10) % 3], "reason": "next"}
        else:
            name, args = "search", {"query": f"topic {turn}"}
        out = assistant(calls=[(call_id, name, args)])
        b.llm(
            step,
            t + 0.2,
            t + 0.3,
            history[-WINDOW:],
            [out],
            usage=(500 + turn, 20),
            name="OpenAI.astream_chat",
            first_token=t + 1,
        )
        b.span("AgentWorkflow.parse_agent_output", t + 6, t + 6.1, root, **{KIND: "CHAIN"})
        ct = b.call_tool(root, call_id, t + 6.2, t + 8)
        result = f"Result {turn}: " + "lorem ipsum " * 20
        b.tool(ct, name, args, result, t + 6.3, t + 7.9)
        b.span("AgentWorkflow.aggregate_tool_results", t + 8, t + 8.5, root, **{KIND: "CHAIN"})
        history += [out, tool_result(call_id, result)]
        t += 10
    while len(b.spans) < n_spans:  # pad to the exact size with workflow bookkeeping spans
        b.span("AgentWorkflow.setup_agent", t, t + 0.1, root, **{KIND: "CHAIN"})
        t += 0.2
    return b.spans


def measure(n_spans: int, repeat: int) -> tuple[int, float]:
    """Median seconds of one derive() over ``repeat`` batches of about 20,000 spans each."""
    spans = synthetic_trace(n_spans)
    derive(spans)  # warm up
    loops = max(1, 20_000 // len(spans))
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(loops):
            derive(spans)
        times.append((time.perf_counter() - start) / loops)
    return len(spans), statistics.median(times)


DEPTHS = (1_000, 3_000, 10_000)
CHAINS = {"tool spans": ("TOOL",), "tool and LLM spans in turn": ("TOOL", "LLM")}


def median_seconds(work: Any, repeat: int) -> float:
    """Median wall time of ``work()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def depth_table(repeat: int) -> str:
    """Derive and export-plan times of deep chains, per span relative to the shallowest."""
    lines = [
        "| chain | depth | derive | derive per span vs 1,000 | export plan "
        "| export plan per span vs 1,000 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, kinds in CHAINS.items():
        base: tuple[float, float] | None = None
        for depth in DEPTHS:
            spans = chain(depth, kinds, trace_id=0xDEE9)
            derive(spans)  # warm up
            d = median_seconds(lambda spans=spans: derive(spans), repeat)
            e = median_seconds(lambda spans=spans: export_plan(spans, "both"), repeat)
            per = (d / len(spans), e / len(spans))
            base = base or per
            lines.append(
                f"| {name} | {depth:,} | {d * 1e3:.0f} ms | {per[0] / base[0]:.2f} "
                f"| {e * 1e3:.0f} ms | {per[1] / base[1]:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args()
    rows = []
    for size in SIZES:
        n, seconds = measure(size, args.repeat)
        rows.append((n, seconds, n / seconds))
    base = rows[-1][1] / rows[-1][0]
    lines = [
        "| spans in trace | median derive time | spans/s | time per span vs 10k |",
        "|---:|---:|---:|---:|",
    ]
    for n, seconds, rate in rows:
        lines.append(
            f"| {n:,} | {seconds * 1e3:.2f} ms | {rate:,.0f} | {(seconds / n) / base:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    print(json.dumps({"python": sys.version.split()[0], "rows": rows}))
    depth = depth_table(max(3, args.repeat // 2))
    print(depth)
    if args.write:
        write_section("derive", table)
        write_section("derive-depth", depth)


if __name__ == "__main__":
    main()
