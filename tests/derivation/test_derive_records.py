"""derive() on hand-built records: each rule of the README's "What the spans get wrong"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes
from support.fresh_prices import prices_not_memoised
from support.records import MS, TraceBuilder, assistant, handoff_trace, sys, user

from otel_bridge import derive, derive_all
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.spans import SpanEvent

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

DESIGN_KEYS = {
    "trace_id",
    "status",
    "input",
    "output",
    "agents",
    "usage",
    "handoffs",
    "messages",
    "llm_calls",
    "tool_calls",
    "timings",
    "issues",
}


def test_handoff_run_messages_agents_tokens() -> None:
    trace = derive(handoff_trace().spans)
    assert trace.to_dict().keys() >= DESIGN_KEYS
    assert [(m["agent"], m["role"], m["content"]) for m in trace.messages] == [
        ("researcher", "system", "You research."),
        ("researcher", "user", "Brief me."),
        ("researcher", "assistant", ""),
        ("researcher", "tool", "notes"),
        ("researcher", "assistant", ""),
        (
            "researcher",
            "tool",
            "Agent writer is now handling the request due to the following reason: ready.",
        ),
        ("writer", "system", "You write."),
        ("writer", "assistant", "The brief."),
    ]
    assert len(trace.llm_calls) == 3, "_prepare_chat_with_tools is not a model call"
    assert {n: s.usage.input_tokens for n, s in trace.agents.items()} == {
        "researcher": 250,
        "writer": 300,
    }
    assert trace.usage.total_tokens == 250 + 300 + 22 + 30
    [h] = trace.handoffs
    assert (h.from_agent, h.to_agent, h.reason, h.tool_call_id) == (
        "researcher",
        "writer",
        "ready",
        "c2",
    )
    assert h.at_ns == 27 * MS
    handoff_tool = trace.tool_calls[1]
    assert handoff_tool.arguments == {"to_agent": "writer", "reason": "ready"}, "ctx repr dropped"
    assert [t.agent for t in trace.tool_calls] == ["researcher", "researcher"]
    assert trace.input == "Brief me." and trace.output == "The brief."
    assert trace.timings.wall_ns == 100 * MS
    assert trace.timings.tool_ns == 2 * MS
    assert trace.issues == []


def test_repeated_message_is_kept_but_resent_history_is_not() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    first = [sys("S"), user("ok"), assistant("Sure?")]
    b.llm(s, 1, 10, first, [assistant("Sure?")])
    b.llm(s, 11, 20, [*first, assistant("Sure?"), user("ok")], [assistant("Done.")])
    trace = derive(b.spans)
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("system", "S"),
        ("user", "ok"),
        ("assistant", "Sure?"),
        ("assistant", "Sure?"),
        ("user", "ok"),
        ("assistant", "Done."),
    ]


def test_content_parts_encoding() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    b.llm(
        s,
        1,
        10,
        [{"role": "user", "parts": ["Hello", "world"]}],
        [{"role": "assistant", "parts": ["Hi"]}],
    )
    trace = derive(b.spans)
    assert [m["content"] for m in trace.messages] == ["Hello\nworld", "Hi"]


def test_nested_llm_spans_are_one_call() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    outer = b.llm(s, 1, 20, [user("q")], [assistant("a")], usage=(10, 1), name="Mock.achat")
    b.llm(outer, 2, 19, [user("q")], [assistant("a")], usage=(10, 1), name="Mock.chat")
    trace = derive(b.spans)
    assert len(trace.llm_calls) == 1 and trace.usage.input_tokens == 10


def test_nested_usage_fills_an_outer_call_without_counts() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    outer = b.llm(s, 1, 20, [user("q")], [assistant("a")], usage=None, name="Wrapper.achat")
    b.llm(outer, 2, 19, [], [], usage=(42, 4), name="Inner.chat")
    trace = derive(b.spans)
    assert trace.usage.input_tokens == 42 and trace.usage.complete


def test_missing_tokens_are_flagged_not_zero_filled() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    b.llm(s, 1, 10, [user("q")], [assistant("x", [("c", "t", {})])], usage=(10, 1))
    b.llm(s, 11, 20, [user("q")], [assistant("a")], usage=None)
    trace = derive(b.spans)
    assert trace.usage.input_tokens == 10
    assert (trace.usage.complete, trace.usage.missing_calls) == (False, 1)
    assert trace.llm_calls[1].usage.complete is False
    assert trace.to_dict()["usage"]["missing_calls"] == 1
    assert trace.issues == ["tokens_missing"]


def test_streaming_call_runs_to_the_end_of_its_step() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 300)
    b.llm(s, 10, 12, [user("q")], [assistant("a")], name="OpenAI.astream_chat", first_token=40)
    [call] = derive(b.spans).llm_calls
    assert call.start_ns == 10 * MS and call.end_ns == 300 * MS
    assert call.time_to_first_token_ns == 30 * MS
    assert call.to_dict()["time_to_first_token_s"] == pytest.approx(0.03)


def test_tool_error_and_failed_run() -> None:
    b = TraceBuilder()
    root = b.root(status="ERROR")
    s = b.step(root, "a", 0, 50)
    b.llm(s, 1, 10, [user("q")], [assistant(calls=[("c1", "boom", {})])])
    ct = b.call_tool(root, "c1", 11, 14)
    exc = SpanEvent(
        "exception", 13 * MS, {"exception.type": "ValueError", "exception.message": "bad"}
    )
    b.tool(ct, "boom", {}, None, 12, 13, status="ERROR", events=(exc,))
    b.llm(s, 15, 20, [user("q")], [], usage=None, status="ERROR")
    trace = derive(b.spans)
    assert trace.status == "error" and trace.output is None
    assert trace.tool_calls[0].error == "ValueError: bad" and trace.tool_calls[0].status == "error"
    assert trace.agents["a"].errors == 2


def test_rejected_handoff_is_not_a_handoff() -> None:
    b = TraceBuilder()
    root = b.root()
    s1 = b.step(root, "a", 0, 10)
    b.llm(
        s1,
        1,
        9,
        [user("q")],
        [assistant(calls=[("c1", "handoff", {"to_agent": "zed", "reason": "r"})])],
    )
    ct = b.call_tool(root, "c1", 11, 14)
    b.tool(
        ct,
        "handoff",
        {"to_agent": "zed", "reason": "r"},
        "Agent zed not found. Please select a valid agent.",
        12,
        13,
    )
    s2 = b.step(root, "a", 15, 25)
    b.llm(s2, 16, 24, [user("q")], [assistant("fine")])
    trace = derive(b.spans)
    assert trace.handoffs == [] and trace.issues == ["handoff_rejected"]


def test_several_traces() -> None:
    one, two = handoff_trace(), TraceBuilder(trace_id=0xDEF)
    root = two.root()
    two.llm(two.step(root, "solo", 0, 10), 1, 9, [user("hi")], [assistant("hello")])
    spans = [*one.spans, *two.spans]
    with pytest.raises(ValueError, match="2 traces"):
        derive(spans)
    assert [t.trace_id for t in derive_all(spans)] == [f"{0xABC:032x}", f"{0xDEF:032x}"]
    assert derive(spans, trace_id=f"{0xDEF:032x}").output == "hello"
    assert derive_all(spans, evicted={0xDEF: 1})[1].issues == ["evicted_spans"]


def test_genai_conventions_give_the_same_facts() -> None:
    """Spans written with OTel GenAI attributes (other instrumentations) derive alike."""
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    llm1: dict[str, Any] = {
        genai.OPERATION: "chat",
        genai.AGENT_NAME: "researcher",
        genai.REQUEST_MODEL: "m1",
        genai.INPUT_TOKENS: 100,
        genai.OUTPUT_TOKENS: 10,
        genai.CACHE_READ_TOKENS: 40,
        genai.INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Brief me."}]}]
        ),
        genai.OUTPUT_MESSAGES: json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool_call",
                            "id": "c1",
                            "name": "handoff",
                            "arguments": {"to_agent": "writer"},
                        }
                    ],
                }
            ]
        ),
    }
    b.span("chat m1", 1, 10, root, attrs=llm1)
    b.span(
        "execute_tool handoff",
        11,
        12,
        root,
        attrs={
            genai.OPERATION: "execute_tool",
            genai.TOOL_NAME: "handoff",
            genai.TOOL_CALL_ID: "c1",
            genai.TOOL_CALL_ARGUMENTS: json.dumps({"to_agent": "writer"}),
            genai.TOOL_CALL_RESULT: "ok",
        },
    )
    b.span(
        "chat m1",
        13,
        20,
        root,
        attrs={
            genai.OPERATION: "chat",
            genai.AGENT_NAME: "writer",
            genai.PROMPT_TOKENS: 200,
            genai.COMPLETION_TOKENS: 20,
            genai.INPUT_MESSAGES: json.dumps(
                [
                    {"role": "user", "parts": [{"type": "text", "content": "Brief me."}]},
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": "c1",
                                "name": "handoff",
                                "arguments": {"to_agent": "writer"},
                            }
                        ],
                    },
                    {
                        "role": "tool",
                        "parts": [{"type": "tool_call_response", "id": "c1", "response": "ok"}],
                    },
                ]
            ),
            genai.OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}]}]
            ),
        },
    )
    trace = derive(b.spans)
    assert {n: (s.usage.input_tokens, s.usage.output_tokens) for n, s in trace.agents.items()} == {
        "researcher": (100, 10),
        "writer": (200, 20),
    }
    assert trace.usage.cached_input_tokens == 40
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [("researcher", "writer")]
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("user", "Brief me."),
        ("assistant", ""),
        ("tool", "ok"),
        ("assistant", "Done."),
    ]
    assert trace.messages[1]["tool_calls"][0]["function"]["arguments"] == '{"to_agent": "writer"}'
    assert trace.output == "Done."


def test_explicit_agent_attribute_wins_over_step() -> None:
    b = TraceBuilder()
    root = b.root()
    s = b.step(root, "a", 0, 50)
    b.llm(s, 1, 10, [user("q")], [assistant("x")], extra={SpanAttributes.AGENT_NAME: "b"})
    assert derive(b.spans).llm_calls[0].agent == "b"


def test_derivation_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc
    import threading

    spans = handoff_trace().spans
    derive(spans)
    assert gc.isenabled()
    gc.disable()
    try:
        derive(spans)
        assert not gc.isenabled(), "a collector the program turned off stays off"
    finally:
        gc.enable()

    def derive_often() -> None:
        for _ in range(200):
            derive(spans)

    threads = [threading.Thread(target=derive_often) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled(), "concurrent derivations turn it back on when the last one ends"
