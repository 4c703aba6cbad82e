"""A recorded OpenAI Agents SDK run derives without the SDK installed (tests/data/openai_agents,
made by tests/instrumented/record_openai_agents.py against the scripted model)."""

from __future__ import annotations

import json

from support.paths import DATA

from otel_bridge import derive, load_spans

DATA = DATA / "openai_agents"


def test_the_recorded_team_run() -> None:
    truth = json.loads((DATA / "team.truth.json").read_text())
    trace = derive(load_spans(DATA / "team.otlp.json"))
    asked = truth["tool_call_ids"]
    assert trace.labels["framework"] == "openai_agents"
    assert trace.output == truth["answer"] == "OTel is a CNCF project."
    assert [(h.from_agent, h.to_agent, h.tool_call_id) for h in trace.handoffs] == [
        ("researcher", "writer", asked[1])
    ]
    assert [(d.from_agent, d.to_agent, d.task) for d in trace.delegations] == [
        ("writer", "checker", "check it")
    ]
    assert [(t.agent, t.name) for t in trace.tool_calls] == [
        ("researcher", "search"),
        ("researcher", "transfer_to_writer"),
        ("writer", "ask_checker"),
    ]
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (300, 30)
    assert truth["usage"]["prompt"] == 300
    assert trace.issues == []


def test_a_recorded_streamed_run_on_chat_completions_keeps_its_answers() -> None:
    """``Runner.run_streamed`` on chat completions: the SDK records each streamed answer only
    as Responses objects in ``output.value`` (and asks for no usage)."""
    truth = json.loads((DATA / "team_streamed.truth.json").read_text())
    trace = derive(load_spans(DATA / "team_streamed.otlp.json"))
    asked = truth["tool_call_ids"]
    assert trace.output == truth["answer"] == "OTel is a CNCF project."
    assert [(c.agent, c.finish_reason) for c in trace.llm_calls] == [
        ("researcher", "tool_calls"),
        ("researcher", "tool_calls"),
        ("writer", "tool_calls"),
        ("checker", "stop"),
        ("writer", "stop"),
    ]
    answers = [m for m in trace.messages if m["role"] == "assistant"]
    assert [(m["agent"], m["content"]) for m in answers] == [
        ("researcher", ""),
        ("researcher", ""),
        ("writer", ""),
        ("checker", "looks right"),
        ("writer", "OTel is a CNCF project."),
    ]
    assert [[c["id"] for c in m.get("tool_calls", ())] for m in answers] == [
        [asked[0]],
        [asked[1]],
        [asked[2]],
        [],
        [],
    ]
    assert answers[0]["tool_calls"][0]["function"] == {
        "name": "search",
        "arguments": '{"query": "otel"}',
    }
    assert [(h.from_agent, h.to_agent, h.tool_call_id) for h in trace.handoffs] == [
        ("researcher", "writer", asked[1])
    ]
    # Only the checker, run unstreamed as a tool, reports tokens.
    assert (trace.usage.input_tokens, trace.usage.missing_calls) == (truth["usage"]["prompt"], 4)
    assert trace.issues == ["tokens_missing"]
