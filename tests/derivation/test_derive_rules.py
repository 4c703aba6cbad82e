"""Rules of derive() that each decide one value a user reads, on hand-built records: a model
call's record, the run's status, input and issues, totals and timings, one call recorded twice,
tool results and call ids, and merging the histories of a chat's runs into one conversation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.genai_spans import genai_chat
from support.records import MS, TraceBuilder, assistant, sys, tool_result, user

from otel_bridge import TraceSelectionError, derive, derive_all
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.derivation import ModelPrice, merge_conversation
from otel_bridge.spans import SpanEvent, SpanRecord, StatusName, freeze

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


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
    b.span("prepare request", 1.2, 1.4, outer)  # a child with no usage of its own
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


# ---- tool calls, agents and messages the spans leave implicit -----------------------------------


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
