"""Attribute readers: what a span says about LLM calls, tools and agents, per convention.

Each function tries OpenInference first (``_openinference``), then the OTel GenAI conventions
and OpenLLMetry (``_genai``), and returns neutral facts (``_facts``); derivation never reads
attribute names itself.
"""

from __future__ import annotations

from ..spans import SpanRecord
from . import _genai as genai
from . import _openinference as openinference
from . import genai_attributes
from ._facts import Convention, LLMFacts, Message, ToolFacts, message_key

__all__ = [
    "Convention",
    "LLMFacts",
    "Message",
    "ToolFacts",
    "activation_agent",
    "carries_agent",
    "explicit_agent",
    "genai_attributes",
    "handoff_target",
    "is_llm_call",
    "is_tool",
    "message_key",
    "read_llm",
    "read_tool",
    "step_agent",
    "step_tool_call_id",
]


def is_llm_call(span: SpanRecord) -> bool:
    """True for a span that is (or wraps) a real model call."""
    return openinference.is_llm_call(span) or genai.is_llm_call(span)


def is_tool(span: SpanRecord) -> bool:
    """True for a tool execution span."""
    return openinference.is_tool(span) or genai.is_tool(span)


def read_llm(span: SpanRecord) -> LLMFacts:
    """Facts of an LLM call span."""
    if openinference.is_llm_call(span):
        return openinference.read_llm(span)
    return genai.read_llm(span)


def read_tool(span: SpanRecord) -> ToolFacts:
    """Facts of a tool span."""
    if openinference.is_tool(span):
        return openinference.read_tool(span)
    return genai.read_tool(span)


def explicit_agent(span: SpanRecord) -> str | None:
    """The agent named by the span's own attributes (enriched or GenAI spans)."""
    return openinference.explicit_agent(span) or genai.explicit_agent(span)


def step_agent(span: SpanRecord) -> str | None:
    """The agent of an agent-step span (one turn: ``run_agent_step`` and the like), else None.

    A ``run_agent_step`` exported without its input repr still names its agent in an explicit
    attribute (``agent.name``, ``gen_ai.agent.name``).
    """
    agent = openinference.step_agent(span) or genai.step_agent(span)
    if agent is None and openinference.is_step(span):
        agent = explicit_agent(span)
    return agent


def activation_agent(span: SpanRecord) -> str | None:
    """The agent of a span covering a whole activation of it (GenAI ``invoke_agent``)."""
    return genai.activation_agent(span)


def carries_agent(span: SpanRecord) -> bool:
    """A step whose agent is the one named by its earlier sibling steps (OpenLLMetry tasks)."""
    return genai.carries_agent(span)


def handoff_target(span: SpanRecord) -> str | None:
    """The target agent a transfer (handoff) tool span names, else None.

    ``gen_ai.transfer.target.name`` (the GenAI conventions), or the unmerged proposal's name
    that earlier otel-bridge exports carry.
    """
    attrs = span.attributes
    target = attrs.get(genai_attributes.TRANSFER_TARGET_NAME) or attrs.get(
        genai_attributes.HANDOFF_TARGET
    )
    return str(target) if target else None


def step_tool_call_id(span: SpanRecord) -> str | None:
    """The tool call id of a ``call_tool`` step span, else None."""
    return openinference.step_tool_call_id(span)
