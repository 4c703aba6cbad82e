"""The run's task, answer and end, where the framework records them on its agent runs: under a
root of ours among other spans, over several runs, with the root lost, or as a number.

Recorded smolagents runs (``tests/data/smolagents``, the scripted server's truth beside them)
and hand-built ones shaped like a smolagents ``CodeAgent`` run.
"""

from __future__ import annotations

import json
from dataclasses import replace

from openinference.semconv.trace import SpanAttributes
from support.paths import DATA
from support.records import KIND, MS, TraceBuilder, assistant, sys, user

from otel_bridge import RunTrace, SpanRecord, derive, load_spans

TASK = "What is the capital of France?"
CODE = 'Thought: I know it.\nCode:\n```py\nfinal_answer("Paris")\n```'


def recorded(name: str) -> list[SpanRecord]:
    return load_spans(DATA / "smolagents" / f"{name}.otlp.json")


def code_agent_run(
    answer: object = "Paris", before: bool = True, after: bool = True, wrapped: bool = True
) -> RunTrace:
    """A root of ours around a ``CodeAgent.run`` (its task and answer on it), with spans of the
    caller's own before and after it (``wrapped=False``: the agent's run alone, as its root);
    the model answers with code calling ``final_answer``."""
    b = TraceBuilder()
    root = b.span("evaluate france", 0, 100) if wrapped else None
    if before and root is not None:
        b.span("load dataset", 1, 2, root)
    run = b.span(
        "CodeAgent.run",
        3,
        90,
        root,
        attrs={
            KIND: "AGENT",
            "smolagents.max_steps": 5,
            SpanAttributes.INPUT_VALUE: json.dumps({"task": TASK, "stream": False}),
            SpanAttributes.OUTPUT_VALUE: answer,
        },
    )
    step = b.span("Step 1", 4, 80, run, attrs={KIND: "CHAIN"})
    asked = [sys("You solve tasks with code."), user(f"New task:\n{TASK}")]
    b.llm(step, 5, 20, asked, [assistant(CODE)], name="OpenAIModel.generate")
    if after and root is not None:
        b.span("save results", 91, 95, root)
    return derive(b.spans)


def test_the_task_and_answer_are_those_of_the_agent_run_among_the_callers_spans() -> None:
    run = code_agent_run()
    assert run.input == TASK  # not the "New task:" message the model was sent
    assert run.output == "Paris"  # the value final_answer was given, not the model's code
    assert run.issues == []
    alone = code_agent_run(before=False, after=False)
    assert (alone.input, alone.output) == (TASK, "Paris")
    unwrapped = code_agent_run(wrapped=False)
    assert (unwrapped.input, unwrapped.output) == (TASK, "Paris")


def test_a_run_without_its_recorded_answer_answers_with_the_models_last_text() -> None:
    run = code_agent_run(answer=None)
    assert run.output == CODE  # the last assistant text, a ReAct-less thought kept whole
    assert run.input == TASK


def test_an_answer_recorded_as_a_number_is_read_as_text_and_flagged() -> None:
    for wrapped in (True, False):
        run = code_agent_run(answer=42, wrapped=wrapped)
        assert run.output == "42"
        assert run.issues == ["coerced_values"]


def test_the_task_is_the_first_runs_and_the_answer_the_last_runs() -> None:
    run = derive(recorded("two_turns"))
    assert run.input == "What is OpenTelemetry?"
    assert run.output == "The CNCF hosts it."


def test_with_its_root_lost_a_run_still_has_its_first_task_and_last_answer() -> None:
    """The root of ours is exported when it ends: a process that dies first leaves the agent
    runs under a parent the trace lacks."""
    spans = recorded("two_turns")
    (root,) = [s for s in spans if s.parent_id is None]
    run = derive([s for s in spans if s is not root])
    assert (run.input, run.output) == ("What is OpenTelemetry?", "The CNCF hosts it.")
    assert run.issues == ["orphan_spans", "multiple_roots", "no_root_span"]


def test_a_task_is_found_after_spans_of_the_callers_own_under_a_lost_root() -> None:
    spans = recorded("one_tool")
    (root,) = [s for s in spans if s.parent_id is None]
    (agent_run,) = [s for s in spans if s.name == "assistant.run"]
    first = replace(  # the caller's own span, before the agent runs
        root,
        span_id=root.span_id + 1,
        parent_id=root.span_id,
        name="load dataset",
        end_ns=agent_run.start_ns - 1,
    )
    run = derive([first, *(s for s in spans if s is not root)])
    assert (run.input, run.output) == ("What is OpenTelemetry?", "OTel is a CNCF project.")


def test_a_streamed_calls_run_lasts_until_its_first_token() -> None:
    """A model streamed outside any agent step: its span ends before the first token comes."""
    b = TraceBuilder()
    asked = [user("Say hi.")]
    b.llm(None, 10, 12, asked, [assistant("Hi!")], name="OpenAI.astream_chat", first_token=40)
    run = derive(b.spans)
    (call,) = run.llm_calls
    assert (call.start_ns, call.end_ns, call.time_to_first_token_ns) == (10 * MS, 40 * MS, 30 * MS)
    assert (run.start_ns, run.end_ns) == (10 * MS, 40 * MS)
    assert (run.timings.wall_ns, run.timings.llm_ns, run.timings.other_ns) == (30 * MS, 30 * MS, 0)
