"""When a handoff counts: the first agent to call its model after the handoff tool decides;
with no later call, the tool's own words do (AgentWorkflow answers a refusal in words); every
refusal is flagged and none hides a later handoff. On hand-built LlamaIndex-shaped records,
and on GenAI spans where only the model's ``transfer_to_<agent>`` request records a handoff.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.genai_spans import genai_chat
from support.records import MS, TraceBuilder, assistant, user

from otel_bridge import derive
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.run_trace import Handoff, RunTrace
from otel_bridge.spans import StatusName

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def took_over(agent: str, reason: str = "ready") -> str:
    """AgentWorkflow's answer to a handoff it made."""
    return (
        f"Agent {agent} is now handling the request due to the following reason: {reason}.\n"
        "Please continue with the current request."
    )


class Run:
    """A LlamaIndex AgentWorkflow run, turn by turn, 10 ms a turn."""

    def __init__(self) -> None:
        self.b = TraceBuilder()
        self.root = self.b.root(0, 1000)
        self.t = 0

    def call(self, agent: str | None, asks: tuple[str, str] | None = None) -> None:
        """A model call of ``agent`` (None: outside any agent's step), asking for the handoff
        ``asks`` (call id, target) or answering."""
        said = assistant(f"{agent} here")
        if asks is not None:
            said = assistant(calls=[(asks[0], "handoff", {"to_agent": asks[1], "reason": "ready"})])
        if agent is None:
            self.b.llm(self.root, self.t + 1, self.t + 9, [user("Brief me.")], [said])
        else:
            step = self.b.step(self.root, agent, self.t, self.t + 10)
            self.b.llm(step, self.t + 1, self.t + 9, [user("Brief me.")], [said])
        self.t += 10

    def handoff(self, call_id: str, to: str, output: str, status: StatusName = "OK") -> int:
        """The handoff tool the last call asked for; its start (ns)."""
        ct = self.b.call_tool(self.root, call_id, self.t + 1, self.t + 9)
        arguments = {"to_agent": to, "reason": "ready"}
        self.b.tool(ct, "handoff", arguments, output, self.t + 2, self.t + 8, status=status)
        self.t += 10
        return (self.t - 8) * MS

    def derive(self) -> RunTrace:
        """The derived run."""
        return derive(self.b.spans)


def researcher_hands_off(output: str = took_over("writer"), to: str = "writer") -> tuple[Run, int]:
    """The researcher asks for a handoff and its tool answers ``output``."""
    run = Run()
    run.call("researcher", asks=("h1", to))
    return run, run.handoff("h1", to, output)


@pytest.mark.parametrize(
    ("after", "accepted"),
    [
        (["writer"], True),
        (["researcher", "writer"], False),  # the researcher went on: the writer came later
        ([None, "writer"], True),  # a call of no agent in between decides nothing
        ([None, "researcher", "writer"], False),
        (["writer", "researcher", "writer"], True),
    ],
)
def test_the_first_agent_to_call_its_model_after_the_handoff_decides(
    after: list[str | None], accepted: bool
) -> None:
    run, at = researcher_hands_off()
    for agent in after:
        run.call(agent)
    trace = run.derive()
    if accepted:
        assert trace.handoffs == [Handoff("researcher", "writer", "ready", at, "h1")]
        assert "handoff_rejected" not in trace.issues
    else:
        assert trace.handoffs == []
        assert "handoff_rejected" in trace.issues


def test_the_next_agents_call_outweighs_words_in_the_handoffs_reason() -> None:
    """The model's reason holds AgentWorkflow's words of a refusal; the writer took over."""
    words = took_over("writer", "the researcher cannot hand off half-done notes")
    run, at = researcher_hands_off(words)
    run.call("writer")
    trace = run.derive()
    assert trace.handoffs == [Handoff("researcher", "writer", "ready", at, "h1")]
    assert trace.issues == []


def test_a_run_ending_on_a_handoff_goes_by_what_the_workflow_answered() -> None:
    run, at = researcher_hands_off()
    trace = run.derive()  # the trace ends before the writer's turn
    assert trace.handoffs == [Handoff("researcher", "writer", "ready", at, "h1")]
    assert trace.issues == []

    unknown = (
        "Agent zed not found. Please select a valid agent to hand off to. Valid agents: writer"
    )
    run, _ = researcher_hands_off(unknown, to="zed")
    trace = run.derive()
    assert trace.handoffs == []
    assert trace.issues == ["handoff_rejected"]

    forbidden = (
        "Agent writer cannot hand off to researcher. Please select a valid agent to hand off to."
    )
    run, _ = researcher_hands_off(forbidden)
    trace = run.derive()
    assert trace.handoffs == []
    assert trace.issues == ["handoff_rejected"]


def test_refusals_of_either_kind_are_flagged_and_hide_no_later_handoff() -> None:
    """The first handoff's tool raised; the second was answered but the researcher went on;
    the third was followed by the writer."""
    run = Run()
    run.call("researcher", asks=("h1", "writer"))
    run.handoff("h1", "writer", "", status="ERROR")
    run.call("researcher", asks=("h2", "writer"))
    run.handoff("h2", "writer", took_over("writer"))
    run.call("researcher", asks=("h3", "writer"))
    at = run.handoff("h3", "writer", took_over("writer"))
    run.call("writer")
    trace = run.derive()
    assert trace.handoffs == [Handoff("researcher", "writer", "ready", at, "h3")]
    assert trace.issues == ["handoff_rejected"]


# ---- a handoff only the model's request records (OpenTelemetry's OpenAI Agents SDK spans) ----


def chat(text: str | None = None, transfer_to: str | None = None) -> dict[str, Any]:
    """A GenAI ``chat`` span's attributes: the answer ``text``, or a ``transfer_to_<agent>``
    tool call."""
    if transfer_to is None:
        return genai_chat(text)
    return genai_chat(call=(f"call_{transfer_to}", f"transfer_to_{transfer_to}"))


def test_a_transfer_the_model_asked_for_last_is_no_handoff() -> None:
    """The writer hands to the researcher, who asks to transfer back; the trace ends there."""
    b = TraceBuilder(scope="opentelemetry.instrumentation.genai.openai_agents")
    root = b.span("workflow", 0, 100)
    ends = []
    for agent, start, to in [("writer", 0, "researcher"), ("researcher", 50, "writer")]:
        attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: agent}
        activation = b.span(f"invoke_agent {agent}", start, start + 40, root, attrs=attrs)
        ends.append(b.span("chat", start + 1, start + 10, activation, attrs=chat(transfer_to=to)))
    trace = derive(b.spans)
    assert trace.handoffs == [
        Handoff("writer", "researcher", None, ends[0].end_ns, "call_researcher")
    ]
