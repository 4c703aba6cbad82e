"""smolagents runs recorded by OpenTelemetry's own GenAI instrumentations derive as far as their
spans say: each recorded in a process of its own (tests/instrumented/record_smolagents_genai.py) and
checked against the scripted server's ground truth.

``opentelemetry-instrumentation-genai-smolagents`` writes an ``invoke_agent`` span per agent run
and leaves the OpenAI-backed model's calls to the OpenAI client's GenAI instrumentation; neither
writes tool spans. So: LLM calls, tokens (cached included), agents, the managed agent's
delegation and the messages (the history's "Calling tools"/"Observation" wire form turned back
into tool calls and results) are there; tool calls with their timings are not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from support.paths import TESTS

from otel_bridge import RunTrace, derive, load_spans

RECORDER = TESTS / "instrumented" / "record_smolagents_genai.py"
Recorded = dict[str, dict[str, tuple[RunTrace, dict[str, Any]]]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """mode -> scenario -> (the derived run, the server's ground truth)."""
    pytest.importorskip("opentelemetry.instrumentation.genai.smolagents")
    out: Recorded = {}
    root = tmp_path_factory.mktemp("smolagents-genai")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    for mode in ("genai", "genai-no-content"):
        done = subprocess.run(
            [sys.executable, str(RECORDER), mode, str(root / mode)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out[mode] = {}
        for scenario in ("one_tool", "managed", "two_turns"):
            truth = json.loads((root / mode / f"{scenario}.truth.json").read_text())
            out[mode][scenario] = (derive(load_spans(root / mode / f"{scenario}.otlp.json")), truth)
    return out


def sent(truth: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [
        (c["usage_sent"]["prompt"], c["usage_sent"]["completion"], c["usage_sent"]["cached"] or 0)
        for c in truth["calls"]
    ]


@pytest.mark.parametrize("mode", ["genai", "genai-no-content"])
@pytest.mark.parametrize("scenario", ["one_tool", "managed", "two_turns"])
def test_calls_tokens_and_agents(recorded: Recorded, mode: str, scenario: str) -> None:
    run, truth = recorded[mode][scenario]
    calls = [
        (c.usage.input_tokens, c.usage.output_tokens, c.usage.cached_input_tokens)
        for c in run.llm_calls
    ]
    assert calls == sent(truth)
    assert run.labels["framework"] == "smolagents"
    assert run.tool_calls == []  # no instrumentation writes tool spans here
    expected = ["manager", "researcher"] if scenario == "managed" else ["assistant"]
    assert list(run.agents) == expected
    if scenario == "managed":
        assert [c.agent for c in run.llm_calls] == [
            "manager",
            "researcher",
            "researcher",
            "manager",
        ]
        (delegation,) = run.delegations
        assert (delegation.from_agent, delegation.to_agent) == ("manager", "researcher")
        # the id and the task are in the manager's tool call: there only with content
        with_content = mode == "genai"
        call_id = truth["calls"][0]["tool_call_ids"][0]
        assert delegation.tool_call_id == (call_id if with_content else None)
        assert delegation.task == ("find facts about otel" if with_content else None)


def test_messages_with_content(recorded: Recorded) -> None:
    run, truth = recorded["genai"]["managed"]
    delegate, search, researcher_answer, answer = (
        i for c in truth["calls"] for i in c["tool_call_ids"]
    )
    shape = [
        (m["agent"], m["role"], [c["id"] for c in m.get("tool_calls", ())] or m.get("tool_call_id"))
        for m in run.messages
    ]
    assert shape == [
        ("manager", "system", None),
        ("manager", "user", None),
        ("manager", "assistant", [delegate]),
        ("researcher", "system", None),
        ("researcher", "user", None),
        ("researcher", "assistant", [search]),
        ("researcher", "tool", search),
        ("researcher", "assistant", [researcher_answer]),
        ("manager", "tool", delegate),
        ("manager", "assistant", [answer]),
    ]
    assert run.issues == []


def test_without_content_no_messages_and_it_says_so(recorded: Recorded) -> None:
    run, _ = recorded["genai-no-content"]["one_tool"]
    assert run.messages == [] and "no_message_content" in run.issues
