"""The OpenAI Agents SDK (``agents``): agents, handoffs and agents used as tools.

OpenInference's instrumentor turns the SDK's own trace into spans: the run is an AGENT span
``Agent workflow``, each agent activation an AGENT span named after the agent with
``agent.name``, each turn a ``turn`` CHAIN, each model call a ``generation`` LLM span, each
function tool a TOOL span named after it (arguments as JSON in ``input.value``). A handoff is
a TOOL span ``handoff to <agent>`` whose input is the agent handing off and whose output the
agent taking over; the model called it as ``transfer_to_<agent>``. An agent used as a tool
(``agent.as_tool()``) is a TOOL span with the other agent's ``Agent workflow`` inside: a
delegation (``derivation`` finds it by that shape).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

from ..conventions import ToolFacts, ValueNotes, as_text, genai_attributes
from ..run_trace import ToolCall
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer

__all__ = ["OPENAI_AGENTS", "OpenAIAgents"]

HANDOFF_SPAN = "handoff to "
TRANSFER_PREFIX = "transfer_to_"
EXPORTED_HANDOFF = f"execute_tool {TRANSFER_PREFIX}"
RUN_SPAN = "Agent workflow"
_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
_AGENT_KIND = OpenInferenceSpanKindValues.AGENT.value
_AGENT_NAME = SpanAttributes.AGENT_NAME


class OpenAIAgents(Framework):
    """The OpenAI Agents SDK, as OpenInference's instrumentor records it."""

    title = "the OpenAI Agents SDK"
    name = "openai_agents"
    instrumentation = Instrumentation(
        instrumentor="openinference.instrumentation.openai_agents:OpenAIAgentsInstrumentor",
        requires=("agents",),
        extra="openai-agents",
    )
    scopes = (
        "openinference.instrumentation.openai_agents",
        "opentelemetry.instrumentation.genai.openai_agents",
        "opentelemetry.instrumentation.openai_agents",
    )

    def recognizes(self, span: SpanRecord) -> bool:
        """By scope, else by the SDK's run span."""
        return super().recognizes(span) or (
            span.name == RUN_SPAN and span.attributes.get(_KIND) == _AGENT_KIND
        )

    def activation_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """An AGENT span naming its agent (``agent.name``): one activation of that agent."""
        attrs = span.attributes
        if attrs.get(_KIND) != _AGENT_KIND:
            return None
        note = notes.for_span(span) if notes is not None else None
        return as_text(attrs.get(_AGENT_NAME), _AGENT_NAME, note) or None

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """A handoff span is the ``transfer_to_<agent>`` tool call the model made."""
        target = _handoff_target(span, facts)
        if target is None:
            return facts
        return replace(facts, name=f"{TRANSFER_PREFIX}{_tool_name(target)}", arguments={})

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """``handoff to <agent>``: control passes to that agent."""
        target = _handoff_target(span, None)
        return None if target is None else Transfer(to_agent=target, reason=None)

    def requested_transfer(self, tool_name: str, agents: Collection[str]) -> str | None:
        """``transfer_to_<agent>``: the SDK's name for a handoff tool (OpenTelemetry's own
        instrumentation records no span of the handoff itself)."""
        if not tool_name.startswith(TRANSFER_PREFIX):
            return None
        wanted = tool_name[len(TRANSFER_PREFIX) :]
        return next((a for a in agents if _tool_name(a) == wanted), None)


OPENAI_AGENTS = OpenAIAgents()


def _handoff_target(span: SpanRecord, facts: ToolFacts | None) -> str | None:
    """The agent a handoff span hands to: the SDK's ``handoff to <agent>``, or the same span
    as otel-bridge exports it (``execute_tool transfer_to_<agent> <agent>``)."""
    if span.name.startswith(EXPORTED_HANDOFF):
        target = span.attributes.get(genai_attributes.TRANSFER_TARGET_NAME)
        return target if isinstance(target, str) and target else None
    if not span.name.startswith(HANDOFF_SPAN):
        return None
    output = facts.output if facts is not None else span.attributes.get(SpanAttributes.OUTPUT_VALUE)
    if isinstance(output, str) and output:
        return output
    return span.name[len(HANDOFF_SPAN) :] or None


def _tool_name(agent: str) -> str:
    """The SDK's default handoff tool name part for an agent name."""
    return agent.replace(" ", "_").replace("-", "_").lower()
