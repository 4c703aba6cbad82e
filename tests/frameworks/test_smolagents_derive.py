"""smolagents runs recorded as OTLP JSON (``record_smolagents.py``) -> RunTrace, without smolagents.

The expected values are the scripted server's ground truth, recorded beside the spans
(``<name>.truth.json``: usage sent and tool call ids per model call), and literals.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.paths import DATA

from otel_bridge import RunTrace, SpanRecord, derive, load_spans
from otel_bridge.frameworks import SMOLAGENTS

DATA = DATA / "smolagents"
SPAN = SpanRecord(1, 2, None, "OpenAIModel.generate", 0, 1, scope=SMOLAGENTS.scopes[0])


def recorded(name: str) -> tuple[RunTrace, dict[str, Any]]:
    trace = derive(load_spans(DATA / f"{name}.otlp.json"))
    truth = json.loads((DATA / f"{name}.truth.json").read_text())
    return trace, truth


def sent(truth: dict[str, Any]) -> list[tuple[int, int]]:
    return [(c["usage_sent"]["prompt"], c["usage_sent"]["completion"]) for c in truth["calls"]]


def ids(truth: dict[str, Any]) -> list[str]:
    return [i for call in truth["calls"] for i in call["tool_call_ids"]]


def shape(trace: RunTrace) -> list[tuple[str | None, str, Any]]:
    """(agent, role, tool call names or the tool result's call id) of each message."""
    out = []
    for m in trace.messages:
        calls = [c["function"]["name"] for c in m.get("tool_calls", ())]
        out.append((m["agent"], m["role"], calls or m.get("tool_call_id")))
    return out


def test_one_tool_call() -> None:
    trace, truth = recorded("one_tool")
    search_id, answer_id = ids(truth)
    answer = "OTel is a CNCF project."

    assert trace.status == "ok" and trace.issues == []
    assert trace.labels["framework"] == "smolagents"
    assert trace.input == "What is OpenTelemetry?"  # the task, not "New task:\\n..." around it
    assert trace.output == truth["answer"] == "OTel is a CNCF project."
    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (280, 21)
    # cached tokens: read from the raw response smolagents keeps (its spans have no attribute)
    cached = [c["usage_sent"]["cached"] for c in truth["calls"]]
    assert [c.usage.cached_input_tokens for c in trace.llm_calls] == [0, 64]
    assert cached == [None, 64] and trace.usage.cached_input_tokens == 64
    assert [c.agent for c in trace.llm_calls] == ["assistant", "assistant"]
    assert [(t.agent, t.name, t.tool_call_id, t.arguments, t.output) for t in trace.tool_calls] == [
        ("assistant", "search", search_id, {"query": "otel"}, "OpenTelemetry is a CNCF project."),
        ("assistant", "final_answer", answer_id, {"answer": "OTel is a CNCF project."}, answer),
    ]
    # The re-sent "Calling tools:" / "Observation:" history is the same turn, not a new one.
    assert shape(trace) == [
        ("assistant", "system", None),
        ("assistant", "user", None),
        ("assistant", "assistant", ["search"]),
        ("assistant", "tool", search_id),
        ("assistant", "assistant", ["final_answer"]),
        ("assistant", "tool", answer_id),
    ]
    call = trace.messages[2]["tool_calls"][0]
    assert call == {
        "id": search_id,
        "type": "function",
        "function": {"name": "search", "arguments": '{"query": "otel"}'},
    }
    assert trace.messages[3]["content"] == "OpenTelemetry is a CNCF project."
    assert trace.messages[3]["name"] == "search"
    assert trace.delegations == [] and trace.handoffs == []
    assert list(trace.agents) == ["assistant"] and trace.agents["assistant"].llm_calls == 2


def test_parallel_tool_calls_each_get_their_id_and_result() -> None:
    trace, truth = recorded("parallel")
    search_id, count_id, answer_id = ids(truth)

    assert [(t.name, t.tool_call_id, t.output) for t in trace.tool_calls] == [
        ("search", search_id, "OpenTelemetry is a CNCF project."),
        ("word_count", count_id, "3"),
        ("final_answer", answer_id, "CNCF; 3 words."),
    ]
    tool_results = [
        (m["tool_call_id"], m["content"]) for m in trace.messages if m["role"] == "tool"
    ]
    assert tool_results == [
        (search_id, "OpenTelemetry is a CNCF project."),
        (count_id, "3"),
        (answer_id, "CNCF; 3 words."),
    ]
    assert len(trace.messages) == 7  # system, user, 2 calls + 2 results, answer call + result
    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    assert trace.issues == []  # word_count's int output, recorded as an int, is its text


def test_a_raising_tool_is_an_error_and_the_run_goes_on() -> None:
    trace, truth = recorded("tool_error")
    flaky_id, _answer_id = ids(truth)

    flaky = trace.tool_calls[0]
    assert (flaky.name, flaky.tool_call_id, flaky.status) == ("flaky", flaky_id, "error")
    assert flaky.error == "smol_scenarios.ToolFailed: weather service down for Paris"
    assert flaky.output is None and flaky.arguments == {"city": "Paris"}
    assert trace.agents["assistant"].errors == 1
    assert trace.status == "ok" and trace.output == "The weather service is down."
    # smolagents re-sends the failure as text with no call: kept as the user message it was sent as
    error_turn = [m for m in trace.messages if m["role"] == "user"][1]
    assert error_turn["content"].startswith("Error:\nError executing tool 'flaky'")
    assert not any(m["role"] in ("tool-call", "tool-response") for m in trace.messages)


def test_streamed_calls_with_usage() -> None:
    trace, truth = recorded("streamed")

    assert all(c["streamed"] for c in truth["calls"])
    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    assert trace.usage.complete and trace.issues == []
    # generate_stream's span ends with its stream: the call is not stretched to its step's end
    tool_start = min(t.start_ns for t in trace.tool_calls)
    assert trace.llm_calls[0].end_ns <= tool_start


def test_streamed_calls_without_usage_are_unknown_not_zero() -> None:
    trace, truth = recorded("streamed_no_usage")

    assert [c["usage_sent"] for c in truth["calls"]] == [None, None]
    assert not trace.usage.complete and trace.usage.missing_calls == 2
    assert all(not c.usage.complete for c in trace.llm_calls)
    assert "tokens_missing" in trace.issues
    assert trace.output == "OTel is a CNCF project."


def test_managed_agent_is_a_delegation_with_the_managers_call() -> None:
    trace, truth = recorded("managed")
    delegate_id, search_id, researcher_answer_id, answer_id = ids(truth)

    assert [c.agent for c in trace.llm_calls] == ["manager", "researcher", "researcher", "manager"]
    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (1120, 41)
    manager, researcher = trace.agents["manager"], trace.agents["researcher"]
    assert (manager.usage.input_tokens, manager.usage.output_tokens) == (680, 24)
    assert (researcher.usage.input_tokens, researcher.usage.output_tokens) == (440, 17)
    assert (manager.usage.cached_input_tokens, researcher.usage.cached_input_tokens) == (128, 0)
    assert truth["calls"][3]["usage_sent"]["cached"] == 128
    assert [d.to_dict() | {"at": None} for d in trace.delegations] == [
        {
            "from": "manager",
            "to": "researcher",
            "task": "find facts about otel",
            "at": None,
            "tool_call_id": delegate_id,
        }
    ]
    assert trace.handoffs == []
    assert [(t.agent, t.name, t.tool_call_id) for t in trace.tool_calls] == [
        ("researcher", "search", search_id),
        ("researcher", "final_answer", researcher_answer_id),
        ("manager", "final_answer", answer_id),
    ]
    assert shape(trace) == [
        ("manager", "system", None),
        ("manager", "user", None),
        ("manager", "assistant", ["researcher"]),
        ("researcher", "system", None),
        ("researcher", "user", None),
        ("researcher", "assistant", ["search"]),
        ("researcher", "tool", search_id),
        ("researcher", "assistant", ["final_answer"]),
        ("researcher", "tool", researcher_answer_id),
        ("manager", "tool", delegate_id),
        ("manager", "assistant", ["final_answer"]),
        ("manager", "tool", answer_id),
    ]
    result = trace.messages[9]
    said = "Here is the final answer from your managed agent 'researcher':\nOTel is CNCF."
    assert result["content"] == said
    assert result["name"] == "researcher"
    assert trace.output == "Done: OTel is CNCF."


def test_two_runs_of_one_agent_in_one_trace() -> None:
    trace, truth = recorded("two_turns")

    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    users = [m["content"] for m in trace.messages if m["role"] == "user"]
    assert users == ["New task:\nWhat is OpenTelemetry?", "New task:\nAnd who hosts it?"]
    assert sum(m["role"] == "system" for m in trace.messages) == 1
    assert trace.output == "The CNCF hosts it."  # the last run's answer


def test_max_steps_answer_call_is_counted() -> None:
    trace, truth = recorded("max_steps")

    assert [(c.usage.input_tokens, c.usage.output_tokens) for c in trace.llm_calls] == sent(truth)
    assert truth["calls"][1]["system_start"].find("An agent tried to answer") >= 0
    assert [c.agent for c in trace.llm_calls] == ["assistant", "assistant"]
    # The answer smolagents forces after the last step is text, not a final_answer call.
    assert [c.finish_reason for c in trace.llm_calls] == ["tool_calls", "stop"]
    assert trace.output == "OTel is a CNCF project, as far as I got."
    systems = [m["content"] for m in trace.messages if m["role"] == "system"]
    assert len(systems) == 2 and systems[1].startswith("An agent tried to answer a user query")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {
                "role": "tool-call",
                "content": "Calling tools:\n[{'id': 'c1', 'type': 'function', 'function': "
                "{'name': 'f', 'arguments': {'x': 1, 'y': 'é'}}}]",
            },
            [
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"x": 1, "y": "é"}'},
                        }
                    ],
                }
            ],
        ),
        (
            {"role": "tool-call", "content": "Calling tools:\n[not a python literal"},
            [{"role": "assistant", "content": "Calling tools:\n[not a python literal"}],
        ),
        (
            {"role": "tool-response", "content": "Observation:\norphan"},
            [{"role": "user", "content": "Observation:\norphan"}],
        ),
    ],
)
def test_resent_history_forms(message: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert SMOLAGENTS.refine_messages(SPAN, [message]) == expected


def test_parallel_observations_that_do_not_split_are_left_to_the_tool_spans() -> None:
    calls = (
        "Calling tools:\n[{'id': 'a', 'type': 'function', 'function': {'name': 'f', "
        "'arguments': {}}}, {'id': 'b', 'type': 'function', 'function': {'name': 'g', "
        "'arguments': {}}}]"
    )
    refined = SMOLAGENTS.refine_messages(
        SPAN,
        [
            {"role": "assistant", "content": "Let me look."},
            {"role": "tool-call", "content": calls},
            {"role": "tool-response", "content": "Observation:\none\ntwo\nthree"},
        ],
    )
    assert refined == [
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ],
        }
    ]
