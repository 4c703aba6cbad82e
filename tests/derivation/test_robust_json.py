"""Malformed message and tool JSON: every JSON value a span holds is parsed with a depth bound and
every shape is checked, so derive() returns a RunTrace (flagged ``rejected_values``) instead of
raising AttributeError, TypeError or RecursionError.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes
from support.fresh_prices import prices_not_memoised
from support.records import KIND, TraceBuilder

from otel_bridge import RunTrace, derive
from otel_bridge.conventions import genai_attributes as genai

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def nested(levels: int) -> str:
    """JSON arrays nested ``levels`` deep."""
    return "[" * levels + "]" * levels


def chat(**attributes: Any) -> RunTrace:
    """One GenAI chat span with usage and ``attributes``."""
    b = TraceBuilder()
    b.span(
        "chat gpt-4o-mini",
        1,
        9,
        b.root(),
        attrs={
            genai.OPERATION: "chat",
            genai.REQUEST_MODEL: "gpt-4o-mini",
            genai.INPUT_TOKENS: 10,
            genai.OUTPUT_TOKENS: 2,
            **attributes,
        },
    )
    return derive(b.spans)


def openinference_tool(**attributes: Any) -> RunTrace:
    """One OpenInference TOOL span with ``attributes``."""
    b = TraceBuilder()
    b.span(
        "FunctionTool.acall",
        1,
        2,
        b.root(),
        attrs={KIND: "TOOL", SpanAttributes.TOOL_NAME: "lookup", **attributes},
    )
    return derive(b.spans)


def user_says(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"type": "text", "content": text}]}


@pytest.mark.parametrize(
    "messages",
    [
        DEEP,
        DEEP_OBJECT,
        nested(101),
        "not json",
        "",
        '{"role": "user", "parts": []}',  # an object, not a list of messages
        "[1, 2]",
        '["hello"]',
        "NaN",
        "[" + "9" * 5000 + "]",  # a number longer than Python's json takes
    ],
    ids=["100k-deep", "100k-deep-object", "101-deep", "text", "empty", "object", "numbers",
         "strings", "nan", "huge-number"],
)  # fmt: skip
def test_input_messages_that_are_not_a_list_of_messages_are_rejected(messages: str) -> None:
    trace = chat(**{genai.INPUT_MESSAGES: messages})
    assert trace.messages == []
    assert trace.issues == ["unknown_framework", "no_message_content", "rejected_values"]
    assert trace.usage.input_tokens == 10  # the rest of the span is still read


def test_bad_entries_are_skipped_and_good_ones_kept() -> None:
    messages = [
        "a string, not a message",
        {"role": "user", "parts": "hi"},  # parts not a list
        {"role": "user", "parts": ["hi", 3, None]},  # parts not objects
        user_says("Kept."),
        {"role": ["user"], "parts": [{"type": "text", "content": {"nested": "object"}}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": ["x"], "name": 5}]},
    ]
    trace = chat(**{genai.INPUT_MESSAGES: json.dumps(messages)})
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("user", ""),
        ("user", ""),
        ("user", "Kept."),
        ("user", ""),
        ("assistant", ""),
    ]
    call = trace.messages[-1]["tool_calls"][0]
    assert (call["id"], call["function"]["name"]) == (None, "5")
    assert trace.issues == ["unknown_framework", "coerced_values", "rejected_values"]


def test_json_nested_as_deep_as_the_bound_is_read() -> None:
    # list of messages, message, parts, part, arguments, 95 arrays: 100 levels in all
    arguments = {"a": json.loads(nested(95))}
    message = {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": arguments}],
    }
    trace = chat(**{genai.OUTPUT_MESSAGES: json.dumps([message])})
    (call,) = trace.messages[0]["tool_calls"]
    assert call["function"]["arguments"] == json.dumps(arguments)
    assert trace.issues == ["unknown_framework"]


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT, nested(101)], ids=["100k", "object", "101"])
def test_tool_arguments_nested_too_deep_are_kept_as_text(raw: str) -> None:
    trace = openinference_tool(
        **{SpanAttributes.INPUT_VALUE: raw, SpanAttributes.OUTPUT_VALUE: "ok"}
    )
    (tool,) = trace.tool_calls
    assert tool.arguments == raw and tool.output == "ok"
    assert trace.issues == ["no_llm_calls", "rejected_values"]


def test_tool_arguments_that_are_not_json_are_plain_text_and_not_flagged() -> None:
    trace = openinference_tool(**{SpanAttributes.INPUT_VALUE: "lookup everything"})
    assert trace.tool_calls[0].arguments == "lookup everything"
    assert trace.issues == ["no_llm_calls"]


def test_json_constants_are_not_json_numbers() -> None:
    """Python's json reads NaN and Infinity; they would make the RunTrace invalid JSON."""
    trace = openinference_tool(**{SpanAttributes.INPUT_VALUE: '{"kwargs": {"x": NaN}}'})
    assert trace.tool_calls[0].arguments == '{"kwargs": {"x": NaN}}'
    json.dumps(trace.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"blocks": "not a list"}', '{"blocks": "not a list"}'),
        ('{"blocks": [1, "x", {"text": "kept"}], "is_error": false}', "kept"),
        ("{" + DEEP_OBJECT[1:], "{" + DEEP_OBJECT[1:]),
        ('{"unclosed": ', '{"unclosed": '),
    ],
    ids=["blocks-text", "mixed-blocks", "deep", "broken"],
)
def test_tool_outputs_of_an_unexpected_shape(output: str, expected: str) -> None:
    trace = openinference_tool(**{SpanAttributes.OUTPUT_VALUE: output})
    assert trace.tool_calls[0].output == expected
    assert trace.tool_calls[0].status == "ok"


def test_genai_tool_arguments_and_results_of_any_shape() -> None:
    b = TraceBuilder()
    b.span(
        "execute_tool lookup",
        1,
        2,
        b.root(),
        attrs={
            genai.OPERATION: "execute_tool",
            genai.TOOL_NAME: "lookup",
            genai.TOOL_CALL_ARGUMENTS: DEEP,
            genai.TOOL_CALL_RESULT: ("a", "b"),
            genai.TOOL_CALL_ID: ("c1",),
        },
    )
    trace = derive(b.spans)
    (tool,) = trace.tool_calls
    assert (tool.arguments, tool.output, tool.tool_call_id) == (DEEP, None, None)
    assert trace.issues == ["no_llm_calls", "rejected_values"]


def test_openllmetry_task_output_nested_too_deep() -> None:
    b = TraceBuilder()
    root = b.root()
    output = '{"current_agent_name": ' + DEEP + "}"
    b.span("run_agent_step.task", 1, 5, root, attrs={
        "traceloop.span.kind": "task", "traceloop.entity.output": output})  # fmt: skip
    b.span("call_tool.task", 5, 6, root, attrs={
        "traceloop.span.kind": "task", SpanAttributes.TOOL_NAME: "lookup",
        "traceloop.entity.output": '{"tool_id": ' + DEEP + "}"})  # fmt: skip
    trace = derive(b.spans)
    assert [(t.name, t.tool_call_id, t.agent) for t in trace.tool_calls] == [("lookup", None, None)]
    assert trace.issues == ["no_llm_calls", "rejected_values"]


def test_openinference_tool_call_arguments_that_are_not_text() -> None:
    b = TraceBuilder()
    prefix = "llm.output_messages.0.message"
    b.span("OpenAI.achat", 1, 9, b.root(), attrs={
        KIND: "LLM", f"{prefix}.role": "assistant",
        f"{prefix}.tool_calls.0.tool_call.id": "c1",
        f"{prefix}.tool_calls.0.tool_call.function.name": "lookup",
        f"{prefix}.tool_calls.0.tool_call.function.arguments": ("x", "y"),
        f"{prefix}.tool_calls.1.tool_call.id": ("c2",),
        f"{prefix}.tool_calls.1.tool_call.function.name": "lookup",
    })  # fmt: skip
    trace = derive(b.spans)
    calls = trace.messages[0]["tool_calls"]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [("c1", "{}"), (None, "{}")]
    assert trace.issues == ["tokens_missing", "unknown_framework", "rejected_values"]
