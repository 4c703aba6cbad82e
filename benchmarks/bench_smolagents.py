"""smolagents: derivation throughput and MASEval adapter overhead.

    python benchmarks/bench_smolagents.py derive [--repeat 7] [--write]
    python benchmarks/bench_smolagents.py adapter [--runs 60] [--write]

``derive``: spans/s of ``derive()`` over synthetic traces shaped like OpenInference's smolagents
spans: a manager's ``manager.run`` whose first step runs a managed ``researcher.run``; per turn
a ``Step N``, an ``OpenAIModel.generate`` that re-sends a history window of up to 20 messages
in smolagents' own form (``tool-call`` "Calling tools:\\n[...]" and ``tool-response``
"Observation:\\n..." text, turned back into OpenAI tool calls and results by derivation) with
its raw response in ``output.value``, and a tool span without a call id (matched by name).

``adapter``: one ToolCallingAgent run (a tool call, then ``final_answer``; zero-latency scripted
model) six ways: bare (smolagents not instrumented, in a subprocess), instrumented (OpenInference,
spans captured by a Telemetry), ``SmolAgentAdapter.run`` (a new adapter per run, as in a MASEval
Benchmark) and MASEval 0.5.1's ``SmolAgentAdapter.run``; then each adapter's ``run`` followed by
``gather_traces()``, as a MASEval task reads it (ours derives the run there); all but bare
interleaved in a shuffled order each round. Medians, with ratios to the instrumented run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from interleave import adapter_variants, interleaved, ratio_table, timed, times_in_a_fresh_process
from results import write_section
from support.records import KIND, TraceBuilder, flatten

from otel_bridge import derive

SIZES = (10, 100, 1_000, 10_000)
WINDOW = 20
SCOPE = "openinference.instrumentation.smolagents"
INPUT, OUTPUT = "llm.input_messages", "llm.output_messages"
RAW = (
    '{{"role": "assistant", "content": null, "raw": "ChatCompletion(id=\'x\', '
    "usage=CompletionUsage(completion_tokens=20, prompt_tokens={prompt}, total_tokens={total}, "
    "completion_tokens_details=None, prompt_tokens_details=PromptTokensDetails(audio_tokens=None, "
    'cached_tokens=64)))"}}'
)


def _calls_text(call_id: str, name: str, args: dict[str, Any]) -> str:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
    return "Calling tools:\n" + str([call])


def synthetic_trace(n_spans: int) -> list:
    """About ``n_spans`` OpenInference smolagents spans: a manager and its managed agent."""
    b = TraceBuilder(trace_id=0x5A01)
    turns = max(1, (n_spans - 4) // 3)  # Step + LLM + tool per turn
    end = turns * 10 + 10
    manager = b.span("manager.run", 0, end, attrs={KIND: "AGENT", "smolagents.max_steps": 20})
    first = b.span("Step 1", 0.1, end - 1, manager, attrs={KIND: "CHAIN"})
    researcher = b.span(
        "researcher.run", 0.2, end - 2, first, attrs={KIND: "AGENT", "smolagents.max_steps": 20}
    )
    history: list[dict[str, Any]] = [
        {"role": "system", "parts": ["You are an expert assistant. " * 10]},
        {"role": "user", "parts": ["New task:\nFind facts about tracing. " * 3]},
    ]
    t = 1.0
    for turn in range(turns):
        step = b.span(f"Step {turn + 1}", t, t + 9, researcher, attrs={KIND: "CHAIN"})
        call_id, args = f"call_{turn}", {"query": f"topic {turn}"}
        prompt = 500 + turn
        attrs = {
            KIND: "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": prompt,
            "llm.token_count.completion": 20,
            "llm.token_count.total": prompt + 20,
            "output.value": RAW.format(prompt=prompt, total=prompt + 20),
            **flatten(INPUT, history[:2] + history[2:][-WINDOW:]),
            **flatten(
                OUTPUT,
                [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": call_id, "name": "search", "args": args}],
                    }
                ],
            ),
        }
        b.span("OpenAIModel.generate", t + 0.1, t + 3, step, attrs=attrs)
        result = f"Result {turn}: " + "lorem ipsum " * 20
        tool_input = {"args": [], "sanitize_inputs_outputs": True, "kwargs": args}
        b.span(
            "SimpleTool",
            t + 3.1,
            t + 8,
            step,
            attrs={
                KIND: "TOOL",
                "tool.name": "search",
                "input.value": json.dumps(tool_input),
                "output.value": result,
            },
        )
        history += [
            {"role": "tool-call", "parts": [_calls_text(call_id, "search", args)]},
            {"role": "tool-response", "parts": [f"Observation:\n{result}"]},
        ]
        t += 10
    while len(b.spans) < n_spans:
        b.span(f"Step {len(b.spans)}", t, t + 0.1, manager, attrs={KIND: "CHAIN"})
        t += 0.2
    return [replace(span, scope=SCOPE) for span in b.spans]


def measure(n_spans: int, repeat: int) -> tuple[int, float]:
    """Median seconds of one derive() over ``repeat`` batches of about 20,000 spans each."""
    spans = synthetic_trace(n_spans)
    trace = derive(spans)  # warm up, and check the shape is read as smolagents
    assert trace.labels["framework"] == "smolagents" and len(trace.delegations) == 1
    assert all(t.tool_call_id for t in trace.tool_calls)
    loops = max(1, 20_000 // len(spans))
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(loops):
            derive(spans)
        times.append((time.perf_counter() - start) / loops)
    return len(spans), statistics.median(times)


def derive_table(repeat: int) -> str:
    lines = [
        f"`python benchmarks/bench_smolagents.py derive --repeat {repeat}`",
        "",
        "| spans in trace | median derive time | spans/s |",
        "|---:|---:|---:|",
    ]
    for size in SIZES:
        n, seconds = measure(size, repeat)
        lines.append(f"| {n:,} | {seconds * 1000:.2f} ms | {n / seconds:,.0f} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- adapter

QUERY = "What is OpenTelemetry?"
WARMUP = 5


def _router() -> Any:
    from otel_bridge.scripted import ConversationRouter, Reply, ToolCallSpec, Usage

    return ConversationRouter(
        {
            QUERY: [
                Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(120, 12)),
                Reply(
                    tool_calls=[ToolCallSpec("final_answer", {"answer": "A CNCF project."})],
                    usage=Usage(160, 9),
                ),
            ]
        }
    )


def _agent(server: Any) -> Any:
    from support import smol_scenarios

    return smol_scenarios.agent(server)


def measure_bare(runs: int) -> list[float]:
    """The agent alone, smolagents not instrumented (run this in a fresh process)."""
    from otel_bridge.scripted import ScriptedLLMServer

    with ScriptedLLMServer(_router()) as server:
        agent = _agent(server)
        for _ in range(WARMUP):
            agent.run(QUERY)
        return [timed(lambda: agent.run(QUERY)) for _ in range(runs)]


def measure_interleaved(runs: int, seed: int) -> dict[str, list[float]]:
    """Instrumented, our adapter and MASEval's adapter, interleaved."""
    from maseval.interface.agents.smolagents import SmolAgentAdapter as MasevalAdapter

    from otel_bridge import Telemetry
    from otel_bridge.maseval_adapter import SmolAgentAdapter
    from otel_bridge.scripted import ScriptedLLMServer

    with ScriptedLLMServer(_router()) as server, Telemetry(frameworks=["smolagents"]) as telemetry:
        plain, ours_agent, theirs_agent = (_agent(server) for _ in range(3))

        def instrumented() -> Any:
            with telemetry.activate():
                return plain.run(QUERY)

        variants = {
            "instrumented": instrumented,
            **adapter_variants(
                lambda: SmolAgentAdapter(ours_agent, "smol", telemetry),
                lambda: MasevalAdapter(theirs_agent, "smol"),
                QUERY,
            ),
        }
        times = interleaved(variants, runs, warmup=WARMUP, seed=seed)
        check = SmolAgentAdapter(ours_agent, "check", telemetry)
        check.run(QUERY)
        assert check.last_run is not None and check.last_run.usage.input_tokens == 280
        return times


def adapter_table(runs: int, seed: int) -> str:
    times = {"bare": times_in_a_fresh_process(__file__, ["bare", "--runs", str(runs)])}
    times.update(measure_interleaved(runs, seed))
    return ratio_table(
        f"`python benchmarks/bench_smolagents.py adapter --runs {runs}` "
        f"(medians; warm-up {WARMUP} runs each)",
        times,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one of the benchmarks and print its table."""
    parser = argparse.ArgumentParser(description="smolagents: derive throughput, adapter overhead")
    parser.add_argument("what", choices=["derive", "adapter", "bare"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write into benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.what == "bare":
        print(json.dumps(measure_bare(args.runs)))
        return 0
    if args.what == "derive":
        table = derive_table(args.repeat)
    else:
        table = adapter_table(args.runs, args.seed)
    print(table)
    if args.write:
        write_section(f"smolagents-{args.what}", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
