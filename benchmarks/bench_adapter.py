"""Adapter overhead: one agent run six ways, against a zero-latency scripted LLM.

    python benchmarks/bench_adapter.py [--runs 60] [--kind workflow|function] [--json]

1. bare: the agent alone, LlamaIndex not instrumented (measured in a subprocess, because
   instrumentation is process-wide and cannot be undone cleanly);
2. instrumented: the agent with OpenInference instrumentation, spans captured in memory by a
   Telemetry (no adapter);
3. otel-bridge adapter: ``LlamaIndexAgentAdapter.run`` (root span, labels, the background loop;
   the run is derived when its data is first read), a new adapter per run as in a MASEval
   Benchmark;
4. MASEval 0.5.1's ``LlamaIndexAgentAdapter.run`` (still instrumented: it cannot be avoided in
   the same process);
5. and 6. each adapter's ``run`` followed by ``gather_traces()``, as a MASEval task reads it (ours
   derives the RunTrace and writes the log entry there).

Variants 2-6 run interleaved, round-robin in a shuffled order per round, to spread drift and
noise evenly; each gets its own agent and LLM object (so no client is shared across loops).
Bare and instrumented runs use a persistent event loop (``asyncio.Runner``), as a careful user
would. Medians are reported, with ratios to the instrumented run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from typing import Any

from interleave import adapter_variants, interleaved, ratio_table, timed, times_in_a_fresh_process
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from results import write_section

from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    demo_script,
    scripted_openai_llm,
)

QUERY_FUNCTION = "Add 1 and 2, then 3 and 4."
WARMUP = 5


def _search(query: str) -> str:
    """Search the web for a query."""
    return f"Notes on {query}."


def _word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _router(kind: str) -> ConversationRouter:
    if kind == "workflow":
        return demo_script().router()
    return ConversationRouter(
        {
            QUERY_FUNCTION: [
                Reply(tool_calls=[ToolCallSpec("add", {"a": 1, "b": 2})], usage=Usage(150, 18)),
                Reply(tool_calls=[ToolCallSpec("add", {"a": 3, "b": 4})], usage=Usage(190, 18)),
                Reply(content="3 and 7.", usage=Usage(230, 6)),
            ]
        }
    )


def _query(kind: str) -> str:
    return demo_script().user_msg if kind == "workflow" else QUERY_FUNCTION


def _agent(kind: str, server: ScriptedLLMServer) -> Any:
    llm = scripted_openai_llm(server, include_usage=True)  # the same wire work in every variant
    if kind == "workflow":
        return demo_script().workflow(llm, search=_search, word_count=_word_count)
    return FunctionAgent(name="calc", tools=[FunctionTool.from_defaults(_add, name="add")], llm=llm)


def measure_bare(kind: str, runs: int) -> list[float]:
    """The agent alone, nothing instrumented (run this in a fresh process)."""
    with ScriptedLLMServer(_router(kind)) as server, asyncio.Runner() as runner:
        agent, query = _agent(kind, server), _query(kind)

        async def once() -> Any:
            return await agent.run(user_msg=query)

        for _ in range(WARMUP):
            runner.run(once())
        return [timed(lambda: runner.run(once())) for _ in range(runs)]


def measure_interleaved(kind: str, runs: int, seed: int) -> dict[str, list[float]]:
    """Instrumented, our adapter and MASEval's adapter, interleaved."""
    from maseval.interface.agents.llamaindex import LlamaIndexAgentAdapter as MasevalAdapter

    from otel_bridge import Telemetry
    from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter

    query = _query(kind)
    with (
        ScriptedLLMServer(_router(kind)) as server,
        Telemetry() as telemetry,
        asyncio.Runner() as runner,
    ):
        plain, ours_agent, theirs_agent = (_agent(kind, server) for _ in range(3))

        async def instrumented_run() -> Any:
            return await plain.run(user_msg=query)

        def instrumented() -> Any:
            with telemetry.activate():
                return runner.run(instrumented_run())

        variants = {
            "instrumented": instrumented,
            **adapter_variants(
                lambda: LlamaIndexAgentAdapter(ours_agent, "team", telemetry),
                lambda: MasevalAdapter(theirs_agent, "team"),
                query,
            ),
        }
        times = interleaved(variants, runs, warmup=WARMUP, seed=seed)
        check = LlamaIndexAgentAdapter(ours_agent, "check", telemetry)
        check.run(query)
        assert check.last_run is not None and check.last_run.usage.complete
        return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description="otel-bridge adapter overhead")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--kind", choices=["workflow", "function"], default="workflow")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.bare_only:
        print(json.dumps(measure_bare(args.kind, args.runs)))
        return 0
    bare_args = ["--bare-only", "--runs", str(args.runs), "--kind", args.kind]
    times = {"bare": times_in_a_fresh_process(__file__, bare_args)}
    times.update(measure_interleaved(args.kind, args.runs, args.seed))
    if args.json:
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(json.dumps({"medians_s": medians, "runs": args.runs, "kind": args.kind}))
        return 0
    table = ratio_table(
        f"`python benchmarks/bench_adapter.py --runs {args.runs} --kind {args.kind}` "
        f"(medians; warm-up {WARMUP} runs each)",
        times,
    )
    print(table)
    if args.write:
        write_section(f"adapter-{args.kind}", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
