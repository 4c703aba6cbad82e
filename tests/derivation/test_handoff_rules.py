"""Handoffs: accepted when the target agent calls its model next, refused ones, hidden
arguments, and a handoff only the model's request records.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from support.fresh_prices import prices_not_memoised
from support.genai_spans import genai_chat
from support.records import MS, TraceBuilder, assistant, tool_result, user

from otel_bridge import derive
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.run_trace import Handoff
from otel_bridge.spans import SpanRecord, StatusName, freeze

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


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


# ---- a handoff only the model's request records ------------------------------------------------


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
