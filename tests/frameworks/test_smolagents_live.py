"""Live smolagents runs (real agents, OpenInference's instrumentor, smolagents' OpenAI client)
derived and checked against what the scripted server received and sent."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from support import smol_scenarios as sc

from otel_bridge import RunTrace, Telemetry
from otel_bridge.maseval_adapter import SmolAgentAdapter
from otel_bridge.scripted import (
    ConversationRouter,
    Exchange,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
)


@pytest.fixture(scope="module")
def telemetry() -> Iterator[Telemetry]:
    with Telemetry(frameworks=["smolagents"], service_name="smolagents-live") as telemetry:
        yield telemetry


def live(telemetry: Telemetry, scenario: sc.Scenario) -> tuple[RunTrace, list[Exchange], Any]:
    """Run a scenario under a root span of ours: its RunTrace, the server's log, the answer."""
    with ScriptedLLMServer(list(scenario.replies)) as server:
        server.stream_usage = scenario.stream_usage
        with telemetry.start_run(scenario.name) as span:
            answer = scenario.run(server)
        log = list(server.log)
    return telemetry.run_trace(f"{span.get_span_context().trace_id:032x}"), log, answer


def sent(log: list[Exchange]) -> list[tuple[int, int] | None]:
    return [
        None if e.usage_sent is None else (e.usage_sent.prompt, e.usage_sent.completion)
        for e in log
    ]


def per_call(trace: RunTrace) -> list[tuple[int, int] | None]:
    return [
        (c.usage.input_tokens, c.usage.output_tokens) if c.usage.complete else None
        for c in trace.llm_calls
    ]


def test_one_tool_call(telemetry: Telemetry) -> None:
    trace, log, answer = live(telemetry, sc.ONE_TOOL)

    assert answer == trace.output == "OTel is a CNCF project."
    assert per_call(trace) == sent(log) == [(120, 12), (160, 9)]
    cached = [e.usage_sent.cached if e.usage_sent else None for e in log]
    assert cached == [None, 64] and trace.usage.cached_input_tokens == 64
    (search_id,) = log[0].tool_call_ids
    search = trace.tool_calls[0]
    assert (search.name, search.tool_call_id, search.arguments) == (
        "search",
        search_id,
        {"query": "otel"},
    )
    assert search.output == sc.SEARCH_RESULT and search.agent == "assistant"
    result = next(m for m in trace.messages if m.get("tool_call_id") == search_id)
    assert result["content"] == sc.SEARCH_RESULT
    assert sum(bool(m.get("tool_calls")) for m in trace.messages) == 2  # no re-sent copy
    assert trace.issues == [] and trace.labels["framework"] == "smolagents"


def test_parallel_tool_calls(telemetry: Telemetry) -> None:
    trace, log, _ = live(telemetry, sc.PARALLEL)

    search_id, count_id = log[0].tool_call_ids
    assert {t.tool_call_id: t.output for t in trace.tool_calls[:2]} == {
        search_id: sc.SEARCH_RESULT,
        count_id: "3",
    }
    results = [m["tool_call_id"] for m in trace.messages if m["role"] == "tool"]
    assert results[:2] == [search_id, count_id]
    assert per_call(trace) == sent(log)


def test_a_tool_that_raises(telemetry: Telemetry) -> None:
    trace, log, answer = live(telemetry, sc.TOOL_ERROR)

    (flaky_id,) = log[0].tool_call_ids
    flaky = trace.tool_calls[0]
    assert (flaky.tool_call_id, flaky.status) == (flaky_id, "error")
    assert "weather service down for Paris" in (flaky.error or "")
    assert trace.agents["assistant"].errors == 1
    assert trace.status == "ok" and answer == trace.output == "The weather service is down."
    assert per_call(trace) == sent(log)


@pytest.mark.parametrize("scenario", [sc.STREAMED, sc.STREAMED_NO_USAGE], ids=lambda s: s.name)
def test_streaming_with_and_without_usage(telemetry: Telemetry, scenario: sc.Scenario) -> None:
    trace, log, answer = live(telemetry, scenario)

    assert all(e.streamed for e in log)
    assert per_call(trace) == sent(log)
    if scenario.stream_usage:
        assert sent(log) == [(120, 12), (160, 9)] and trace.usage.complete
    else:
        assert sent(log) == [None, None]
        assert trace.usage.missing_calls == 2 and "tokens_missing" in trace.issues
    assert answer == trace.output == "OTel is a CNCF project."
    assert [t.tool_call_id for t in trace.tool_calls] == [i for e in log for i in e.tool_call_ids]


def test_manager_with_a_managed_agent(telemetry: Telemetry) -> None:
    trace, log, answer = live(telemetry, sc.MANAGED)

    assert answer == trace.output == "Done: OTel is CNCF."
    assert per_call(trace) == sent(log)
    assert [c.agent for c in trace.llm_calls] == ["manager", "researcher", "researcher", "manager"]
    usage = {
        name: (a.usage.input_tokens, a.usage.output_tokens) for name, a in trace.agents.items()
    }
    assert usage == {"manager": (300 + 380, 15 + 9), "researcher": (200 + 240, 10 + 7)}
    (delegation,) = trace.delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "manager",
        "researcher",
        "find facts about otel",
    )
    assert delegation.tool_call_id == log[0].tool_call_ids[0]
    assert trace.handoffs == []


def test_two_turns(telemetry: Telemetry) -> None:
    trace, log, answer = live(telemetry, sc.TWO_TURNS)

    assert answer == trace.output == "The CNCF hosts it."
    assert per_call(trace) == sent(log) == [(120, 12), (160, 9), (210, 8)]
    users = [m["content"] for m in trace.messages if m["role"] == "user"]
    assert users == ["New task:\nWhat is OpenTelemetry?", "New task:\nAnd who hosts it?"]


def test_24_concurrent_runs_on_6_threads_share_one_telemetry(telemetry: Telemetry) -> None:
    markers = [f"question {i:02d}" for i in range(24)]
    router = ConversationRouter(
        {
            marker: [
                Reply(
                    tool_calls=[ToolCallSpec("search", {"query": marker})],
                    usage=Usage(100 + i, 10),
                ),
                sc.answer(f"answer {i:02d}", Usage(200 + i, 5)),
            ]
            for i, marker in enumerate(markers)
        }
    )
    with ScriptedLLMServer(router) as server:
        adapters = [SmolAgentAdapter(sc.agent(server), f"a{i}", telemetry) for i in range(24)]
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(SmolAgentAdapter.run, adapters, markers))
        log = list(server.log)

    assert answers == [f"answer {i:02d}" for i in range(24)]
    assert len(log) == 48
    for i, (adapter, marker) in enumerate(zip(adapters, markers, strict=True)):
        trace = adapter.last_run
        assert trace is not None and trace.issues == []
        assert (trace.usage.input_tokens, trace.usage.output_tokens) == (300 + 2 * i, 15)
        mine = [e for e in log if marker in str(e.messages[1].get("content"))]
        assert [t.tool_call_id for t in trace.tool_calls] == [
            x for e in mine for x in e.tool_call_ids
        ]
        assert {m["content"] for m in trace.messages if m["role"] == "user"} == {
            f"New task:\n{marker}"
        }
        assert trace.tool_calls[0].arguments == {"query": marker}
    assert len({a.last_run.trace_id for a in adapters if a.last_run}) == 24
