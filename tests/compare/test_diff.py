"""Two live runs of the scripted server whose one difference is known: the diff names it.

Real LlamaIndex agents, real instrumentation, real OpenAI client; the scripted replies are the
ground truth for the steps and the token counts (tests/support/compare_pairs.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from support import compare_pairs as pairs
from support import scenarios
from support.runs import traced_run

from otel_bridge import RunDiff, RunTrace, Telemetry, diff_runs
from otel_bridge.scripted import ScriptedLLMServer


async def _pair(
    telemetry: Telemetry,
    build: Any,
    server: ScriptedLLMServer,
    a: dict[str, Any],
    b: dict[str, Any],
) -> tuple[RunTrace, RunTrace]:
    _, run_a = await traced_run(telemetry, build(server, **a))
    _, run_b = await traced_run(telemetry, build(server, **b))
    return run_a, run_b


def _statuses(diff: RunDiff) -> list[tuple[str, str]]:
    return [(s["status"], (s["a"] or s["b"])["label"]) for s in diff.to_dict()["steps"]]


def _changes(diff: RunDiff, *metrics: str) -> dict[str, Any]:
    run = diff.to_dict()["deltas"]["run"]
    return {m: run[m]["change"] for m in metrics}


async def test_changed_tool_arguments(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    a, b = await _pair(telemetry, pairs.calculator, llm, {"b": 3}, {"b": 4})
    diff = diff_runs(a, b)
    assert diff.first_divergence() == {
        "index": 0,
        "status": "changed",
        "kind": "turn",
        "agent": "calculator",
        "step": "calculator · turn 1",
        "what": "asks add with b: 3 → 4",
        "fields": ["tool_calls"],
    }
    assert _statuses(diff) == [
        ("changed", "calculator · turn 1"),
        ("changed", "calculator · add #1"),
        ("equal", "calculator · turn 2"),
        ("equal", "answer"),
    ]
    tool = diff.to_dict()["steps"][1]
    assert (tool["a"]["arguments"], tool["a"]["output"]) == ({"a": 2, "b": 3}, "5")
    assert (tool["b"]["arguments"], tool["b"]["output"]) == ({"a": 2, "b": 4}, "6")
    assert tool["differences"] == ["arguments", "output"]
    # Same script otherwise: 100 + 200 input, 10 + 8 output tokens on both sides.
    assert _changes(diff, "llm_calls", "tool_calls", "input_tokens", "output_tokens") == {
        "llm_calls": 0,
        "tool_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    assert diff.to_dict()["deltas"]["run"]["input_tokens"] == {"a": 300, "b": 300, "change": 0}


async def test_inserted_step(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    a, b = await _pair(telemetry, pairs.calculator, llm, {}, {"inserted": True})
    diff = diff_runs(a, b)
    first = diff.first_divergence()
    assert first is not None
    assert (first["index"], first["status"], first["step"], first["what"]) == (
        2,
        "only_b",
        "calculator · turn 2",
        'only in B: gpt-4o-mini: asks multiply({"a": 4, "b": 5})',
    )
    # The steps after the insertion align again: the answer turn is A's 2nd and B's 3rd.
    assert _statuses(diff) == [
        ("equal", "calculator · turn 1"),
        ("equal", "calculator · add #1"),
        ("only_b", "calculator · turn 2"),
        ("only_b", "calculator · multiply #1"),
        ("equal", "calculator · turn 2"),
        ("equal", "answer"),
    ]
    assert diff.to_dict()["steps"][4]["b"]["label"] == "calculator · turn 3"
    inserted = pairs.INSERTED_USAGE
    assert _changes(diff, "llm_calls", "tool_calls", "input_tokens", "output_tokens") == {
        "llm_calls": 1,
        "tool_calls": 1,
        "input_tokens": inserted.prompt,
        "output_tokens": inserted.completion,
    }
    agent = diff.to_dict()["deltas"]["agents"]["calculator"]
    assert (agent["llm_calls"], agent["total_tokens"]) == (
        {"a": 2, "b": 3, "change": 1},
        {"a": 318, "b": 483, "change": 165},
    )


async def test_another_agent_takes_the_handoff(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    a, b = await _pair(telemetry, pairs.triage, llm, {"to": "writer"}, {"to": "reviewer"})
    diff = diff_runs(a, b)
    first = diff.first_divergence()
    assert first is not None
    assert (first["index"], first["status"], first["agent"], first["what"]) == (
        0,
        "changed",
        "router",
        "asks handoff with to_agent: writer → reviewer",
    )
    assert _statuses(diff) == [
        ("changed", "router · turn 1"),
        ("changed", "router · handoff #1"),
        ("changed", "router · handoff"),
        ("only_a", "writer · turn 1"),
        ("only_b", "reviewer · turn 1"),
        ("equal", "answer"),
    ]
    handoff = diff.to_dict()["steps"][2]
    assert (handoff["a"]["to"], handoff["b"]["to"], handoff["differences"]) == (
        "writer",
        "reviewer",
        ["to"],
    )
    agents = diff.to_dict()["deltas"]["agents"]
    assert agents["writer"]["total_tokens"] == {"a": 312, "b": None, "change": None}
    assert agents["reviewer"]["total_tokens"] == {"a": None, "b": 312, "change": None}
    assert agents["router"]["total_tokens"] == {"a": 110, "b": 110, "change": 0}
    assert _changes(diff, "handoffs", "total_tokens") == {"handoffs": 0, "total_tokens": 0}


async def test_another_model(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    a, b = await _pair(telemetry, pairs.calculator, llm, {}, {"model": "gpt-4o"})
    diff = diff_runs(a, b)
    first = diff.first_divergence()
    assert first is not None
    assert (first["index"], first["what"], first["fields"]) == (
        0,
        "model gpt-4o-mini → gpt-4o",
        ["model"],
    )
    assert [s for s, _ in _statuses(diff)] == ["changed", "equal", "changed", "equal"]
    # 300 input and 18 output tokens at USD 0.15 / 0.60 (mini) and 2.50 / 10.00 per million.
    cost = diff.to_dict()["deltas"]["run"]["cost_usd"]
    assert cost["a"] == pytest.approx(300 * 0.15e-6 + 18 * 0.60e-6)
    assert cost["b"] == pytest.approx(300 * 2.50e-6 + 18 * 10.00e-6)
    assert cost["change"] == pytest.approx(0.000930 - 0.0000558)
    assert _changes(diff, "total_tokens", "llm_calls") == {"total_tokens": 0, "llm_calls": 0}


async def test_a_run_against_itself_is_all_equal(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    _, run = await traced_run(telemetry, scenarios.handoff(llm))  # the demo: 4 turns, 3 tools
    diff = diff_runs(run, run.to_dict())
    data = diff.to_dict()
    assert data["first_divergence"] is None
    assert {s["status"] for s in data["steps"]} == {"equal"}
    assert data["counts"] == {"equal": 9, "changed": 0, "only_a": 0, "only_b": 0}
    changes = [d["change"] for d in data["deltas"]["run"].values()]
    assert changes == [None] + [0] * (len(changes) - 1)  # status first: no change in words
    assert data["answer"] == {"a": run.output, "b": run.output, "equal": True, "diff": []}


def test_runs_given_as_json_that_is_not_a_run_are_refused() -> None:
    from otel_bridge import SpanFormatError

    with pytest.raises(SpanFormatError, match="not RunTrace JSON"):
        diff_runs({"no": "trace id"}, {"trace_id": "x"})
