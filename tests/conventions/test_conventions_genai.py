"""GenAI-convention and OpenLLMetry reading rules, one at a time, on hand-built records."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from otel_bridge import derive
from otel_bridge.conventions import genai_attributes as g
from otel_bridge.spans import SpanEvent, SpanRecord

TRACE = 0xABC
MS = 1_000_000


def span(
    span_id: int,
    parent: int | None,
    name: str,
    start_ms: float,
    end_ms: float,
    attributes: dict[str, Any] | None = None,
    status: str = "UNSET",
    status_message: str = "",
    events: tuple[SpanEvent, ...] = (),
) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id,
        parent_id=parent,
        name=name,
        start_ns=int(start_ms * MS),
        end_ns=int(end_ms * MS),
        status=status,  # type: ignore[arg-type]
        status_message=status_message,
        attributes=MappingProxyType(attributes or {}),
        events=events,
    )


def chat(span_id: int, parent: int, start_ms: float, end_ms: float, **extra: Any) -> SpanRecord:
    attributes = {
        g.OPERATION: "chat",
        g.PROVIDER: "openai",
        g.REQUEST_MODEL: "gpt-4o-mini",
        g.INPUT_TOKENS: 100,
        g.OUTPUT_TOKENS: 10,
        **extra,
    }
    return span(span_id, parent, "chat gpt-4o-mini", start_ms, end_ms, attributes)


def agent(
    span_id: int, parent: int | None, name: str, start_ms: float, end_ms: float
) -> SpanRecord:
    attributes = {g.OPERATION: "invoke_agent", g.AGENT_NAME: name}
    return span(span_id, parent, f"invoke_agent {name}", start_ms, end_ms, attributes)


def test_time_to_first_chunk_and_finish_reason_in_openai_words() -> None:
    run = derive(
        [
            agent(1, None, "solo", 0, 100),
            chat(2, 1, 10, 90, **{g.TIME_TO_FIRST_CHUNK: 0.025, g.FINISH_REASONS: ("tool_call",)}),
        ]
    )
    (call,) = run.llm_calls
    assert call.time_to_first_token_ns == 25 * MS
    assert call.finish_reason == "tool_calls"
    assert call.duration_ns == 80 * MS  # a GenAI chat span lasts as long as the stream
    assert call.agent == "solo"


def test_invoke_agent_spans_are_the_agent_time_when_there_are_no_finer_steps() -> None:
    run = derive(
        [
            span(1, None, "invoke_workflow team", 0, 300, {g.OPERATION: "invoke_workflow"}),
            agent(2, 1, "a", 0, 100),
            chat(3, 2, 10, 40),
            agent(4, 1, "b", 120, 300),
            chat(5, 4, 150, 200),
        ]
    )
    assert run.timings.per_agent_ns == {"a": 100 * MS, "b": 180 * MS}
    assert [c.agent for c in run.llm_calls] == ["a", "b"]


def test_a_failed_tool_reads_as_type_and_message_without_an_exception_event() -> None:
    tool = span(
        3,
        1,
        "execute_tool explode",
        10,
        20,
        {
            g.OPERATION: "execute_tool",
            g.TOOL_NAME: "explode",
            g.TOOL_CALL_ID: "call_1",
            g.TOOL_CALL_ARGUMENTS: '{"reason": "x"}',
            g.TOOL_CALL_RESULT: "tool exploded: x",
            g.ERROR_TYPE: "RuntimeError",
        },
        status="ERROR",
        status_message="tool exploded: x",
    )
    run = derive([agent(1, None, "solo", 0, 100), chat(2, 1, 0, 5), tool])
    (call,) = run.tool_calls
    assert (call.error, call.output, call.arguments) == (
        "RuntimeError: tool exploded: x",
        None,
        {"reason": "x"},
    )


def test_a_run_whose_last_model_call_failed_is_an_error_even_if_no_root_says_so() -> None:
    failed = span(3, 1, "openai.chat", 50, 60, {g.OPERATION: "chat"}, status="ERROR")
    run = derive([span(1, None, "Agent.workflow", 0, 100), chat(2, 1, 0, 10), failed])
    assert run.status == "error"
    assert run.output is None


def test_openllmetry_tasks_carry_the_agent_their_earlier_siblings_named() -> None:
    def task(
        span_id: int, start: float, end: float, output: Any = None, **extra: Any
    ) -> SpanRecord:
        attributes: dict[str, Any] = {g.TRACELOOP_SPAN_KIND: "task", **extra}
        if output is not None:
            attributes[g.TRACELOOP_OUTPUT] = json.dumps(output)
        return span(span_id, 1, "AgentWorkflow.task", start, end, attributes)

    tool_output = {
        "tool_id": "call_7",
        "tool_kwargs": {"to_agent": "writer", "reason": "ready"},
        "tool_output": {"blocks": [{"block_type": "text", "text": "Agent writer is now"}]},
    }
    spans = [
        span(1, None, "AgentWorkflow.workflow", 0, 100, {g.TRACELOOP_SPAN_KIND: "workflow"}),
        task(2, 1, 2, {"input": [], "current_agent_name": "researcher"}),
        task(3, 3, 20),  # run_agent_step: no output when streaming
        chat(4, 3, 4, 19),
        task(
            5,
            21,
            25,
            tool_output,
            **{"tool.name": "handoff", "tool.arguments": json.dumps(tool_output["tool_kwargs"])},
        ),
        task(6, 26, 27, {"input": [], "current_agent_name": "writer"}),
        task(7, 28, 60),
        chat(8, 7, 30, 59),
    ]
    run = derive(spans)
    assert [c.agent for c in run.llm_calls] == ["researcher", "writer"]
    assert [(t.agent, t.name, t.tool_call_id, t.output) for t in run.tool_calls] == [
        ("researcher", "handoff", "call_7", "Agent writer is now")
    ]
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("researcher", "writer", "ready")
    ]


def test_a_transfer_target_names_the_handoff_even_for_another_tool_name() -> None:
    transfer = span(
        3,
        2,
        "execute_tool transfer_to_writer writer",
        10,
        20,
        {
            g.OPERATION: "execute_tool",
            g.TOOL_NAME: "transfer_to_writer",
            g.TRANSFER_TARGET_NAME: "writer",
            g.TRANSFER_MODE: "pass_control",
        },
    )
    spans = [
        span(1, None, "invoke_workflow team", 0, 100, {g.OPERATION: "invoke_workflow"}),
        agent(2, 1, "researcher", 0, 25),
        chat(4, 2, 1, 9),
        transfer,
        agent(5, 1, "writer", 30, 100),
        chat(6, 5, 31, 90),
    ]
    run = derive(spans)
    assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]


def test_openllmetrys_non_streaming_reasoning_tokens_are_counted() -> None:
    # OpenLLMetry writes a non-streamed call's reasoning tokens under its own name only.
    openllmetry = {g.REASONING_TOKENS_OPENLLMETRY: 7}
    both = {g.REASONING_TOKENS: 5, g.REASONING_TOKENS_OPENLLMETRY: 7}
    for extra, expected in ((openllmetry, 7), (both, 5), ({}, 0)):
        run = derive([agent(1, None, "solo", 0, 100), chat(2, 1, 10, 90, **extra)])
        usage = run.usage
        assert (usage.output_tokens, usage.reasoning_tokens) == (10, expected), extra
        assert run.agents["solo"].usage.reasoning_tokens == expected
