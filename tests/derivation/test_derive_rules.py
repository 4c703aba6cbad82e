"""Rules of derive() that each decide one value a user reads, on hand-built records: the run's
answer (a ReAct agent's, a tool's, none), a user's price table and its refusals, and merging the
histories of a chat's runs into one conversation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.host_settings import time_zone
from support.records import MS, TraceBuilder, assistant, sys, tool_result, user

from otel_bridge import ConfigError, TraceSelectionError, derive, derive_all
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.derivation import ModelPrice, merge_conversation, parse_price_table
from otel_bridge.run_trace import Handoff
from otel_bridge.spans import SpanEvent, SpanRecord, StatusName, freeze

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def answer_of(*outputs: dict[str, Any], status: str = "OK") -> str | None:
    """The answer of a one-agent run whose one model call says ``outputs``."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, [user("What is the capital of France?")], list(outputs))
    return derive(b.spans).output


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Thought: I know it.\nAnswer: Paris.", "Paris."),
        ("Thought: sure.\nAnswer:  Paris. \n", "Paris."),
        ("Thought: two.\nAnswer: Paris. Answer: not this part", "Paris. Answer: not this part"),
        ("Thought: no answer marker here", "Thought: no answer marker here"),
        ("The Answer: is Paris.", "The Answer: is Paris."),  # not a ReAct step
        ("thought: lower case\nAnswer: Paris.", "thought: lower case\nAnswer: Paris."),
    ],
)
def test_a_react_answer_is_the_text_after_its_answer_marker(text: str, answer: str) -> None:
    assert answer_of(assistant(text)) == answer


def test_a_run_ending_on_a_tool_result_answers_with_it_and_on_a_request_with_nothing() -> None:
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    ask = [user("2+3?")]
    b.llm(step, 1, 9, ask, [assistant("Thought: add.", calls=[("c1", "add", {"a": 2})])])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    assert derive(b.spans).output == "5"  # the tool's result is the run's last word

    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, ask, [assistant("Let me add.", calls=[("c1", "add", {"a": 2})])])
    assert derive(b.spans).output is None  # asked for a tool, never got its result

    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, ask, [assistant(calls=[("c1", "add", {"a": 2})])])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "", 12, 15)
    assert derive(b.spans).output is None  # an empty result is no answer


def test_the_last_assistant_text_is_the_answer_after_earlier_results() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "solver", 0, 10)
    ask = [user("2+3?")]
    call = assistant(calls=[("c1", "add", {"a": 2})])
    b.llm(s1, 1, 9, ask, [call])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    s2 = b.step(root, "solver", 21, 30)
    b.llm(s2, 22, 29, [*ask, call, tool_result("c1", "5")], [assistant("It is 5.")])
    assert derive(b.spans).output == "It is 5."


# ---- a user's price table ----------------------------------------------------------------------


def test_a_price_table_reads_numbers_as_decimals_and_says_what_is_wrong() -> None:
    table = parse_price_table(
        {"My-Model": {"input_mtok": "0.15", "output_mtok": 0.6, "cached_input_mtok": 1}}
    )
    assert table == {
        "My-Model": ModelPrice(Decimal("0.15"), Decimal("0.6"), Decimal(1), None),
    }
    price = table["My-Model"]
    assert (price.input_mtok, price.output_mtok, price.cached_input_mtok) == (
        Decimal("0.15"),
        Decimal("0.6"),  # the decimal 0.6, not the float's binary neighbour
        Decimal(1),
    )
    assert price.reasoning_mtok is None
    assert price.to_dict() == {
        "input_mtok": 0.15, "output_mtok": 0.6, "cached_input_mtok": 1.0, "reasoning_mtok": None,
    }  # fmt: skip
    refusals = [
        ([], "prices.json: expected a mapping of model name to prices"),
        ({"m": 3}, "prices.json: model 'm': expected a mapping like {input_mtok: ..., output"),
        (
            {"m": {"input_mtok": 1, "output_mtok": 2, "cache": 1}},
            "prices.json: model 'm': unknown keys ['cache']; use ['cached_input_mtok', 'input_m",
        ),
        ({"m": {"input_mtok": 1}}, "prices.json: model 'm': missing output_mtok"),
        ({"m": {}}, "prices.json: model 'm': missing input_mtok, output_mtok"),
        (
            {"m": {"input_mtok": True, "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: expected a number of USD per million tokens, "
            "got True",
        ),
        (
            {"m": {"input_mtok": [1], "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: expected a number of USD per million tokens, "
            "got [1]",
        ),
        (
            {"m": {"input_mtok": "cheap", "output_mtok": 2}},
            "prices.json: model 'm': input_mtok: not a number: 'cheap'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": "-0.5"}},
            "prices.json: model 'm': output_mtok: expected a non-negative number, got '-0.5'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": "NaN"}},
            "prices.json: model 'm': output_mtok: expected a non-negative number, got 'NaN'",
        ),
        (
            {"m": {"input_mtok": 1, "output_mtok": 2, "reasoning_mtok": "inf"}},
            "prices.json: model 'm': reasoning_mtok: expected a non-negative number, got 'inf'",
        ),
        (
            {"M": {"input_mtok": 1, "output_mtok": 2}, "m": {"input_mtok": 1, "output_mtok": 2}},
            "price table: 'm' is listed twice (names ignore case)",
        ),
        ({"": {"input_mtok": 1, "output_mtok": 2}}, "price table: a model name must be a non-e"),
    ]
    for data, says in refusals:
        with pytest.raises(ConfigError) as raised:
            parse_price_table(data, "prices.json")
        assert str(raised.value).startswith(says), (data, str(raised.value))
    assert parse_price_table({"m": {"input_mtok": " 2 ", "output_mtok": 0}})["m"] == ModelPrice(
        2, 0
    )


# ---- a chat's runs as one conversation ---------------------------------------------------------


def test_runs_of_one_chat_merge_into_one_conversation() -> None:
    hi, hello = user("hi"), assistant("Hello!")
    again, sure = user("again"), assistant("Hello!")  # said twice: both kept
    first = [hi, hello]
    second = [hi, hello, again, sure]  # the second run re-sends the first
    third = [hi, hello, again, sure, user("bye")]
    assert merge_conversation([first, second, third]) == [hi, hello, again, sure, user("bye")]
    assert merge_conversation([]) == []
    assert merge_conversation([[hi], [user("other")]]) == [hi, user("other")]


# ---- one model call's record, and runs derived together ----------------------------------------


def test_a_model_calls_record_holds_what_its_span_says() -> None:
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    extra = {"llm.provider": "openai", "llm.token_count.completion_details.reasoning": 500}
    span = b.llm(step, 1, 9, [user("q")], [assistant("Paris.")], (1000, 500), first_token=1,
                 extra=extra)  # fmt: skip
    prices = {"gpt-4o-mini": ModelPrice(1, 2, reasoning_mtok=4)}
    (call,) = derive(b.spans, prices=prices).llm_calls
    assert (call.span_id, call.agent, call.model, call.provider) == (
        f"{span.span_id:016x}",
        "solver",
        "gpt-4o-mini",
        "openai",
    )
    assert (call.finish_reason, call.status, call.time_to_first_token_ns) == ("stop", "ok", 0)
    # every output token a reasoning token: priced at the reasoning rate, not left unknown
    assert (call.usage.output_tokens, call.usage.reasoning_tokens) == (500, 500)
    assert (call.cost.input_usd, call.cost.output_usd, call.cost.total_usd) == (
        Decimal("0.001"),
        Decimal("0.002"),
        Decimal("0.003"),
    )


def test_a_price_needs_its_input_and_output_rates() -> None:
    for missing in ({"input_mtok": None, "output_mtok": 1}, {"input_mtok": 1, "output_mtok": None}):
        with pytest.raises(ConfigError, match="expected a number of USD per million tokens, got N"):
            ModelPrice(**missing)  # type: ignore[arg-type]


def test_runs_derived_together_are_flagged_only_for_their_own_evicted_spans() -> None:
    first, second = TraceBuilder(trace_id=0xA1), TraceBuilder(trace_id=0xB2)
    for b in (first, second):
        root = b.root(0, 30)
        step = b.step(root, "solver", 0, 10)
        b.llm(step, 1, 9, [user("q")], [assistant("Paris.")])
    runs = derive_all([*first.spans, *second.spans], {0xB2: 3})
    assert [(r.trace_id[-2:], "evicted_spans" in r.issues) for r in runs] == [
        ("a1", False),
        ("b2", True),
    ]
    assert [r.issues for r in derive_all(first.spans)] == [[]]


# ---- the run as a whole: status, input, messages, issues ---------------------------------------


def one_call_run(
    root_status: StatusName = "OK",
    call_status: StatusName = "OK",
    inputs: list[dict[str, Any]] | None = None,
) -> TraceBuilder:
    b = TraceBuilder()
    root = b.root(0, 30, status=root_status)
    step = b.step(root, "solver", 0, 10)
    asked = inputs if inputs is not None else [user("q")]
    b.llm(step, 1, 9, asked, [assistant("Paris.")], status=call_status)
    return b


def test_a_run_fails_when_its_root_or_its_last_model_call_does() -> None:
    ok = derive(one_call_run().spans)
    assert (ok.status, ok.output) == ("ok", "Paris.")
    for failed in (one_call_run(root_status="ERROR"), one_call_run(call_status="ERROR")):
        run = derive(failed.spans)
        assert (run.status, run.output) == ("error", None)


def test_the_input_is_the_latest_user_message_the_first_call_was_sent() -> None:
    earlier = [user("earlier question"), assistant("earlier answer"), user("What now?")]
    assert derive(one_call_run(inputs=earlier).spans).input == "What now?"
    b = TraceBuilder()
    root = b.root(0, 30)
    s1 = b.step(root, "solver", 0, 10)
    b.llm(s1, 1, 9, [sys("You solve.")], [assistant("Hello, what shall I solve?")])
    s2 = b.step(root, "solver", 11, 20)
    later = [sys("You solve."), assistant("Hello, what shall I solve?"), user("2+3")]
    b.llm(s2, 12, 19, later, [assistant("5")])
    assert derive(b.spans).input == "2+3"  # the first call was sent none: the first user message


def test_tool_results_are_named_after_their_tool_and_unsent_ones_say_the_error() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "calc", 0, 10)
    ask = [user("2+3, then 1/0?")]
    turn = assistant(calls=[("c1", "add", {"a": 2}), ("c2", "div", {"a": 1})])
    b.llm(s1, 1, 9, ask, [turn])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    ct = b.call_tool(root, "c2", 21, 30)
    boom = SpanEvent("exception", 25 * MS, {"exception.type": "ZeroDivisionError",
                                             "exception.message": "division by zero"})  # fmt: skip
    b.tool(ct, "div", {"a": 1, "b": 0}, None, 22, 28, status="ERROR", events=(boom,))
    s2 = b.step(root, "calc", 31, 39)
    b.llm(s2, 32, 38, [*ask, turn, tool_result("c1", "5")], [assistant("5, and 1/0 failed.")])
    run = derive(b.spans)
    (error,) = [t.error for t in run.tool_calls if t.status == "error"]
    assert error is not None and "division by zero" in error
    said = [(m["role"], m.get("name"), m.get("tool_call_id"), m["content"]) for m in run.messages]
    assert said == [
        ("user", None, None, "2+3, then 1/0?"),
        ("assistant", None, None, ""),
        ("tool", "add", "c1", "5"),  # re-sent by the next call, named after its tool
        ("tool", "div", "c2", error),  # never re-sent: the tool's error stands for its result
        ("assistant", None, None, "5, and 1/0 failed."),
    ]


def test_issues_name_several_roots_an_unknown_agent_among_others_and_missing_content() -> None:
    b = one_call_run()
    b.span("stray.root", 31, 32)  # a second span without a parent
    assert derive(b.spans).issues == ["multiple_roots"]

    b = one_call_run()
    b.llm(b.spans[0], 10, 12, [user("q")], [assistant("again")])  # no agent step around it
    assert "unknown_agent" not in derive(b.spans).issues  # one agent: the call is surely its

    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, [], [assistant("Paris.")])  # the answer recorded, not the prompt
    assert derive(b.spans).issues == []


def test_a_wrapper_call_takes_its_usage_from_the_call_nested_in_it_and_keeps_the_rest() -> None:
    """A model call that reports no usage of its own, around the client's call that does."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    outer = b.llm(step, 1, 9, [user("q")], [assistant("Paris.")], None, "LLM.astream_chat",
                  first_token=2, extra={"llm.provider": "openai"})  # fmt: skip
    retry = b.span("retry", 1.5, 8.5, outer)
    b.span("prepare request", 1.2, 1.4, outer)  # a child with none of its own, searched first
    b.llm(retry, 2, 8, [user("other")], [], (100, 20), "OpenAI.chat",
          extra={"llm.model_name": "gpt-4o-mini-2024-07-18", "llm.provider": "azure",
                 "llm.token_count.prompt": "100"})  # fmt: skip
    run = derive(b.spans)
    (call,) = run.llm_calls
    assert (call.span_id, call.model, call.provider, call.finish_reason) == (
        f"{outer.span_id:016x}",
        "gpt-4o-mini",
        "openai",
        "stop",
    )
    assert (call.usage.input_tokens, call.usage.output_tokens, call.usage.complete) == (
        100,
        20,
        True,
    )
    # a stream: it lasts until its step ends; its first token came 1 ms after it started
    assert (call.end_ns, call.time_to_first_token_ns) == (10 * MS, 1 * MS)
    assert [m["content"] for m in run.messages] == ["q", "Paris."]
    assert run.issues == ["coerced_values"]  # the nested call's count was text


# ---- handoffs ----------------------------------------------------------------------------------

ASK_WRITER = {"to_agent": "writer", "reason": "ready"}


def handoffs_run(
    *tries: tuple[dict[str, Any], StatusName], agentless_call: bool = False
) -> tuple[list[SpanRecord], list[int]]:
    """researcher asks for one handoff per try (its tool's arguments and status), then the
    writer answers; the tool spans' starts (ms) are returned with the spans."""
    b = TraceBuilder()
    root = b.root(0, 100)
    history = [user("Brief me.")]
    starts, t = [], 0
    for n, (arguments, status) in enumerate(tries, 1):
        step = b.step(root, "researcher", t + 1, t + 10)
        turn = assistant(calls=[(f"h{n}", "handoff", dict(ASK_WRITER))])
        b.llm(step, t + 2, t + 9, history, [turn])
        ct = b.call_tool(root, f"h{n}", t + 11, t + 14)
        tool = b.tool(ct, "handoff", arguments, "handed over", t + 12, t + 13, status=status)
        if not arguments:  # not captured: the span records no input at all
            bare = freeze({k: v for k, v in tool.attributes.items() if k != "input.value"})
            b.spans[-1] = replace(tool, attributes=bare)
        starts.append(t + 12)
        history = [*history, turn, tool_result(f"h{n}", "handed over")]
        t += 15
    if agentless_call:
        b.llm(root, t + 1, t + 2, [user("summarise")], [assistant("summary")])
        t += 3
    step = b.step(root, "writer", t + 1, t + 10)
    b.llm(step, t + 2, t + 9, history, [assistant("The brief.")])
    return b.spans, starts


def test_a_handoff_is_accepted_when_the_target_agent_calls_its_model_next() -> None:
    spans, (at,) = handoffs_run((ASK_WRITER, "OK"))
    run = derive(spans)
    assert run.handoffs == [Handoff("researcher", "writer", "ready", at * MS, "h1")]
    assert run.issues == []
    spans, (at,) = handoffs_run((ASK_WRITER, "OK"), agentless_call=True)
    assert derive(spans).handoffs == [Handoff("researcher", "writer", "ready", at * MS, "h1")]


def test_a_refused_handoff_does_not_hide_the_next_one() -> None:
    spans, (_, at) = handoffs_run((ASK_WRITER, "ERROR"), (ASK_WRITER, "OK"))
    run = derive(spans)
    assert run.handoffs == [Handoff("researcher", "writer", "ready", at * MS, "h2")]
    assert run.issues == ["handoff_rejected"]


def test_a_handoff_whose_arguments_were_not_captured_goes_to_the_agent_that_took_over() -> None:
    spans, (at,) = handoffs_run(({}, "OK"))
    run = derive(spans)
    assert run.tool_calls[0].arguments is None
    assert run.handoffs == [Handoff("researcher", "writer", None, at * MS, "h1")]


# ---- prices in force when the call started -----------------------------------------------------


@pytest.mark.parametrize(
    ("started", "input_usd", "output_usd"),
    [
        # claude-sonnet-4-6 was tiered until 2026-03-13: above 200k input tokens, the whole call
        # at 6 and 22.5 per million; from then on 3 and 15 whatever the prompt's size
        (datetime(2026, 3, 12, 12, tzinfo=UTC), Decimal("1.5"), Decimal("0.0225")),
        (datetime(2026, 3, 13, 0, 0, 1, tzinfo=UTC), Decimal("0.75"), Decimal("0.015")),
        (datetime(2026, 3, 14, 12, tzinfo=UTC), Decimal("0.75"), Decimal("0.015")),
    ],
)
def test_a_call_is_priced_at_the_prices_in_force_when_it_started(
    started: datetime, input_usd: Decimal, output_usd: Decimal
) -> None:
    at = started.timestamp() * 1000  # ms
    b = TraceBuilder()
    root = b.root(at, at + 30)
    step = b.step(root, "writer", at, at + 10)
    model = {"llm.model_name": "claude-sonnet-4-6", "llm.provider": "anthropic"}
    b.llm(step, at + 0.1, at + 9, [user("q")], [assistant("a")], (250_000, 1000), extra=model)
    with time_zone("Pacific/Kiritimati"):  # UTC+14: the local date is a day later
        cost = derive(b.spans).cost
    assert (cost.input_usd, cost.output_usd, cost.total_usd) == (
        input_usd,
        output_usd,
        input_usd + output_usd,
    )


# ---- totals: per model, per agent, timings -----------------------------------------------------


def without(span: SpanRecord, key: str) -> SpanRecord:
    return replace(span, attributes=freeze({k: v for k, v in span.attributes.items() if k != key}))


def test_usage_and_cost_per_model_and_errors_per_agent() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "solver", 0, 30)
    b.llm(step, 1, 5, [user("q")], [assistant(calls=[("c1", "f", {})])], (100, 10))
    b.llm(step, 6, 10, [user("q")], [assistant("x")], (200, 20), status="ERROR")
    unnamed = b.llm(step, 11, 15, [user("q")], [assistant("y")], (5, 1))
    spans = [without(s, "llm.model_name") if s is unnamed else s for s in b.spans]
    run = derive(spans, prices={"gpt-4o-mini": ModelPrice(1, 10)})
    by_model = {m: (u.input_tokens, u.output_tokens) for m, u in run.usage_by_model.items()}
    assert by_model == {"gpt-4o-mini": (300, 30), "unknown": (5, 1)}
    assert {m: c.total_usd for m, c in run.cost_by_model.items()} == {
        "gpt-4o-mini": Decimal("0.0006"),  # 300 x 1 + 30 x 10 per million
        "unknown": None,  # no model, no price
    }
    assert (run.agents["solver"].llm_calls, run.agents["solver"].errors) == (3, 1)


def test_timings_count_overlaps_once_and_skip_spans_that_end_before_they_start() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "solver", 0, 40)
    b.llm(step, 0, 10, [user("q")], [assistant(calls=[("c1", "f", {}), ("c2", "g", {})])])
    backwards = b.tool(step, "f", {}, "1", 12, 11)  # a clock that went back: no time
    b.tool(step, "g", {}, "2", 13, 20)
    b.tool(step, "g", {}, "3", 20, 25)  # starts as the last one ends
    b.llm(step, 25, 40, [user("q")], [assistant("3")])
    run = derive(b.spans)
    assert backwards.end_ns < backwards.start_ns
    t = run.timings
    assert (t.wall_ns, t.llm_ns, t.tool_ns, t.other_ns) == (40 * MS, 25 * MS, 12 * MS, 3 * MS)
    assert t.per_agent_ns == {"solver": 40 * MS}

    b = TraceBuilder()
    root = b.root(5, 15)  # a run that starts later: wall time is its end less its start
    step = b.step(root, "solver", 5, 15)
    b.llm(step, 5, 15, [user("q")], [assistant("busy all along")])
    t = derive(b.spans).timings
    assert (t.wall_ns, t.llm_ns, t.other_ns) == (10 * MS, 10 * MS, 0)


# ---- one call recorded twice, by two instrumentations ------------------------------------------


def test_a_call_recorded_by_two_instrumentations_is_one_call_with_what_either_says() -> None:
    """OpenInference's streamed call and the OpenAI client's GenAI ``chat`` span beside it, in
    one agent step: the OpenInference record is kept, filled with what only its twin says."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    kept = b.llm(step, 1, 5, [user("q")], [], None, "OpenAI.astream_chat", first_token=2)
    chat = {
        genai.OPERATION: "chat",
        genai.PROVIDER: "openai",
        genai.REQUEST_MODEL: "gpt-4o-mini-2024-07-18",
        genai.INPUT_TOKENS: 120,
        genai.OUTPUT_TOKENS: 8,
        genai.FINISH_REASONS: ("length",),
        genai.TIME_TO_FIRST_CHUNK: 0.5,
        genai.INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "other"}]}]
        ),
        genai.OUTPUT_MESSAGES: json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}],
              "finish_reason": "length"}]
        ),
    }  # fmt: skip
    b.span("chat gpt-4o-mini", 1.5, 9, step, attrs=chat)
    run = derive(b.spans)
    (call,) = run.llm_calls
    assert (call.span_id, call.model, call.provider, call.finish_reason) == (
        f"{kept.span_id:016x}",
        "gpt-4o-mini",
        "openai",
        "length",
    )
    assert (call.usage.input_tokens, call.usage.output_tokens) == (120, 8)
    assert (call.end_ns, call.time_to_first_token_ns) == (10 * MS, 1 * MS)
    assert [(m["role"], m["content"]) for m in run.messages] == [
        ("user", "q"),
        ("assistant", "Paris."),
    ]


# ---- a handoff only the model's request records ------------------------------------------------


def genai_chat(text: str | None = None, call: tuple[str, str] | None = None) -> dict[str, Any]:
    """A GenAI ``chat`` span's attributes: its answer is ``text``, or the tool ``call`` (id,
    name) it asks for."""
    part = (
        {"type": "tool_call", "id": call[0], "name": call[1], "arguments": {}}
        if call
        else {"type": "text", "content": text}
    )
    return {
        genai.OPERATION: "chat",
        genai.REQUEST_MODEL: "gpt-4o-mini",
        genai.INPUT_TOKENS: 50,
        genai.OUTPUT_TOKENS: 5,
        genai.INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Brief me."}]}]
        ),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [part]}]),
    }


def test_a_handoff_the_model_asked_for_is_found_without_a_span_of_its_own() -> None:
    """The OpenAI Agents SDK under OpenTelemetry's own instrumentation: no span records the
    handoff, the model's ``transfer_to_writer`` call and the writer's next turn do."""
    b = TraceBuilder(scope="opentelemetry.instrumentation.genai.openai_agents")
    root = b.span("workflow", 0, 100)
    for agent, start, says in [
        ("researcher", 0, genai_chat(call=("call_h", "transfer_to_writer"))),
        ("writer", 50, genai_chat("The brief.")),
    ]:
        run = b.span(f"invoke_agent {agent}", start, start + 40, root,
                     attrs={genai.OPERATION: "invoke_agent", genai.AGENT_NAME: agent})  # fmt: skip
        asking = b.span("chat gpt-4o-mini", start + 1, start + 10, run, attrs=says)
        if agent == "researcher":
            at = asking.end_ns
    trace = derive(b.spans)
    assert trace.handoffs == [Handoff("researcher", "writer", None, at, "call_h")]
    assert trace.output == "The brief."

    b = TraceBuilder(scope="opentelemetry.instrumentation.genai.openai_agents")
    root = b.span("workflow", 0, 100)
    for agent, start, end in [("researcher", 0, 45), ("writer", 50, 90)]:
        attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: agent}
        b.span(f"invoke_agent {agent}", start, end, root, attrs=attrs)
    researcher, writer = b.spans[1], b.spans[2]
    b.span("chat", 1, 10, researcher, attrs=genai_chat(call=("call_h", "transfer_to_writer")))
    b.span("chat", 20, 30, researcher, attrs=genai_chat("I will write it myself."))
    b.span("chat", 51, 60, writer, attrs=genai_chat("The brief."))
    assert derive(b.spans).handoffs == []  # the researcher went on: the request was not followed


# ---- a delegation's task, an answer left unrecorded, tool spans matched to the model's calls ---


@pytest.mark.parametrize(
    ("arguments", "task"),
    [
        ({"task": "Find the figures.", "about": "otel"}, "Find the figures."),
        ({"query": "Find the figures.", "limit": 3}, "Find the figures."),  # the only text
        ({"b": "two", "a": "one"}, '{"a": "one", "b": "two"}'),  # several texts: all, sorted
        ({"limit": 3}, '{"limit": 3}'),
    ],
)
def test_a_delegations_task_is_read_from_the_tools_arguments(
    arguments: dict[str, Any], task: str
) -> None:
    """The manager's tool runs the researcher agent (LlamaIndex's agent-in-a-tool shape)."""
    b = TraceBuilder()
    root = b.root(0, 60)
    s1 = b.step(root, "manager", 0, 10)
    b.llm(s1, 1, 9, [user("Report.")], [assistant(calls=[("c1", "research", arguments)])])
    ct = b.call_tool(root, "c1", 11, 50)
    tool = b.tool(ct, "research", arguments, "figures", 12, 49)
    inner = b.step(tool, "researcher", 13, 40)
    b.llm(inner, 14, 39, [user("Find the figures.")], [assistant("figures")])
    (delegation,) = derive(b.spans).delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "manager",
        "researcher",
        task,
    )
    assert (delegation.at_ns, delegation.tool_call_id) == (12 * MS, "c1")


def test_the_answer_is_the_last_assistant_text_only_if_nothing_was_asked_after_it() -> None:
    def answer(*turns: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> str | None:
        b = TraceBuilder()
        root = b.root(0, 100)
        for n, (inputs, outputs) in enumerate(turns):
            step = b.step(root, "solver", 10 * n, 10 * n + 9)
            b.llm(step, 10 * n + 1, 10 * n + 8, inputs, outputs)
        return derive(b.spans).output

    hi, hello, add = user("hi"), assistant("Hello!"), user("add 2 and 3")
    asks = assistant("Adding.", calls=[("c1", "add", {"a": 2, "b": 3})])
    assert answer(([hi], [hello]), ([hi, hello, add], [asks])) is None  # not the earlier text
    # the last call's answer not recorded: the last assistant text there is
    assert answer(([hi], [hello]), ([hi, hello, add], [])) == "Hello!"


def test_tool_spans_without_call_ids_get_the_id_the_model_asked_with_the_same_arguments() -> None:
    """OpenTelemetry's own instrumentation of the OpenAI Agents SDK: its tool spans carry no
    call id; two calls of one tool are told apart by their arguments."""
    b = TraceBuilder(scope="opentelemetry.instrumentation.genai.openai_agents")
    root = b.span("workflow", 0, 100)
    researcher = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: "researcher"}
    run = b.span("invoke_agent researcher", 0, 90, root, attrs=researcher)
    calls = [
        {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "a"}},
        {"type": "tool_call", "id": "c2", "name": "search", "arguments": {"q": "b"}},
    ]
    asking = {
        **genai_chat("unused"),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": calls}]),
    }
    b.span("chat", 1, 10, run, attrs=asking)
    for start, query in [(11, "b"), (15, "a"), (19, "a")]:  # the last one was never asked for
        tool = {
            genai.OPERATION: "execute_tool",
            genai.TOOL_NAME: "search",
            genai.TOOL_CALL_ARGUMENTS: json.dumps({"q": query}),
            genai.TOOL_CALL_RESULT: f"found {query}",
        }
        b.span("execute_tool search", start, start + 3, run, attrs=tool)
    b.span("chat", 30, 40, run, attrs=genai_chat("found a and b"))
    ids = [(t.arguments, t.tool_call_id) for t in derive(b.spans).tool_calls]
    assert ids == [({"q": "b"}, "c2"), ({"q": "a"}, "c1"), ({"q": "a"}, None)]


def test_a_trace_that_is_not_there_is_named() -> None:
    with pytest.raises(TraceSelectionError, match=r"^no spans to derive a run from$"):
        derive([])
    spans = one_call_run().spans
    with pytest.raises(TraceSelectionError, match=f"^no spans of trace {'f' * 32}$"):
        derive(spans, "f" * 32)


def test_a_price_table_of_no_named_source_is_called_price_table_in_its_refusals() -> None:
    with pytest.raises(ConfigError, match=r"^price table: expected a mapping of model name to p"):
        parse_price_table(["gpt-4o-mini"])


def test_an_agent_named_by_a_number_is_read_as_text_and_flagged() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 30)
    chat = {**genai_chat("Paris."), genai.AGENT_NAME: 7}
    b.span("chat gpt-4o-mini", 1, 10, root, attrs=chat)
    run = derive(b.spans)
    assert [c.agent for c in run.llm_calls] == ["7"]
    assert run.issues == ["coerced_values"]


def test_a_react_step_re_sent_in_another_form_is_one_message() -> None:
    """A ReAct agent stores its step re-formatted (``Action Input`` as a Python dict): the next
    call's history holds another text for the same turn, which is not a new message."""
    said = 'Thought: I need the tool.\nAction: add\nAction Input: {"a": 2, "b": 3}'
    stored = "Thought: I need the tool.\nAction: add\nAction Input: {'a': 2, 'b': 3}"
    ask, seen = [sys("You add."), user("2+3?")], user("Observation: 5")
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "adder", 0, 10)
    b.llm(s1, 1, 9, ask, [assistant(said)])
    s2 = b.step(root, "adder", 11, 20)
    b.llm(s2, 12, 19, [*ask, assistant(stored), seen], [assistant("Thought: done.\nAnswer: 5")])
    run = derive(b.spans)
    assert [(m["role"], m["content"]) for m in run.messages] == [
        ("system", "You add."),
        ("user", "2+3?"),
        ("assistant", said),  # as the model said it
        ("user", "Observation: 5"),
        ("assistant", "Thought: done.\nAnswer: 5"),
    ]
    assert run.output == "5"

    b = TraceBuilder()  # another agent's history holding that text: its own message
    root = b.root(0, 40)
    s1 = b.step(root, "adder", 0, 10)
    b.llm(s1, 1, 9, ask, [assistant(said)])
    s2 = b.step(root, "checker", 11, 20)
    b.llm(s2, 12, 19, [*ask, assistant(stored), seen], [assistant("Checked.")])
    contents = [m["content"] for m in derive(b.spans).messages]
    assert contents == ["You add.", "2+3?", said, stored, "Observation: 5", "Checked."]


def test_a_tools_agent_is_its_own_the_callers_of_its_id_the_one_above_or_the_last_to_ask() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "researcher", 0, 9.5)
    b.llm(s1, 1, 9, [user("Find it.")], [assistant(calls=[("c1", "search", {"q": "it"})])])
    s2 = b.step(root, "writer", 10, 12)
    b.llm(s2, 10, 12, [user("Write.")], [assistant("Writing.")])
    b.tool(s2, "note", {"text": "x"}, "noted", 11, 11.5)  # inside the writer's step
    ct = b.call_tool(root, "c1", 13, 20)
    b.tool(ct, "search", {"q": "it"}, "found", 14, 15)  # asked for by the researcher
    own = b.tool(root, "lookup", {"q": "it"}, "looked up", 21, 22)
    named = {**own.attributes, "agent.name": "librarian"}  # names its own agent
    b.spans[-1] = replace(own, attributes=freeze(named))
    b.tool(root, "stray", {}, "?", 30, 31)  # nobody's: the last agent to call its model
    agents = [(t.name, t.agent) for t in derive(b.spans).tool_calls]
    assert agents == [
        ("note", "writer"),
        ("search", "researcher"),
        ("lookup", "librarian"),
        ("stray", "writer"),
    ]


def test_each_agent_run_inside_another_agents_tool_is_one_delegation() -> None:
    """Two turns of the researcher inside one tool are one delegation; a second tool runs the
    reviewer; the manager's own turn inside its own tool delegates nothing."""
    b = TraceBuilder()
    root = b.root(0, 100)
    s1 = b.step(root, "manager", 0, 10)
    asked = [("c1", "research", {"task": "Dig."}), ("c2", "review", {"task": "Check."})]
    b.llm(s1, 1, 9, [user("Report.")], [assistant(calls=[*asked, ("c3", "recheck", {})])])
    research = b.tool(b.call_tool(root, "c1", 11, 40), "research", {"task": "Dig."}, "ok", 12, 39)
    for start in (13, 25):  # two turns of one agent run
        turn = b.step(research, "researcher", start, start + 10)
        b.llm(turn, start + 1, start + 9, [user("Dig.")], [assistant("dug")])
    review = b.tool(b.call_tool(root, "c2", 41, 60), "review", {"task": "Check."}, "ok", 42, 59)
    turn = b.step(review, "reviewer", 43, 58)
    b.llm(turn, 44, 57, [user("Check.")], [assistant("checked")])
    recheck = b.tool(b.call_tool(root, "c3", 61, 80), "recheck", {}, "ok", 62, 79)
    turn = b.step(recheck, "manager", 63, 78)
    b.llm(turn, 64, 77, [user("Again.")], [assistant("again")])
    found = derive(b.spans).delegations
    assert [(d.from_agent, d.to_agent, d.task, d.tool_call_id, d.at_ns) for d in found] == [
        ("manager", "researcher", "Dig.", "c1", 12 * MS),
        ("manager", "reviewer", "Check.", "c2", 42 * MS),
    ]


def agent_run(b: TraceBuilder, name: str, start: float, end: float, parent: SpanRecord) -> Any:
    """A GenAI ``invoke_agent`` span: one activation of ``name``."""
    attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: name}
    return b.span(f"invoke_agent {name}", start, end, parent, attrs=attrs)


def test_an_agent_run_inside_another_agents_run_is_one_delegation_per_agent() -> None:
    """A managed agent's run nested in its manager's: one delegation, whatever the number of
    its runs there; an agent inside its own run, or under a span the trace lacks, is none."""
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = agent_run(b, "manager", 0, 95, root)
    b.span("chat", 1, 5, manager, attrs=genai_chat(call=("m1", "researcher")))
    b.span("chat", 6, 9, manager, attrs=genai_chat("Over to the researcher."))  # no call in it
    first = agent_run(b, "researcher", 10, 30, manager)
    b.span("chat", 11, 19, first, attrs=genai_chat("dug"))
    itself = agent_run(b, "researcher", 20, 29, first)
    b.span("chat", 21, 28, itself, attrs=genai_chat("dug deeper"))
    second = agent_run(b, "researcher", 40, 60, manager)
    b.span("chat", 41, 59, second, attrs=genai_chat("dug again"))
    b.span("chat", 61, 65, manager, attrs=genai_chat(call=("m2", "researcher")))  # later
    lost = agent_run(b, "helper", 70, 80, manager)
    b.span("chat", 71, 79, lost, attrs=genai_chat("helped"))
    b.spans[b.spans.index(lost)] = replace(lost, parent_id=0xDEAD)  # its parent never arrived
    found = derive(b.spans).delegations
    assert [(d.from_agent, d.to_agent, d.tool_call_id, d.at_ns) for d in found] == [
        ("manager", "researcher", "m1", 10 * MS)
    ]


def test_a_delegation_asked_with_plain_text_has_that_text_as_its_task() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = agent_run(b, "manager", 0, 95, root)
    call = {"type": "tool_call", "id": "c5", "name": "ask_writer", "arguments": "Write it up."}
    chat = {
        **genai_chat(),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [call]}]),
    }
    b.span("chat", 1, 9, manager, attrs=chat)  # the model asked with text, not JSON
    asking = {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: "ask_writer",
        genai.TOOL_CALL_ID: "c5",
        genai.TOOL_CALL_ARGUMENTS: "Write it up.",  # text, not JSON
        genai.TOOL_CALL_RESULT: "written",
    }
    tool = b.span("execute_tool ask_writer", 10, 50, manager, attrs=asking)
    writer = agent_run(b, "writer", 11, 49, tool)
    b.span("chat", 12, 48, writer, attrs=genai_chat("written"))
    (delegation,) = derive(b.spans).delegations
    assert (delegation.from_agent, delegation.to_agent, delegation.task) == (
        "manager",
        "writer",
        "Write it up.",
    )
    assert (delegation.tool_call_id, delegation.at_ns) == ("c5", 10 * MS)
