"""Handoffs as a run lists them: in time order whether a span or only the model's request
records them, the last one of a run kept unless the workflow refused it, a target that is not
text refused and flagged."""

from __future__ import annotations

from typing import Any

from support.genai_spans import genai_chat as chat
from support.records import MS, TraceBuilder, assistant, sys, user

from otel_bridge import RunTrace, derive
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.run_trace import Handoff

OPENAI_AGENTS = "opentelemetry.instrumentation.genai.openai_agents"


def escalation(target: object) -> dict[str, Any]:
    """A GenAI ``execute_tool`` span of the ``escalate`` tool, handing off to ``target``."""
    return {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: "escalate",
        genai.TOOL_CALL_ID: "c2",
        genai.TOOL_CALL_ARGUMENTS: "{}",
        genai.TOOL_CALL_RESULT: "escalated",
        genai.TRANSFER_TARGET_NAME: target,
    }


def team(target: object = "editor") -> RunTrace:
    """researcher -> writer by a ``transfer_to_writer`` call no span records (OpenTelemetry's
    own instrumentation of the OpenAI Agents SDK), then writer -> ``target`` by a tool span."""
    b = TraceBuilder(scope=OPENAI_AGENTS)
    root = b.span("workflow", 0, 100)
    runs = {}
    for agent, start, end in [("researcher", 0, 40), ("writer", 50, 80), ("editor", 85, 99)]:
        attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: agent}
        runs[agent] = b.span(f"invoke_agent {agent}", start, end, root, attrs=attrs)
    b.span("chat", 1, 10, runs["researcher"], attrs=chat(call=("c1", "transfer_to_writer")))
    b.span("chat", 51, 60, runs["writer"], attrs=chat(call=("c2", "escalate")))
    b.span("execute_tool escalate", 61, 65, runs["writer"], attrs=escalation(target))
    b.span("chat", 86, 98, runs["editor"], attrs=chat("Edited."))
    return derive(b.spans)


def test_handoffs_recorded_by_a_span_or_only_requested_are_in_time_order() -> None:
    run = team()
    assert run.handoffs == [
        Handoff("researcher", "writer", None, 10 * MS, "c1"),  # only the model's request
        Handoff("writer", "editor", None, 61 * MS, "c2"),  # the tool span names its target
    ]
    assert run.issues == []


def test_a_handoff_target_that_is_not_text_is_refused_and_flagged() -> None:
    run = team(target=["editor"])
    assert run.handoffs == [Handoff("researcher", "writer", None, 10 * MS, "c1")]
    assert run.issues == ["rejected_values"]


def handoff_at_the_end(said: str) -> RunTrace:
    """A LlamaIndex AgentWorkflow run ending on the researcher's handoff: no call follows it."""
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "researcher", 1, 10)
    asks = assistant(calls=[("c1", "handoff", {"to_agent": "writer", "reason": "ready"})])
    b.llm(step, 2, 9, [sys("You research."), user("Brief me.")], [asks])
    arguments = {"to_agent": "writer", "reason": "ready"}
    b.tool(b.call_tool(root, "c1", 11, 20), "handoff", arguments, said, 12, 19)
    return derive(b.spans)


def test_a_handoff_ending_the_run_stands_unless_the_workflow_refused_it() -> None:
    taken = handoff_at_the_end(
        "Agent writer is now handling the request due to the following reason: ready."
    )
    assert taken.handoffs == [Handoff("researcher", "writer", "ready", 12 * MS, "c1")]
    assert taken.issues == []
    refused = handoff_at_the_end("Agent writer not found. Please select a valid agent.")
    assert refused.handoffs == []
    assert refused.issues == ["handoff_rejected"]
