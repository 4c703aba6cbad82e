"""Whose each span is: an agent's steps and runs as each framework records them, an agent
OpenLLMetry's tasks name (and the values they name it with), and the value problems logged
with their trace, even a trace of one span.
"""

from __future__ import annotations

import json
from typing import Any

from support.paths import DATA
from support.value_log import chat_record, derive_logged, record

from otel_bridge import derive, load_spans
from otel_bridge.conventions import genai_attributes as g
from otel_bridge.spans import SpanRecord

MS = 1_000_000
KIND = "openinference.span.kind"


def test_a_smolagents_agents_time_is_its_steps_not_its_whole_run() -> None:
    """The recorded run's ``assistant.run`` lasts 1_326_354_234 ns; its two ``Step N`` spans
    1_289_242_598 and 25_013_041 ns: the agent's time is theirs (setting up the run is not)."""
    trace = derive(load_spans(str(DATA / "smolagents" / "one_tool.otlp.json")))
    assert trace.timings.per_agent_ns == {"assistant": 1_289_242_598 + 25_013_041}
    assert trace.agents["assistant"].duration_ns == 1_314_255_639


def smol_run(name: str, start: float, end: float) -> SpanRecord:
    attrs = {KIND: "AGENT", "smolagents.max_steps": 5, "input.value": '{"task": "Brief me."}'}
    return record(2, 1, f"{name}.run", start, end, attrs)


def smol_call(span_id: int, parent: int, start: float, end: float) -> SpanRecord:
    attrs = {
        KIND: "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 20,
        "llm.token_count.completion": 4,
    }
    return record(span_id, parent, "OpenAIModel.generate", start, end, attrs)


def test_a_model_call_a_smolagents_run_makes_outside_its_steps_is_the_runs_agent() -> None:
    """A planning call, made by the run itself before its first ``Step 1``."""
    spans = [
        record(1, None, "smolagents one_run", 0, 100),
        smol_run("planner", 1, 90),
        smol_call(3, 2, 2, 10),  # planning, outside the steps
        record(4, 2, "Step 1", 11, 80, {KIND: "CHAIN"}),
        smol_call(5, 4, 12, 70),
    ]
    trace = derive(spans)
    assert [c.agent for c in trace.llm_calls] == ["planner", "planner"]
    assert trace.timings.per_agent_ns == {"planner": (8 + 69) * MS}  # its call and its step


def workflow(*spans: SpanRecord) -> list[SpanRecord]:
    root = record(1, None, "AgentWorkflow.workflow", 0, 100, {g.TRACELOOP_SPAN_KIND: "workflow"})
    return [root, *spans]


def task(span_id: int, start: float, end: float, output: Any = None) -> SpanRecord:
    attributes: dict[str, Any] = {g.TRACELOOP_SPAN_KIND: "task"}
    if output is not None:
        attributes[g.TRACELOOP_OUTPUT] = json.dumps(output)
    return record(span_id, 1, "AgentWorkflow.task", start, end, attributes)


def test_an_openllmetry_task_naming_its_agent_by_a_number_is_read_as_text_and_flagged() -> None:
    run, logged = derive_logged(
        workflow(
            task(2, 1, 2, {"input": [], "current_agent_name": 7}),
            task(3, 3, 20),
            chat_record(4, 3, 4, 19, name="openai.chat"),
        )
    )
    assert [c.agent for c in run.llm_calls] == ["7"]
    assert "coerced_values" in run.issues
    assert logged == [
        "span 0000000000000002 attribute traceloop.entity.output current_agent_name:"
        " coerced 7 (text)"
    ]


def test_a_model_call_the_openllmetry_workflow_makes_outside_its_tasks_is_no_agents() -> None:
    """The tasks carry the agent their earlier siblings named; a call straight under the
    workflow (a summary it asks for itself) is not a task, and carries none."""
    trace = derive(
        workflow(
            task(2, 1, 2, {"input": [], "current_agent_name": "researcher"}),
            task(3, 3, 20),
            chat_record(4, 3, 4, 19, name="openai.chat"),
            chat_record(5, 1, 30, 40, name="openai.chat"),
        )
    )
    assert [c.agent for c in trace.llm_calls] == ["researcher", None]
    assert trace.timings.per_agent_ns == {"researcher": (1 + 17) * MS}  # its two tasks


def test_a_trace_of_one_span_logs_its_value_problems_with_its_trace() -> None:
    call = chat_record(9, None, 0, 10, name="openai.chat")
    span = record(9, None, call.name, 0, 10, {**call.attributes, g.AGENT_NAME: 7}, trace_id=0x5)
    run, logged = derive_logged([span])
    assert run.trace_id == f"{0x5:032x}"
    assert run.issues == ["no_message_content", "coerced_values"]
    assert logged == ["span 0000000000000009 attribute gen_ai.agent.name: coerced 7 (text)"]
