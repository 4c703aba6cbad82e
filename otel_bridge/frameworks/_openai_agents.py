"""The OpenAI Agents SDK (``agents``): agents, handoffs and agents used as tools.

OpenInference's instrumentor turns the SDK's own trace into spans: the run is an AGENT span
``Agent workflow``, each agent activation an AGENT span named after the agent with
``agent.name``, each turn a ``turn`` CHAIN, each model call a ``generation`` LLM span, each
function tool a TOOL span named after it (arguments as JSON in ``input.value``). A handoff is
a TOOL span ``handoff to <agent>`` whose input is the agent handing off and whose output the
agent taking over; the model called it as ``transfer_to_<agent>``. An agent used as a tool
(``agent.as_tool()``) is a TOOL span with the other agent's ``Agent workflow`` inside: a
delegation (``derivation`` finds it by that shape). A streamed call on chat completions
(``Runner.run_streamed`` with ``OpenAIChatCompletionsModel``) records its answer only as the
SDK's Responses-API objects in ``output.value``, without output messages: read from there.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

from ..conventions import (
    Message,
    Note,
    ToolFacts,
    ValueNotes,
    as_text,
    genai_attributes,
    json_value,
)
from ..run_trace import ToolCall
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer

__all__ = ["OPENAI_AGENTS", "OpenAIAgents"]

HANDOFF_SPAN = "handoff to "
TRANSFER_PREFIX = "transfer_to_"
RUN_SPAN = "Agent workflow"
_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
_AGENT_KIND = OpenInferenceSpanKindValues.AGENT.value
_AGENT_NAME = SpanAttributes.AGENT_NAME
_LLM_KIND = OpenInferenceSpanKindValues.LLM.value
_OUTPUT = SpanAttributes.OUTPUT_VALUE
_CALL_NAME = f"{_OUTPUT} function_call.name"
_CALL_ID = f"{_OUTPUT} function_call.call_id"


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

    def matches_tool_calls(self, span: SpanRecord) -> bool:
        """Its handoff spans, and OpenTelemetry's own ``execute_tool`` spans of it, carry no call
        id: they are matched to the model's tool calls."""
        return span.name.startswith(HANDOFF_SPAN) or span.scope.startswith(self.scopes)

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """A handoff span is the ``transfer_to_<agent>`` tool call the model made."""
        target = _handoff_target(span, facts)
        if target is None:
            return facts
        return replace(facts, name=f"{TRANSFER_PREFIX}{_tool_name(target)}", arguments={})

    def recorded_answer(self, span: SpanRecord, notes: ValueNotes | None) -> list[Message]:
        """A ``generation`` whose ``output.value`` holds Responses-API objects (a streamed call
        on chat completions): one assistant message per response, its text and tool calls."""
        attrs = span.attributes
        raw = attrs.get(_OUTPUT)
        if attrs.get(_KIND) != _LLM_KIND or type(raw) is not str or '"response"' not in raw:
            return []
        note = notes.for_span(span) if notes is not None else None
        value, parsed = json_value(raw, _OUTPUT, note, text_ok=True)
        responses = value if parsed and isinstance(value, list) else [value]
        return [
            _answer(response["output"], note)
            for response in responses
            if isinstance(response, Mapping)
            and response.get("object") == "response"
            and isinstance(response.get("output"), list)
        ]

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
    """The agent a handoff span hands to: the SDK's ``handoff to <agent>`` (its output names
    the agent), or the same span as otel-bridge exported it (renamed, with the target in
    ``gen_ai.transfer.target.name`` or, in OpenInference, its output and ``tool.name``)."""
    attrs = span.attributes
    if span.name.startswith(HANDOFF_SPAN):
        output = facts.output if facts is not None else attrs.get(SpanAttributes.OUTPUT_VALUE)
        if isinstance(output, str) and output:
            return output
        return span.name[len(HANDOFF_SPAN) :] or None
    if not span.scope.startswith(OpenAIAgents.scopes):
        return None
    target = attrs.get(genai_attributes.TRANSFER_TARGET_NAME)
    if isinstance(target, str) and target:
        return target
    name, output = attrs.get(SpanAttributes.TOOL_NAME), attrs.get(SpanAttributes.OUTPUT_VALUE)
    if isinstance(name, str) and name.startswith(TRANSFER_PREFIX) and isinstance(output, str):
        return output or None
    return None


def _answer(items: list[Any], note: Note | None) -> Message:
    """One assistant message of a response's output items (message text, function calls);
    a call's arguments as JSON text, as OpenAI's format has them, whatever form they came in."""
    texts, calls = [], []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            parts = item.get("content")
            texts += [
                p["text"]
                for p in (parts if isinstance(parts, list) else [])
                if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            ]
        elif item.get("type") == "function_call":
            arguments = item.get("arguments")
            if not isinstance(arguments, str):
                arguments = "{}" if arguments is None else json.dumps(arguments)
            function = {"name": as_text(item.get("name"), _CALL_NAME, note), "arguments": arguments}
            call_id = as_text(item.get("call_id"), _CALL_ID, note)
            calls.append({"id": call_id, "type": "function", "function": function})
    message: Message = {"role": "assistant", "content": "".join(texts)}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_name(agent: str) -> str:
    """The SDK's default handoff tool name part for an agent name."""
    return agent.replace(" ", "_").replace("-", "_").lower()
