"""How an adapter run can end besides a plain answer: an iteration limit, an interrupt, no
spans to derive from, a structured answer or none; real agents against the scripted server."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import StartEvent, StopEvent, Workflow, step
from llama_index.core.workflow.errors import WorkflowRuntimeError
from openinference.semconv.trace import SpanAttributes
from pydantic import BaseModel
from support.adapter_fixtures import (
    calc_agent,
    calc_replies,
    module_telemetry,
    scripted_server,
    server,
)
from support.interrupts import ctrl_c_raises_keyboard_interrupt, press_ctrl_c_while_the_caller_waits

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)

__all__ = ["module_telemetry", "scripted_server", "server"]  # fixtures, imported for pytest


# ---- max_iterations -------------------------------------------------------------------------


def test_max_iterations_bounds_the_workflow_run(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    """The calc script needs three iterations: model call, tool call, model call."""
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    short = LlamaIndexAgentAdapter(calc_agent(server), "calc", module_telemetry, max_iterations=2)
    with pytest.raises(WorkflowRuntimeError, match="Max iterations of 2 reached"):
        short.run("What is 2 + 3?")

    assert len(server.log) == 2
    (log,) = short.logs
    assert (log["status"], log["error_type"]) == ("error", "WorkflowRuntimeError")
    run = short.last_run
    assert run is not None and run.status == "error"
    assert (len(run.llm_calls), [t.name for t in run.tool_calls]) == (2, ["add"])
    assert short.gather_config()["max_iterations"] == 2

    server.clear_log()
    enough = LlamaIndexAgentAdapter(calc_agent(server), "calc", module_telemetry, max_iterations=3)
    assert enough.run("What is 2 + 3?") == "The sum is 5."
    assert len(server.log) == 2


# ---- an interrupt (Ctrl-C) during a run -------------------------------------------------------


@pytest.fixture
def interrupted(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> tuple[LlamaIndexAgentAdapter, threading.Event]:
    """An adapter whose run was interrupted by SIGINT while a tool waited, and whether the
    workflow saw its task cancelled."""
    cancelled = threading.Event()

    async def wait_for_ever() -> str:
        """Wait for an answer that never comes."""
        await press_ctrl_c_while_the_caller_waits()  # the caller blocks in adapter.run
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    server.set_script(
        ConversationRouter(
            {
                "Wait": [Reply(tool_calls=[ToolCallSpec("wait_for_ever", {})], usage=Usage(30, 3))],
                "Then": [Reply(content="Still here.", usage=Usage(20, 2))],
            }
        )
    )
    tool = FunctionTool.from_defaults(async_fn=wait_for_ever)
    agent = FunctionAgent(name="waiter", tools=[tool], llm=scripted_openai_llm(server))
    adapter = LlamaIndexAgentAdapter(agent, "waiter", module_telemetry)
    with ctrl_c_raises_keyboard_interrupt(), pytest.raises(KeyboardInterrupt):
        adapter.run("Wait for me.")
    return adapter, cancelled


def test_an_interrupt_cancels_the_run_logs_it_as_an_error_and_nothing_hangs(
    interrupted: tuple[LlamaIndexAgentAdapter, threading.Event],
) -> None:
    adapter, cancelled = interrupted
    assert cancelled.wait(30), "the workflow's task was not cancelled"
    (log,) = adapter.logs
    assert (log["status"], log["error_type"], log["llm_calls"]) == ("error", "KeyboardInterrupt", 1)
    assert adapter.gather_traces()["trace_ids"] == [log["trace_id"]]

    adapter.reset_conversation()
    assert adapter.run("Then answer.") == "Still here."  # the shared loop serves the next run
    assert adapter.logs[-1]["status"] == "success"


def test_an_interrupted_runs_trace_says_it_failed(
    interrupted: tuple[LlamaIndexAgentAdapter, threading.Event],
) -> None:
    """The RunTrace (and the root span Jaeger and Phoenix show) agree with the log: an error."""
    adapter, _ = interrupted
    run = adapter.last_run
    assert run is not None
    assert adapter.logs[0]["status"] == "error"
    assert run.status == "error"
    assert adapter.gather_traces()["runs"][0]["status"] == "error"


# ---- no spans to derive the run from ---------------------------------------------------------


def test_a_run_whose_spans_were_evicted_keeps_its_answer_and_says_no_spans(
    server: ScriptedLLMServer,
) -> None:
    """A capture that keeps one trace, and a tool that starts another: the run's spans go."""
    with Telemetry(max_traces=1, claim_unscoped=False) as small:

        def note(text: str) -> str:
            """Write a note (in a run of its own)."""
            with small.start_run("note-run"):
                pass
            return "noted"

        server.set_script(
            [Reply(tool_calls=[ToolCallSpec("note", {"text": "x"})]), Reply(content="Done.")]
        )
        agent = FunctionAgent(name="noter", tools=[note], llm=scripted_openai_llm(server))
        adapter = LlamaIndexAgentAdapter(agent, "noter", small)
        assert adapter.run("Take a note.") == "Done."

    assert adapter.last_run is None and adapter.runs == []
    (log,) = adapter.logs
    assert (log["status"], log["issues"], log["message_count"]) == ("success", ["no_spans"], 0)
    assert adapter.gather_traces()["issues"] == ["no_spans"]
    assert adapter.get_messages().to_list() == [{"role": "user", "content": "Take a note."}]


# ---- structured answers, and none ------------------------------------------------------------


class Booking(BaseModel):
    """A table booking."""

    table_for: int
    time: str


BOOKING_JSON = '{"table_for": 4, "time": "20:00"}'


def booking_agent(server: ScriptedLLMServer, text: str) -> FunctionAgent:
    """An agent with structured output: it answers ``text``, then the model fills a Booking."""
    server.set_script(
        [Reply(content=text, usage=Usage(13, 1)), Reply(content=BOOKING_JSON, usage=Usage(40, 12))]
    )
    return FunctionAgent(
        name="booker", tools=[], llm=scripted_openai_llm(server), output_cls=Booking
    )


def test_a_structured_answer_without_text_is_returned_as_json(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = LlamaIndexAgentAdapter(booking_agent(server, ""), "booker", module_telemetry)
    answer = adapter.run("Book a table.")

    assert answer == BOOKING_JSON
    assert len(server.log) == 2  # the agent's turn, then the structured output
    run = adapter.last_run
    assert run is not None
    assert (run.status, run.issues, len(run.llm_calls), run.usage.total_tokens) == (
        "ok",
        [],
        2,
        66,
    )
    (root,) = [s for s in module_telemetry.spans(run.trace_id) if s.parent_id is None]
    assert root.attributes[SpanAttributes.OUTPUT_VALUE] == BOOKING_JSON


def test_a_text_answer_wins_over_a_structured_one(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    agent = booking_agent(server, "Booked for four at eight.")
    adapter = LlamaIndexAgentAdapter(agent, "booker", module_telemetry)
    assert adapter.run("Book a table.") == "Booked for four at eight."
    assert len(server.log) == 2


class Returns(Workflow):
    """A workflow that answers with a fixed value and calls no model."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    @step
    async def answer(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=self.value)


@pytest.mark.parametrize(
    ("value", "answer", "issues"),
    [
        (None, "(no answer: the workflow returned None)", ["no_answer", "no_llm_calls"]),
        ("", "(no answer: the workflow returned an empty answer)", ["no_answer", "no_llm_calls"]),
        (42, "42", ["no_llm_calls"]),
    ],
)
def test_a_workflow_result_that_is_not_an_agent_output(
    module_telemetry: Telemetry, value: Any, answer: str, issues: list[str]
) -> None:
    adapter = LlamaIndexAgentAdapter(Returns(value), "plain", module_telemetry)
    assert adapter.run("Anything?") == answer  # MASEval's contract: a non-empty str

    run = adapter.last_run
    assert run is not None
    assert (run.status, run.issues, run.llm_calls) == ("ok", ["no_llm_calls"], [])
    assert adapter.logs[-1]["status"] == "success"
    assert run.output != answer  # the stand-in is for MASEval only, never the run's output
    assert adapter.logs[-1]["issues"] == issues
    assert adapter.gather_traces()["issues"] == issues
    assert adapter.get_messages().to_list() == [{"role": "user", "content": "Anything?"}]
