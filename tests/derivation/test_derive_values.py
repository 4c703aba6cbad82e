"""Attribute values of an unexpected type: one rule per kind of attribute, every exception flagged.

The rules are in ``otel_bridge/conventions/_values.py`` (and docs/RELIABILITY.md): a token count
is an integer from 0 to 2**63-1, decimal text and whole floats are coerced, anything else is
rejected as missing; text attributes take numbers as text and reject arrays. Each test asserts
the whole ``issues`` list.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes
from support.fresh_prices import prices_not_memoised
from support.records import KIND, TraceBuilder, assistant, user

from otel_bridge import RunTrace, derive
from otel_bridge.conventions import genai_attributes as genai

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

PROMPT = SpanAttributes.LLM_TOKEN_COUNT_PROMPT
COMPLETION = SpanAttributes.LLM_TOKEN_COUNT_COMPLETION
TOTAL = SpanAttributes.LLM_TOKEN_COUNT_TOTAL
CACHED = SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ
MISSING = {"complete": False, "missing_calls": 1}
MISSING_NONE = {"complete": True, "missing_calls": 0}


def openinference_call(**attributes: Any) -> RunTrace:
    """One OpenInference LLM call whose token counts (and more) are ``attributes``."""
    b = TraceBuilder()
    step = b.step(b.root(), "solo", 1, 10)
    b.llm(step, 2, 9, [user("Hi?")], [assistant("Hello.")], usage=None, extra=attributes)
    return derive(b.spans)


def genai_call(**attributes: Any) -> RunTrace:
    """One GenAI ``chat`` span with ``attributes``."""
    b = TraceBuilder()
    root = b.root()
    b.span("chat gpt-4o-mini", 2, 9, root, attrs={genai.OPERATION: "chat", **attributes})
    return derive(b.spans)


def usage(trace: RunTrace) -> dict[str, Any]:
    data = trace.usage.to_dict()
    return {k: v for k, v in data.items() if k in ("input_tokens", "total_tokens")} | {
        "complete": data["complete"],
        "missing_calls": data["missing_calls"],
    }


# ---- token counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "input_tokens", "total_tokens", "flag"),
    [
        (42, 42, 44, None),
        (0, 0, 2, None),
        ("42", 42, 44, "coerced_values"),
        (" 7 ", 7, 9, "coerced_values"),
        ("0042", 42, 44, "coerced_values"),
        (12.0, 12, 14, "coerced_values"),
    ],
)
def test_a_usable_prompt_count_is_taken_and_a_coerced_one_flagged(
    prompt: Any, input_tokens: int, total_tokens: int, flag: str | None
) -> None:
    trace = openinference_call(**{PROMPT: prompt, COMPLETION: 2})
    assert usage(trace) == {
        "input_tokens": input_tokens,
        "total_tokens": total_tokens,
        **MISSING_NONE,
    }
    assert trace.issues == ([] if flag is None else [flag])


REJECTED_COUNTS = [
    -5,
    -1.0,
    3.7,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    "",
    "   ",
    "abc",
    "1e3",
    "12.5",
    "-5",
    "+5",
    "1_000",
    '{"tokens": 5}',
    "9" * 5000,  # longer than int() takes from text
    (1, 2),
    ("5",),
    2**63,
]


@pytest.mark.parametrize("prompt", REJECTED_COUNTS, ids=repr)
def test_an_unusable_prompt_count_makes_the_call_usage_unknown_never_negative(
    prompt: Any,
) -> None:
    trace = openinference_call(**{PROMPT: prompt, COMPLETION: 2})
    assert usage(trace) == {"input_tokens": 0, "total_tokens": 0, **MISSING}
    assert trace.llm_calls[0].usage.to_dict()["complete"] is False
    assert trace.issues == ["tokens_missing", "rejected_values"]


@pytest.mark.parametrize("count", [-5, "1e3", float("nan"), (3,), True], ids=repr)
def test_genai_counts_follow_the_same_rule(count: Any) -> None:
    trace = genai_call(**{genai.INPUT_TOKENS: count, genai.OUTPUT_TOKENS: 4})
    assert usage(trace) == {"input_tokens": 0, "total_tokens": 0, **MISSING}
    assert trace.issues == [
        "tokens_missing",
        "unknown_framework",
        "no_message_content",
        "rejected_values",
    ]


def test_genai_string_numerals_are_coerced() -> None:
    trace = genai_call(**{genai.INPUT_TOKENS: "30", genai.OUTPUT_TOKENS: 4.0})
    assert usage(trace) == {"input_tokens": 30, "total_tokens": 34, **MISSING_NONE}
    assert trace.issues == [
        "price_unknown",
        "unknown_framework",
        "no_message_content",
        "coerced_values",
    ]


def test_a_rejected_total_is_recomputed_from_prompt_and_completion() -> None:
    trace = openinference_call(**{PROMPT: 10, COMPLETION: 2, TOTAL: -12})
    assert usage(trace) == {"input_tokens": 10, "total_tokens": 12, **MISSING_NONE}
    assert trace.issues == ["rejected_values"]


def test_a_rejected_cached_count_reads_as_absent() -> None:
    trace = openinference_call(**{PROMPT: 10, COMPLETION: 2, CACHED: "lots"})
    assert trace.usage.cached_input_tokens == 0
    assert usage(trace) == {"input_tokens": 10, "total_tokens": 12, **MISSING_NONE}
    assert trace.issues == ["rejected_values"]


def test_a_call_with_both_kinds_of_values_gets_both_flags() -> None:
    trace = openinference_call(**{PROMPT: "10", COMPLETION: 2, CACHED: -1})
    assert usage(trace) == {"input_tokens": 10, "total_tokens": 12, **MISSING_NONE}
    assert trace.issues == ["coerced_values", "rejected_values"]


# ---- text and seconds ------------------------------------------------------------------------


def test_a_number_where_text_belongs_is_coerced_and_an_array_rejected() -> None:
    trace = openinference_call(
        **{
            PROMPT: 10,
            COMPLETION: 2,
            SpanAttributes.LLM_MODEL_NAME: 4,
            SpanAttributes.LLM_PROVIDER: ("a", "b"),
        }
    )
    (call,) = trace.llm_calls
    assert (call.model, call.provider) == ("4", None)
    assert trace.issues == ["price_unknown", "coerced_values", "rejected_values"]


def test_a_message_role_that_is_not_text_ends_the_messages_there() -> None:
    b = TraceBuilder()
    step = b.step(b.root(), "solo", 1, 10)
    bad_role = {"llm.input_messages.1.message.role": ("user",)}
    b.llm(step, 2, 9, [user("First."), user("lost")], [assistant("Ok.")], extra=bad_role)
    trace = derive(b.spans)
    assert [(m["role"], m["content"]) for m in trace.messages] == [
        ("user", "First."),
        ("assistant", "Ok."),
    ]
    assert trace.issues == ["rejected_values"]


def test_a_tool_name_and_call_id_of_other_types() -> None:
    b = TraceBuilder()
    root = b.root()
    b.span(
        "FunctionTool.acall",
        2,
        3,
        root,
        attrs={
            KIND: "TOOL",
            SpanAttributes.TOOL_NAME: ("search", "web"),
            SpanAttributes.TOOL_ID: 7,
            SpanAttributes.OUTPUT_VALUE: 3.5,
        },
    )
    trace = derive(b.spans)
    (tool,) = trace.tool_calls
    assert (tool.name, tool.tool_call_id, tool.output) == ("FunctionTool.acall", "7", "3.5")
    assert trace.issues == ["no_llm_calls", "coerced_values", "rejected_values"]


@pytest.mark.parametrize("delay", [float("inf"), float("nan"), -0.5, "0.2", True, 1e300])
def test_an_unusable_time_to_first_chunk_is_rejected(delay: Any) -> None:
    trace = genai_call(
        **{
            genai.INPUT_TOKENS: 5,
            genai.OUTPUT_TOKENS: 1,
            genai.TIME_TO_FIRST_CHUNK: delay,
            genai.REQUEST_MODEL: "gpt-4o-mini",
        }
    )
    assert trace.llm_calls[0].time_to_first_token_ns is None
    assert trace.issues == ["unknown_framework", "no_message_content", "rejected_values"]


def test_a_usable_time_to_first_chunk_is_taken() -> None:
    trace = genai_call(
        **{genai.INPUT_TOKENS: 5, genai.OUTPUT_TOKENS: 1, genai.TIME_TO_FIRST_CHUNK: 0.25}
    )
    assert trace.llm_calls[0].time_to_first_token_ns == 250_000_000


# ---- where a person finds the details ----------------------------------------------------------


def test_each_value_is_logged_with_its_span_and_attribute(caplog: pytest.LogCaptureFixture) -> None:
    b = TraceBuilder(trace_id=0xFEED)
    step = b.step(b.root(), "solo", 1, 10)
    call = b.llm(
        step, 2, 9, [user("Hi?")], [assistant("Hello.")], usage=None,
        extra={PROMPT: "1e3", COMPLETION: "2"},
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="otel_bridge.derivation"):
        trace = derive(b.spans)
    assert trace.issues == ["tokens_missing", "coerced_values", "rejected_values"]
    lines = [r.getMessage() for r in caplog.records if r.name == "otel_bridge.derivation"]
    trace_id = "0" * 28 + "feed"
    assert lines == [
        f"trace {trace_id}: span {call.span_id:016x} attribute llm.token_count.prompt: "
        "rejected '1e3' (a token count is an integer from 0 to 2**63-1)",
        f"trace {trace_id}: span {call.span_id:016x} attribute llm.token_count.completion: "
        "coerced '2' (a token count is an integer from 0 to 2**63-1)",
    ]


def test_a_tool_that_returns_a_number_is_read_as_its_text_without_a_note() -> None:
    """smolagents' and the OpenAI Agents SDK's instrumentors record a tool's int as an int."""
    b = TraceBuilder()
    step = b.step(b.root(), "solo", 1, 30)
    b.llm(step, 2, 9, [user("Count.")], [assistant(calls=[("c1", "word_count", {"text": "a b"})])])
    b.tool(b.call_tool(step, "c1", 10, 20), "word_count", {"text": "a b"}, 2, 11, 19)
    trace = derive(b.spans)
    assert [(t.name, t.output) for t in trace.tool_calls] == [("word_count", "2")]
    assert trace.issues == []
