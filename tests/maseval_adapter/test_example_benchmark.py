"""examples/maseval_benchmark.py: a real MASEval Benchmark, two workers, span-derived reports."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from support.paths import ROOT

from otel_bridge import Telemetry

EXAMPLE = ROOT / "examples" / "maseval_benchmark.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("maseval_benchmark_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_reports_carry_per_agent_usage_and_handoffs() -> None:
    example = _example()
    with Telemetry(service_name="example-test") as telemetry:
        reports = example.run_benchmark(num_workers=2, telemetry=telemetry)
    json.dumps(reports, default=str)

    assert sorted(r["task_id"] for r in reports) == sorted(example.TOPICS)
    trace_ids = set()
    for n, task_id in enumerate(example.TOPICS):
        (report,) = [r for r in reports if r["task_id"] == task_id]
        assert report["status"] == "success", report["error"]
        assert report["eval"] == [
            {"answer_correct": True, "handed_off": True, "usage_complete": True}
        ]
        team = report["traces"]["agents"]["team"]
        assert team["labels"] == {"task_id": task_id, "repetition": 0}
        # per-agent usage exactly as the scripted LLM reported it for this task
        assert team["agents"]["researcher"]["usage"]["total_tokens"] == (300 + n + 20) + (
            380 + n + 25
        )
        assert team["agents"]["writer"]["usage"]["total_tokens"] == (450 + n + 30) + (500 + n + 22)
        assert team["agents"]["researcher"]["usage"]["cached_input_tokens"] == 256
        (handoff,) = team["handoffs"]
        assert (handoff["from"], handoff["to"], handoff["reason"]) == (
            "researcher",
            "writer",
            "Done.",
        )
        tools = [m.get("name") for m in team["messages"] if m["role"] == "tool"]
        assert tools == ["search", "handoff", "word_count"]
        usage = report["usage"]["agents"]["team"]
        assert usage["total_tokens"] == team["usage"]["total_tokens"]
        assert report["config"]["agents"]["team"]["llamaindex"]["handoffs"] == {
            "researcher": ["writer"],
            "writer": [],
        }
        trace_ids.update(team["trace_ids"])
        # every span of the task's trace, made on a maseval worker thread, carries its labels
        (trace_id,) = team["trace_ids"]
        spans = telemetry.spans(trace_id)
        assert len(spans) > 20
        for span in spans:
            assert span.attributes["session.id"] == team["session_id"]
            assert json.loads(span.attributes["metadata"])["task_id"] == task_id
    assert len(trace_ids) == 3  # one trace per task, never mixed up between workers
