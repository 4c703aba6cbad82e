"""The same live runs under three LlamaIndex instrumentations derive to the same evaluation data.

OpenInference (otel-bridge's default), OpenTelemetry's own GenAI instrumentation (with and
without content capture), OpenLLMetry, and OpenInference with a second instrumentation of the
OpenAI client each record the same four scenarios against the scripted server, in a process of
their own (tests/instrumented/record.py); derive() of each recording is checked against the
server's ground truth, and against the OpenInference derivation of the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from typing import Any

import pytest
from support.paths import TESTS

from otel_bridge import RunTrace, derive, load_spans

RECORDER = TESTS / "instrumented" / "record.py"
MODES = ("openinference", "genai", "openllmetry", "mixed-genai", "mixed-openllmetry")
ALL_MODES = (*MODES, "genai-no-content")
SCENARIOS = ("two_tools", "handoff", "chain", "tool_raises")

Recorded = dict[str, dict[str, tuple[RunTrace, dict[str, Any]]]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """mode -> scenario -> (the derived run, the server's ground truth)."""
    out: Recorded = {}
    root = tmp_path_factory.mktemp("instrumented")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    for mode in ALL_MODES:
        done = subprocess.run(
            [sys.executable, str(RECORDER), mode, str(root / mode)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out[mode] = {}
        for scenario in SCENARIOS:
            truth = json.loads((root / mode / f"{scenario}.truth.json").read_text())
            run = derive(load_spans(root / mode / f"{scenario}.otlp.json"))
            out[mode][scenario] = (run, truth)
    return out


def truth_usage(truth: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """(input, output, cached) tokens the server sent, per agent (by its system prompt)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for exchange in truth["exchanges"]:
        agent = exchange["system"].split("You are the ")[-1].split(".")[0].split(" ")[0]
        usage = exchange["usage"]
        totals[agent][0] += usage["prompt"]
        totals[agent][1] += usage["completion"]
        totals[agent][2] += usage["cached"] or 0
    return {agent: (i, o, c) for agent, (i, o, c) in totals.items()}


def derived_usage(run: RunTrace) -> dict[str, tuple[int, int, int]]:
    return {
        name: (s.usage.input_tokens, s.usage.output_tokens, s.usage.cached_input_tokens)
        for name, s in run.agents.items()
    }


def call_ids(truth: dict[str, Any]) -> list[str]:
    return [i for exchange in truth["exchanges"] for i in exchange["tool_call_ids"]]


@pytest.mark.parametrize("mode", MODES)
def test_handoff_run(recorded: Recorded, mode: str) -> None:
    run, truth = recorded[mode]["handoff"]
    assert derived_usage(run) == truth_usage(truth)
    assert derived_usage(run) == {"researcher": (950, 48, 384), "writer": (1290, 75, 512)}
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("researcher", "writer", "The research notes are ready.")
    ]
    assert run.handoffs[0].tool_call_id == call_ids(truth)[1]
    assert [(t.agent, t.name, t.tool_call_id) for t in run.tool_calls] == [
        ("researcher", "search", call_ids(truth)[0]),
        ("researcher", "handoff", call_ids(truth)[1]),
        ("writer", "word_count", call_ids(truth)[2]),
    ]
    assert run.tool_calls[2].output == "26"
    assert [(c.agent, c.finish_reason) for c in run.llm_calls] == [
        ("researcher", "tool_calls"),
        ("researcher", "tool_calls"),
        ("writer", "tool_calls"),
        ("writer", "stop"),
    ]
    assert run.status == "ok" and run.output == truth["answer"]
    assert run.issues == []


@pytest.mark.parametrize("mode", MODES)
def test_three_agent_chain(recorded: Recorded, mode: str) -> None:
    run, truth = recorded[mode]["chain"]
    assert derived_usage(run) == truth_usage(truth)
    assert derived_usage(run) == {
        "planner": (100, 10, 0),
        "solver": (500, 50, 0),
        "reviewer": (400, 40, 0),
    }
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("planner", "solver", "plan ready"),
        ("solver", "reviewer", "solved"),
    ]
    assert [(t.agent, t.name, t.arguments) for t in run.tool_calls] == [
        ("planner", "handoff", {"to_agent": "solver", "reason": "plan ready"}),
        ("solver", "add", {"a": 20, "b": 22}),
        ("solver", "handoff", {"to_agent": "reviewer", "reason": "solved"}),
    ]
    assert run.tool_calls[1].output == "42"
    assert run.output == "Reviewed: 42."


@pytest.mark.parametrize("mode", MODES)
def test_two_tools_in_one_turn(recorded: Recorded, mode: str) -> None:
    run, truth = recorded[mode]["two_tools"]
    assert [(t.name, t.tool_call_id, t.arguments, t.output) for t in run.tool_calls] == [
        ("add", call_ids(truth)[0], {"a": 2, "b": 3}, "5"),
        ("multiply", call_ids(truth)[1], {"a": 4, "b": 5}, "20"),
    ]
    usage = run.agents["calculator"].usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (300, 42, 64)
    # OpenLLMetry does not record reasoning tokens of a streamed call.
    assert usage.reasoning_tokens == (0 if mode == "openllmetry" else 7)
    assert usage.complete
    assert len(run.llm_calls) == 2  # once each, even when two instrumentations recorded it
    assert all(c.time_to_first_token_ns is not None for c in run.llm_calls)
    assert [m["role"] for m in run.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert run.output == "2+3=5 and 4*5=20."


@pytest.mark.parametrize("mode", MODES)
def test_tool_that_raises(recorded: Recorded, mode: str) -> None:
    run, _truth = recorded[mode]["tool_raises"]
    (tool,) = run.tool_calls
    assert (tool.name, tool.status, tool.output) == ("explode", "error", None)
    # OpenLLMetry keeps only the error's text (the raising tool's own span is never ended).
    expected = "tool exploded: bad input"
    assert tool.error == (expected if mode == "openllmetry" else f"RuntimeError: {expected}")
    assert run.agents["fragile"].errors == 1
    assert run.status == "ok" and run.output == "The tool failed."


@pytest.mark.parametrize("mode", [m for m in MODES if m != "openinference"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_messages_equal_the_openinference_derivation(
    recorded: Recorded, mode: str, scenario: str
) -> None:
    run, _ = recorded[mode][scenario]
    reference, _ = recorded["openinference"][scenario]
    assert run.messages == reference.messages
    assert run.input == reference.input
    assert [h.to_dict() | {"at": None} for h in run.handoffs] == [
        h.to_dict() | {"at": None} for h in reference.handoffs
    ]


@pytest.mark.parametrize("mode", ["mixed-genai", "mixed-openllmetry"])
def test_a_call_recorded_twice_counts_once(recorded: Recorded, mode: str) -> None:
    run, truth = recorded[mode]["handoff"]
    reference, _ = recorded["openinference"]["handoff"]
    assert len(run.llm_calls) == len(truth["exchanges"]) == 4
    assert run.usage.total_tokens == reference.usage.total_tokens == 2363


def test_without_content_capture_what_cannot_be_derived_is_said(recorded: Recorded) -> None:
    run, truth = recorded["genai-no-content"]["handoff"]
    assert derived_usage(run) == truth_usage(truth)  # tokens and agents need no content
    assert run.messages == [] and run.input is None and run.output is None
    assert [t.arguments for t in run.tool_calls] == [None, None, None]
    # The handoff is still seen: the handoff tool, then the next agent's activation.
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("researcher", "writer", None)
    ]
    assert run.issues == ["no_message_content"]
