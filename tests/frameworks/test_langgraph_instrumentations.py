"""LangGraph runs recorded by OpenTelemetry's own GenAI LangChain instrumentation
(``opentelemetry-instrumentation-genai-langchain``, in a process of its own:
tests/instrumented/record_langgraph_genai.py) derive as far as their spans say, checked against
the scripted server's ground truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from support.paths import TESTS

from otel_bridge import RunTrace, derive, load_spans

RECORDER = TESTS / "instrumented" / "record_langgraph_genai.py"
PROMPTS = {"You research.": "researcher", "You write.": "writer", "You count.": "counter"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunTrace, Any]]:
    out = tmp_path_factory.mktemp("genai-langchain")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(RECORDER), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        name: (
            derive(load_spans(out / f"{name}.otlp.json")),
            json.loads((out / f"{name}.truth.json").read_text()),
        )
        for name in ("one_tool", "parallel_tools", "swarm")
    }


def per_agent(truth: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    totals: dict[str, tuple[int, int, int]] = {}
    for exchange in truth:
        agent = PROMPTS[exchange["system"]]
        before = totals.get(agent, (0, 0, 0))
        prompt, completion, cached = exchange["usage"]
        totals[agent] = (before[0] + prompt, before[1] + completion, before[2] + cached)
    return totals


@pytest.mark.parametrize("name", ["one_tool", "parallel_tools", "swarm"])
def test_tokens_tools_and_messages_per_agent_match_the_server(
    recorded: dict[str, tuple[RunTrace, Any]], name: str
) -> None:
    run, truth = recorded[name]
    assert run.status == "ok" and run.issues == []
    assert run.labels["framework"] == "langgraph"
    assert {
        agent: (s.usage.input_tokens, s.usage.output_tokens, s.usage.cached_input_tokens)
        for agent, s in run.agents.items()
    } == per_agent(truth)
    ids = [i for exchange in truth for i in exchange["tool_call_ids"]]
    ran = [t.tool_call_id or "" for t in run.tool_calls]  # in the order the tools started
    # Parallel tools run on threads: either may start first.
    assert (sorted(ran) if name == "parallel_tools" else ran) == (
        sorted(ids) if name == "parallel_tools" else ids
    )
    results = [m["tool_call_id"] for m in run.messages if m["role"] == "tool"]
    assert results == ids
    assert run.output == "OTel is a CNCF project."
    assert all(isinstance(t.arguments, dict) for t in run.tool_calls)


def test_the_swarm_handoff_is_read_from_the_transfer_tool(
    recorded: dict[str, tuple[RunTrace, Any]],
) -> None:
    run, truth = recorded["swarm"]
    (handoff,) = run.handoffs
    assert (handoff.from_agent, handoff.to_agent) == ("researcher", "writer")
    assert handoff.tool_call_id == truth[1]["tool_call_ids"][0]
    transfer = run.tool_calls[1]
    assert (transfer.name, transfer.output) == (
        "transfer_to_writer",
        "Successfully transferred to writer",
    )
