"""How long a streamed model call lasts, and one call recorded twice or wrapped: the record
kept, what it takes from its twin or from the call nested in it, and usage as a framework
recorded it (smolagents' 0 and 0 for "not reported")."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from openinference.semconv.trace import SpanAttributes as oi
from support.paths import DATA
from support.records import KIND, MS, TraceBuilder, assistant, flatten, user
from support.value_log import derive_logged

from otel_bridge import derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.spans import SpanRecord, freeze

DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested deeper than any reader follows


def test_a_streamed_call_outside_any_step_lasts_until_its_first_token() -> None:
    """A streamed span ends before the first token; with no agent step around it, the call
    lasts until that token, or as its span when no token was recorded."""
    b = TraceBuilder()
    root = b.root(0, 30)
    b.llm(root, 1, 5, [user("q")], [assistant("a")], name="OpenAI.astream_chat", first_token=12)
    b.llm(root, 14, 18, [user("q")], [assistant("b")], name="OpenAI.astream_chat")
    calls = derive(b.spans).llm_calls
    assert [(c.start_ns, c.end_ns, c.time_to_first_token_ns) for c in calls] == [
        (1 * MS, 12 * MS, 11 * MS),
        (14 * MS, 18 * MS, None),
    ]


def test_a_streamed_call_never_ends_before_its_own_span() -> None:
    """Its step recorded as ending first (the clocks of two processes): the call's own span
    still bounds it."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 4)
    b.llm(step, 1, 6, [user("q")], [assistant("a")], name="OpenAI.astream_chat", first_token=3)
    (call,) = derive(b.spans).llm_calls
    assert (call.end_ns, call.duration_ns) == (6 * MS, 5 * MS)


def client_chat(
    builder: TraceBuilder, parent: SpanRecord, start: float, end: float, **attrs: Any
) -> SpanRecord:
    """The OpenAI client's GenAI ``chat`` span of a call."""
    attributes = {genai.OPERATION: "chat", genai.PROVIDER: "openai", **attrs}
    return builder.span("chat gpt-4o-mini", start, end, parent, attrs=attributes)


def test_a_twin_fills_only_what_the_kept_record_lacks() -> None:
    """The OpenInference record names no model, keeps no prompt and no first token, but counts
    its tokens; the client's record of the same call has the rest and no counts."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    attrs = {
        KIND: "LLM",
        **flatten(oi.LLM_OUTPUT_MESSAGES, [assistant("Paris.")]),
        oi.LLM_TOKEN_COUNT_PROMPT: 10,
        oi.LLM_TOKEN_COUNT_COMPLETION: 2,
        oi.LLM_TOKEN_COUNT_TOTAL: 12,
    }
    kept = b.span("OpenAI.astream_chat", 1, 5, step, attrs=attrs)
    client_chat(
        b, step, 1.5, 9,
        **{
            genai.REQUEST_MODEL: "gpt-4o-mini",
            genai.TIME_TO_FIRST_CHUNK: 0.002,
            genai.INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}]
            ),
        },
    )  # fmt: skip
    run = derive(b.spans)
    (call,) = run.llm_calls
    assert (call.span_id, call.model, call.time_to_first_token_ns) == (
        f"{kept.span_id:016x}",
        "gpt-4o-mini",
        2.5 * MS,
    )
    assert (call.usage.input_tokens, call.usage.output_tokens, call.usage.complete) == (10, 2, True)
    assert [(m["role"], m["content"]) for m in run.messages] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
    ]


def streamed(b: TraceBuilder, step: SpanRecord, start: float, text: str) -> SpanRecord:
    """LlamaIndex's streamed call as OpenInference records it: no token counts."""
    return b.llm(step, start, start + 2, [user("q")], [assistant(text)], None,
                 "OpenAI.astream_chat", first_token=start + 1)  # fmt: skip


def test_twins_are_paired_within_their_step_only() -> None:
    """Step one: a call made without streaming (the client's span nested in it, skipped);
    step two: a streamed call and the client's span beside it, its twin."""
    b = TraceBuilder()
    root = b.root(0, 60)
    s1 = b.step(root, "solver", 0, 10)
    plain = b.llm(s1, 1, 8, [user("q")], [assistant("one")], (100, 10))
    client_chat(b, plain, 2, 7, **{genai.INPUT_TOKENS: 100, genai.OUTPUT_TOKENS: 10})
    s2 = b.step(root, "solver", 20, 30)
    streamed(b, s2, 21, "two")
    client_chat(b, s2, 21.5, 29, **{genai.INPUT_TOKENS: 200, genai.OUTPUT_TOKENS: 20})
    calls = derive(b.spans).llm_calls
    assert [(c.start_ns, c.end_ns, c.usage.input_tokens, c.usage.output_tokens) for c in calls] == [
        (1 * MS, 8 * MS, 100, 10),
        (21 * MS, 30 * MS, 200, 20),
    ]


def test_a_twin_missing_from_a_step_loses_no_call() -> None:
    """Two streamed calls in one step, the client's record of only the first (the other lost):
    both calls are kept, the first filled from its twin."""
    b = TraceBuilder()
    root = b.root(0, 60)
    step = b.step(root, "solver", 0, 30)
    streamed(b, step, 1, "one")
    client_chat(b, step, 1.5, 9, **{genai.INPUT_TOKENS: 100, genai.OUTPUT_TOKENS: 10})
    streamed(b, step, 11, "two")
    run = derive(b.spans)
    assert [(c.start_ns, c.usage.input_tokens, c.usage.complete) for c in run.llm_calls] == [
        (1 * MS, 100, True),
        (11 * MS, 0, False),
    ]
    assert "tokens_missing" in run.issues


def test_a_wrapper_call_with_usage_from_inside_and_a_twin_beside_it_is_one_call() -> None:
    b = TraceBuilder()
    root = b.root(0, 60)
    step = b.step(root, "solver", 0, 30)
    wrapper = streamed(b, step, 1, "Paris.")
    b.llm(wrapper, 1.2, 2.5, [user("q")], [], (100, 10), "OpenAI.chat")
    client_chat(b, step, 1.5, 9)
    (call,) = derive(b.spans).llm_calls
    assert (call.span_id, call.usage.input_tokens, call.end_ns) == (
        f"{wrapper.span_id:016x}",
        100,
        30 * MS,
    )


def test_usage_is_found_below_children_that_have_none() -> None:
    """The wrapper's children: the client's call with usage, and a later span of no children
    and no usage (searched first)."""
    b = TraceBuilder()
    root = b.root(0, 60)
    step = b.step(root, "solver", 0, 30)
    wrapper = b.llm(step, 1, 9, [user("q")], [assistant("Paris.")], None, "LLM.achat")
    retry = b.span("retry", 1.5, 8, wrapper)
    b.llm(retry, 2, 7, [user("q")], [], (100, 10), "OpenAI.chat")
    b.span("log response", 8.2, 8.5, wrapper)
    (call,) = derive(b.spans).llm_calls
    assert (call.usage.input_tokens, call.usage.output_tokens) == (100, 10)


def test_smolagents_zero_counts_are_unknown_usage_even_without_message_content() -> None:
    """smolagents writes 0 and 0 for a reply that reported no usage; the recorded run with
    content capture off (no message attributes) still reads them as unknown."""
    spans = load_spans(str(DATA / "smolagents" / "streamed_no_usage.otlp.json"))
    hidden = [
        dataclasses.replace(
            s,
            attributes=freeze(
                {
                    k: v
                    for k, v in s.attributes.items()
                    if not k.startswith(("llm.input_messages", "llm.output_messages"))
                }
            ),
        )
        for s in spans
    ]
    trace = derive(hidden)
    # the scripted server sent no usage with either of the run's two replies
    assert [c.usage.complete for c in trace.llm_calls] == [False, False]
    assert {"tokens_missing", "no_message_content"} <= set(trace.issues)


def test_an_openai_agents_answer_nested_too_deep_is_flagged() -> None:
    b = TraceBuilder(scope="openinference.instrumentation.openai_agents")
    root = b.span("Agent workflow", 0, 30, attrs={KIND: "AGENT", "agent.name": "solver"})
    raw = '[{"object": "response", "output": ' + DEEP + "}]"
    attrs = {KIND: "LLM", oi.LLM_MODEL_NAME: "gpt-4o-mini", oi.OUTPUT_VALUE: raw}
    generation = b.span("generation", 1, 9, root, attrs=attrs)
    run, logged = derive_logged(b.spans)
    assert "rejected_values" in run.issues
    assert [line.split(": ")[0] for line in logged] == [
        f"span {generation.span_id:016x} attribute output.value"
    ]


def test_usage_is_found_in_a_parent_cycle_below_the_call() -> None:
    """Bad input: the wrapper call's parent is a span below it (a cycle); the client's call
    with usage hangs below the cycle and started first."""
    b = TraceBuilder()
    b.root(0, 60)
    wrapper_id, loop_top, loop_bottom = 9001, 9002, 9003
    b.span("OpenAI.chat", 1, 4, parent_id=loop_top, attrs={KIND: "LLM",
           oi.LLM_TOKEN_COUNT_PROMPT: 100, oi.LLM_TOKEN_COUNT_COMPLETION: 10})  # fmt: skip
    spans = b.spans
    cycle = [
        (wrapper_id, loop_bottom, "LLM.achat", {KIND: "LLM", oi.LLM_MODEL_NAME: "gpt-4o-mini"}),
        (loop_top, wrapper_id, "retry", {}),
        (loop_bottom, loop_top, "attempt", {}),
    ]
    for span_id, parent_id, name, attrs in cycle:
        spans.append(
            dataclasses.replace(
                spans[0], span_id=span_id, parent_id=parent_id, name=name,
                start_ns=2 * MS, end_ns=9 * MS, attributes=freeze(attrs),
            )
        )  # fmt: skip
    (call,) = derive(spans).llm_calls
    assert (call.span_id, call.model) == (f"{wrapper_id:016x}", "gpt-4o-mini")
    assert (call.usage.input_tokens, call.usage.output_tokens) == (100, 10)
