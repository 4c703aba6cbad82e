"""Real LlamaIndex agents, real OpenInference instrumentation, real OpenAI client -> RunTrace.

The only fake is the model: a scripted OpenAI-compatible server on 127.0.0.1 whose log is
the ground truth for tokens and tool calls.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from support import scenarios
from support.runs import traced, traced_run

from otel_bridge import RunTrace, Telemetry, derive, load_spans
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    demo_script,
    react_action,
    react_answer,
    scripted_openai_llm,
)


def sent_usage(server: ScriptedLLMServer, system_mark: str | None = None) -> tuple[int, int]:
    """Prompt and completion tokens the server really sent (optionally for one agent)."""
    prompt = completion = 0
    for exchange in server.log:
        system = next(
            (m["content"] for m in exchange.request_json["messages"] if m["role"] == "system"),
            "",
        )
        if exchange.usage_sent is None or (system_mark and system_mark not in str(system)):
            continue
        prompt += exchange.usage_sent.prompt
        completion += exchange.usage_sent.completion
    return prompt, completion


def tokens(trace: RunTrace, agent: str | None = None) -> tuple[int, int]:
    usage = trace.usage if agent is None else trace.agents[agent].usage
    return usage.input_tokens, usage.output_tokens


def assert_file_matches_memory(telemetry: Telemetry, otlp_file: Path, trace_id: str) -> None:
    telemetry.force_flush()
    from_file = derive(load_spans(otlp_file), trace_id=trace_id)
    from_memory = derive(telemetry.spans(trace_id))
    assert from_file.to_dict() == from_memory.to_dict()


async def test_function_agent_two_tools_in_one_turn(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    answer, trace = await traced_run(telemetry, scenarios.two_tools(llm))

    assert str(answer) == "2+3=5 and 4*5=20."
    assert trace.status == "ok" and trace.issues == []
    assert trace.input == "What is 2+3 and 4*5?" and trace.output == "2+3=5 and 4*5=20."
    assert tokens(trace) == sent_usage(llm) == (300, 42)
    assert trace.usage.cached_input_tokens == 64 and trace.usage.reasoning_tokens == 7
    assert trace.usage.total_tokens == 342 and trace.usage.complete
    assert trace.usage_by_model["gpt-4o-mini"].total_tokens == 342
    assert [c.usage.input_tokens for c in trace.llm_calls] == [120, 180]
    assert all(c.agent == "calculator" and c.model == "gpt-4o-mini" for c in trace.llm_calls)
    assert [c.finish_reason for c in trace.llm_calls] == ["tool_calls", "stop"]

    ids = llm.log[0].tool_call_ids
    assert [(t.name, t.arguments, t.output, t.tool_call_id) for t in trace.tool_calls] == [
        ("add", {"a": 2, "b": 3}, "5", ids[0]),
        ("multiply", {"a": 4, "b": 5}, "20", ids[1]),
    ]
    roles = [m["role"] for m in trace.messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant"]
    call_turn = trace.messages[2]
    assert call_turn["content"] == ""
    assert [c["id"] for c in call_turn["tool_calls"]] == list(ids)
    assert json.loads(call_turn["tool_calls"][1]["function"]["arguments"]) == {"a": 4, "b": 5}
    assert [m["tool_call_id"] for m in trace.messages[3:5]] == list(ids)
    assert [m["content"] for m in trace.messages[3:5]] == ["5", "20"]
    assert {m["agent"] for m in trace.messages} == {"calculator"}
    stats = trace.agents["calculator"]
    assert (stats.llm_calls, stats.tool_calls, stats.errors) == (2, 2, 0)
    assert_file_matches_memory(telemetry, otlp_file, trace.trace_id)


async def test_react_agent(llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path) -> None:
    llm.set_script(
        [
            Reply(content=react_action("add", {"a": 2, "b": 3}), usage=Usage(200, 20)),
            Reply(content=react_answer("The sum is 5."), usage=Usage(260, 15)),
        ]
    )
    agent = ReActAgent(
        name="reasoner", tools=[scenarios.add], llm=scripted_openai_llm(llm, include_usage=True)
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg="What is 2+3?"))

    assert "The sum is 5." in str(answer)
    assert trace.output == "The sum is 5."
    assert tokens(trace, "reasoner") == sent_usage(llm) == (460, 35)
    assert [(t.name, t.arguments, t.output) for t in trace.tool_calls] == [
        ("add", {"a": 2, "b": 3}, "5")
    ]
    contents = [m["content"] for m in trace.messages if m["role"] != "system"]
    assert contents[0] == "What is 2+3?"
    assert contents[1].startswith("Thought:") and "Action: add" in contents[1]
    assert contents[2] == "Observation: 5"
    assert "Answer: The sum is 5." in contents[3]
    assert len(contents) == 4, "a re-formatted reasoning step must not appear twice"
    assert_file_matches_memory(telemetry, otlp_file, trace.trace_id)


async def test_workflow_handoff_per_agent_tokens(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    script = demo_script()
    answer, trace = await traced_run(telemetry, scenarios.handoff(llm))

    assert str(answer) == script.answer == trace.output
    assert tokens(trace, "researcher") == sent_usage(llm, "You are the researcher.") == (950, 48)
    assert tokens(trace, "writer") == sent_usage(llm, "You are the writer.") == (1290, 75)
    assert trace.usage.cached_input_tokens == 384 + 512
    [handoff] = trace.handoffs
    assert (handoff.from_agent, handoff.to_agent) == ("researcher", "writer")
    assert handoff.reason == "The research notes are ready."
    assert handoff.tool_call_id == llm.log[1].tool_call_ids[0]
    assert [(t.agent, t.name) for t in trace.tool_calls] == [
        ("researcher", "search"),
        ("researcher", "handoff"),
        ("writer", "word_count"),
    ]
    handoff_args = trace.tool_calls[1].arguments
    assert handoff_args == {"to_agent": "writer", "reason": "The research notes are ready."}
    agents_roles = [(m["agent"], m["role"]) for m in trace.messages]
    assert agents_roles == [
        ("researcher", "system"),
        ("researcher", "user"),
        ("researcher", "assistant"),
        ("researcher", "tool"),
        ("researcher", "assistant"),
        ("researcher", "tool"),
        ("writer", "system"),
        ("writer", "assistant"),
        ("writer", "tool"),
        ("writer", "assistant"),
    ]
    assert trace.timings.per_agent_ns.keys() == {"researcher", "writer"}
    assert trace.timings.llm_ns > 0 and trace.timings.wall_ns >= trace.timings.llm_ns
    assert_file_matches_memory(telemetry, otlp_file, trace.trace_id)


async def test_three_agent_chain_two_handoffs(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    answer, trace = await traced_run(telemetry, scenarios.chain(llm))

    assert str(answer) == "Reviewed: 42."
    assert [(h.from_agent, h.to_agent, h.reason) for h in trace.handoffs] == [
        ("planner", "solver", "plan ready"),
        ("solver", "reviewer", "solved"),
    ]
    assert {name: tokens(trace, name) for name in trace.agents} == {
        "planner": (100, 10),
        "solver": (500, 50),
        "reviewer": (400, 40),
    }
    assert [(t.agent, t.name, t.output) for t in trace.tool_calls][1] == ("solver", "add", "42")
    assert trace.handoffs[0].at_ns < trace.handoffs[1].at_ns


async def test_tool_that_raises(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> None:
    answer, trace = await traced_run(telemetry, scenarios.tool_raises(llm))

    assert str(answer) == "The tool failed."
    assert trace.status == "ok"
    [tool] = trace.tool_calls
    assert tool.status == "error" and tool.error is not None
    assert "tool exploded: bad input" in tool.error
    assert trace.agents["fragile"].errors == 1
    tool_message = next(m for m in trace.messages if m["role"] == "tool")
    assert "tool exploded: bad input" in tool_message["content"]
    assert_file_matches_memory(telemetry, otlp_file, trace.trace_id)


async def test_llm_http_500(llm: ScriptedLLMServer, telemetry: Telemetry) -> None:
    llm.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("add", {"a": 1, "b": 1})], usage=Usage(40, 4)),
            Reply(status=500),
        ]
    )
    agent = FunctionAgent(
        name="unlucky", tools=[scenarios.add], llm=scripted_openai_llm(llm, include_usage=True)
    )
    error, trace = await traced_run(telemetry, lambda: agent.run(user_msg="1+1?"))

    assert isinstance(error, Exception)
    assert trace.status == "error"
    assert [c.status for c in trace.llm_calls] == ["ok", "error"]
    assert trace.agents["unlucky"].errors == 1
    assert trace.output is None
    # The failed call reported no usage: known tokens are kept, the gap is flagged.
    assert tokens(trace) == (40, 4)
    assert trace.usage.complete is False and trace.usage.missing_calls == 1
    assert trace.issues == ["tokens_missing"]
    assert [t.output for t in trace.tool_calls] == ["2"]
    assert any(m["role"] == "tool" and m["content"] == "2" for m in trace.messages)


@pytest.mark.parametrize(
    ("include_usage", "sent", "counted", "issues"),
    [
        (True, Usage(77, 33), (77, 33, True, 0), []),
        # Without usage in the stream: known tokens only, the gap flagged, never zero-filled.
        (False, None, (0, 0, False, 1), ["tokens_missing"]),
    ],
)
async def test_streaming_with_and_without_usage(
    llm: ScriptedLLMServer,
    telemetry: Telemetry,
    include_usage: bool,
    sent: Usage | None,
    counted: tuple[int, int, bool, int],
    issues: list[str],
) -> None:
    llm.set_script([Reply(content="Streaming " * 20, usage=Usage(77, 33), chunk_delay_s=0.002)])
    agent = FunctionAgent(
        name="streamer", tools=[], llm=scripted_openai_llm(llm, include_usage=include_usage)
    )
    answer, trace = await traced_run(telemetry, lambda: agent.run(user_msg="Stream please."))

    assert str(answer).strip() == ("Streaming " * 20).strip()
    [exchange] = llm.log
    assert exchange.streamed and exchange.usage_sent == sent
    [call] = trace.llm_calls
    assert call.time_to_first_token_ns is not None
    # A streaming span ends before the first token; the call lasts until its step ends.
    assert call.duration_ns >= call.time_to_first_token_ns
    usage = trace.usage
    assert (usage.input_tokens, usage.output_tokens, usage.complete, usage.missing_calls) == (
        counted
    )
    assert trace.issues == issues


async def test_two_runs_under_gather_are_separate(
    llm: ScriptedLLMServer, telemetry: Telemetry
) -> None:
    llm.set_script(
        ConversationRouter(
            {
                "RUN-A": [
                    Reply(
                        tool_calls=[ToolCallSpec("add", {"a": 1, "b": 2})],
                        usage=Usage(11, 1),
                        delay_s=0.02,
                    ),
                    Reply(content="A is 3", usage=Usage(12, 2)),
                ],
                "RUN-B": [
                    Reply(
                        tool_calls=[ToolCallSpec("multiply", {"a": 3, "b": 4})], usage=Usage(21, 3)
                    ),
                    Reply(content="B is 12", usage=Usage(22, 4), delay_s=0.02),
                ],
            }
        )
    )
    client = scripted_openai_llm(llm, include_usage=True)
    agent_a = FunctionAgent(name="alpha", tools=[scenarios.add], llm=client)
    agent_b = FunctionAgent(name="beta", tools=[scenarios.multiply], llm=client)
    (ans_a, id_a), (ans_b, id_b) = await asyncio.gather(
        traced(telemetry, lambda: agent_a.run(user_msg="RUN-A: 1+2")),
        traced(telemetry, lambda: agent_b.run(user_msg="RUN-B: 3*4")),
    )
    assert id_a != id_b
    run_a, run_b = telemetry.run_trace(id_a), telemetry.run_trace(id_b)
    assert (str(ans_a), run_a.output, tokens(run_a)) == ("A is 3", "A is 3", (23, 3))
    assert (str(ans_b), run_b.output, tokens(run_b)) == ("B is 12", "B is 12", (43, 7))
    assert list(run_a.agents) == ["alpha"] and list(run_b.agents) == ["beta"]
    assert [t.name for t in run_a.tool_calls] == ["add"]
    assert [t.name for t in run_b.tool_calls] == ["multiply"]
