"""A MASEval benchmark (examples/maseval_benchmark.py) run as it is, or with known changes.

The changed run differs in two tasks of its script: in ``brief-traces`` the writer counts
words once more (one LLM call and one tool call more, ``EXTRA`` tokens), in ``brief-tokens``
the writer's answer is wrong (the evaluator's ``answer_correct`` fails). ``run_benchmark``
writes a run's tables with ``BenchmarkExport`` and its spans to an OTLP/JSON file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import BenchmarkExport
from otel_bridge.scripted import ConversationRouter, Reply, ToolCallSpec, Usage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maseval_benchmark.py"
EXTRA = Usage(prompt=470, completion=10)  # the writer's second word count in brief-traces
WRONG = "In short: nothing to say."  # the writer's answer in brief-tokens


def example_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("maseval_benchmark_compare_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def changed_conversations(example: ModuleType) -> ConversationRouter:
    """The example's script (``scripted_conversations``) with the two changes."""
    conversations = {}
    for n, task_id in enumerate(example.TOPICS):
        topic, _ = example.TOPICS[task_id]
        answer = example.answer_of(task_id)
        count = Reply(
            agent="You are the writer.",
            tool_calls=[ToolCallSpec("word_count", {"text": answer})],
            usage=Usage(prompt=450 + n, completion=30, cached=0),
        )
        extra = [Reply(agent="You are the writer.", tool_calls=count.tool_calls, usage=EXTRA)]
        conversations[example.query_of(task_id)] = [
            Reply(
                agent="You are the researcher.",
                tool_calls=[ToolCallSpec("search", {"query": topic})],
                usage=Usage(prompt=300 + n, completion=20, cached=0),
            ),
            Reply(
                agent="You are the researcher.",
                tool_calls=[ToolCallSpec("handoff", {"to_agent": "writer", "reason": "Done."})],
                usage=Usage(prompt=380 + n, completion=25, cached=256),
            ),
            count,
            *(extra if task_id == "brief-traces" else []),
            Reply(
                agent="You are the writer.",
                content=WRONG if task_id == "brief-tokens" else answer,
                usage=Usage(prompt=500 + n, completion=22, cached=384),
            ),
        ]
    return ConversationRouter(conversations)


def run_benchmark(directory: Path, changed: bool) -> tuple[Path, Path]:
    """Run the benchmark: its tables (Parquet, or CSV when ``changed``) and its spans."""
    example = example_module()
    if changed:
        # The example's run_benchmark reads its script from this module attribute.
        vars(example)["scripted_conversations"] = lambda: changed_conversations(example)
    tables, spans = directory / "tables", directory / "spans.otlp.json"
    export = BenchmarkExport(tables, format="csv" if changed else "parquet")
    with Telemetry(otlp_json_file=spans, service_name="compare-test") as telemetry:
        example.run_benchmark(num_workers=1, telemetry=telemetry, callbacks=[export])
    assert (export.runs, export.errors) == (3, 0)
    return tables, spans
