"""Attribute readers: what a span says about LLM calls, tools and agents, per convention.

Conventions only: what a span of any framework says by OpenInference's or the GenAI
conventions' names (what a framework's own span shapes mean is ``frameworks``). Each function
tries OpenInference first (``_openinference``), then the OTel GenAI conventions
and OpenLLMetry (``_genai``), and returns neutral facts (``_facts``); derivation never reads
attribute names itself. Every value is read by the rules of ``_values`` (one rule per kind of
attribute: accepted, coerced or rejected as missing), so no value a span holds makes a reader
raise; the readers that take ``notes`` record there each value they coerced or rejected.
"""

from __future__ import annotations

from dataclasses import replace

from ..spans import SpanRecord
from . import _genai as genai
from . import _openinference as openinference
from . import genai_attributes
from ._facts import Convention, LLMFacts, Message, ToolFacts, message_key
from ._labels import LABEL_KEYS, RunLabels, empty_labels, run_labels
from ._values import (
    MAX_JSON_DEPTH,
    Note,
    ValueNotes,
    ValueProblem,
    as_text,
    json_value,
    parse_json,
)

__all__ = [
    "LABEL_KEYS",
    "MAX_JSON_DEPTH",
    "Convention",
    "LLMFacts",
    "Message",
    "Note",
    "RunLabels",
    "ToolFacts",
    "ValueNotes",
    "ValueProblem",
    "activation_agent",
    "as_text",
    "carries_agent",
    "empty_labels",
    "explicit_agent",
    "genai_attributes",
    "handoff_target",
    "is_llm_call",
    "is_tool",
    "json_value",
    "message_key",
    "parse_json",
    "read_llm",
    "read_tool",
    "run_labels",
]


def is_llm_call(span: SpanRecord) -> bool:
    """True for an LLM call span by its convention (its framework may disown it)."""
    return openinference.is_llm_call(span) or genai.is_llm_call(span)


def is_tool(span: SpanRecord) -> bool:
    """True for a tool execution span."""
    return openinference.is_tool(span) or genai.is_tool(span)


def read_llm(span: SpanRecord, notes: ValueNotes | None = None) -> LLMFacts:
    """Facts of an LLM call span (values coerced or rejected are recorded in ``notes``)."""
    if openinference.is_llm_call(span):
        return openinference.read_llm(span, notes)
    return genai.read_llm(span, notes)


def read_tool(span: SpanRecord, notes: ValueNotes | None = None) -> ToolFacts:
    """Facts of a tool span (values coerced or rejected are recorded in ``notes``)."""
    if not openinference.is_tool(span):
        return genai.read_tool(span, notes)
    facts = openinference.read_tool(span, notes)
    if genai.is_tool(span) and (facts.tool_call_id is None or facts.name == span.name):
        # Written in both conventions (otel-bridge's ``both`` export): what OpenInference's
        # names leave out, the GenAI ones may say.
        other = genai.read_tool(span, notes)
        facts = replace(
            facts,
            name=other.name if facts.name == span.name else facts.name,
            tool_call_id=facts.tool_call_id or other.tool_call_id,
        )
    return facts


def explicit_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent named by the span's own attributes (enriched or GenAI spans)."""
    return openinference.explicit_agent(span, notes) or genai.explicit_agent(span, notes)


def activation_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of a span covering a whole activation of it (GenAI ``invoke_agent``)."""
    return genai.activation_agent(span, notes)


def carries_agent(span: SpanRecord) -> bool:
    """A step whose agent is the one named by its earlier sibling steps (OpenLLMetry tasks)."""
    return genai.carries_agent(span)


def handoff_target(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The target agent a transfer (handoff) tool span names, else None.

    ``gen_ai.transfer.target.name`` (the GenAI conventions), or the unmerged proposal's name
    that earlier otel-bridge exports carry.
    """
    attrs = span.attributes
    note = notes.for_span(span) if notes is not None else None
    for key in (genai_attributes.TRANSFER_TARGET_NAME, genai_attributes.HANDOFF_TARGET):
        target = as_text(attrs.get(key), key, note)
        if target:
            return target
    return None
