"""Attribute readers: what a span says about LLM calls, tools and agents, per convention.

``read_llm`` / ``read_tool`` / ``read_agent`` try OpenInference first, then OTel GenAI, and
return neutral facts; derivation never reads attribute names itself.
"""

from __future__ import annotations

from ..spans import SpanRecord
from . import _genai as genai
from . import _openinference as openinference
from . import genai_attributes
from ._facts import LLMFacts, Message, ToolFacts, message_key

__all__ = [
    "LLMFacts",
    "Message",
    "ToolFacts",
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
    """The agent of an agent-step span (``run_agent_step`` and the like), else None."""
    return openinference.step_agent(span) or genai.step_agent(span)


def handoff_target(span: SpanRecord) -> str | None:
    """The target agent a handoff tool span names (enriched spans), else None."""
    target = span.attributes.get(genai_attributes.HANDOFF_TARGET)
    return str(target) if target else None


def step_tool_call_id(span: SpanRecord) -> str | None:
    """The tool call id of a ``call_tool`` step span, else None."""
    return openinference.step_tool_call_id(span)
