"""Enrichment before export: every exported span says which agent it belongs to.

LlamaIndex's OpenInference spans name the agent only inside a step's input repr, so Jaeger and
Phoenix show neither who made a call nor where a handoff happened. Before export each trace is
derived (``derive``) and its spans are copied with: on LLM, TOOL and step spans ``agent.name``,
``graph.node.id``/``.name`` (the agent), ``graph.node.parent_id`` (who first handed off to it,
else the workflow node) and ``gen_ai.agent.name``; on handoff tool spans the handoff source and
target; on the workflow and root spans the whole user input and final answer. No agent name
goes on the workflow or run span, nor above a call derive leaves without an agent: derive()
gives the same RunTrace from enriched spans as from plain ones.

The buffering exporter that applies it lives in ``_trace_buffer``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan

from .. import conventions as conv
from ..conventions import genai_attributes as genai
from ..derivation import derive
from ..run_trace import LLMCall, RunTrace, ToolCall
from ..spans import SpanIndex, SpanRecord

__all__ = ["AGENT_KEYS", "enrich_span", "enrichment"]

logger = logging.getLogger(__name__)

AGENT_KEYS = (SpanAttributes.AGENT_NAME, SpanAttributes.GRAPH_NODE_NAME, genai.AGENT_NAME)
AGENT_KINDS = frozenset(
    {OpenInferenceSpanKindValues.LLM.value, OpenInferenceSpanKindValues.TOOL.value}
)
TEXT = OpenInferenceMimeTypeValues.TEXT.value

Extra = dict[str, Any]


# ---- what to add: pure, over one trace's records ------------------------------------------


def enrichment(records: Sequence[SpanRecord]) -> dict[int, Extra]:
    """Attributes to add, by span id, to the spans of one trace (from its derivation)."""
    run = derive(records)
    index = SpanIndex(list(records))
    steps = [s for s in index.spans if conv.step_agent(s)]
    agents = _agents_by_span(run, index, steps)
    workflow = (index.parent(steps[0]) if steps else None) or (index.roots or index.orphans)[0]
    parents = _node_parents(run, agents, workflow.name)
    blocked = _shadowing(run, index, agents)
    extra: dict[int, Extra] = {}
    for span_id, agent in agents.items():
        if span_id not in blocked:
            extra[span_id] = {
                **dict.fromkeys(AGENT_KEYS, agent),
                SpanAttributes.GRAPH_NODE_ID: agent,
                SpanAttributes.GRAPH_NODE_PARENT_ID: parents[agent],
            }
    tools = {(t.start_ns, t.tool_call_id): t for t in run.tool_calls}
    for handoff in run.handoffs:
        tool = tools.get((handoff.at_ns, handoff.tool_call_id))
        if tool is not None:
            attrs = extra.setdefault(int(tool.span_id, 16), {})
            attrs[genai.HANDOFF_TARGET] = handoff.to_agent
            if handoff.from_agent:
                attrs[genai.HANDOFF_SOURCE] = handoff.from_agent
    io = _run_io(run)
    for span in {workflow.span_id: workflow, **{r.span_id: r for r in index.roots}}.values():
        if span.span_id not in agents and not _read_by_derive(span):
            attrs = extra.setdefault(span.span_id, {})
            attrs.update(io)
            if span is workflow and agents:
                attrs[SpanAttributes.GRAPH_NODE_ID] = workflow.name
            if not attrs:
                del extra[span.span_id]
    return extra


def _agents_by_span(run: RunTrace, index: SpanIndex, steps: list[SpanRecord]) -> dict[int, str]:
    """The agent of each step, LLM and tool span (as derived); steps first, in start order."""
    agents: dict[int, str] = {s.span_id: str(conv.step_agent(s)) for s in steps}
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    call_ids = {int(call.span_id, 16) for call in calls}
    for call in calls:
        if call.agent:
            agents[int(call.span_id, 16)] = call.agent
    for span in index.spans:
        # Tool preparation and nested LLM spans (not calls): the agent of the call or step
        # around them. A call keeps the agent derive gave it, even none.
        if (
            span.span_id not in call_ids
            and span.span_id not in agents
            and span.attributes.get(SpanAttributes.OPENINFERENCE_SPAN_KIND) in AGENT_KINDS
        ):
            agent = next(
                (agents[p.span_id] for p in index.ancestors(span) if p.span_id in agents), None
            )
            if agent is not None:
                agents[span.span_id] = agent
    return agents


def _node_parents(run: RunTrace, agents: Mapping[int, str], root_node: str) -> dict[str, str]:
    """Graph parent of each agent: who first handed off to it; the first agent's is the root."""
    first = next(iter(agents.values()), None)
    parents = dict.fromkeys(agents.values(), root_node)
    handed: set[str] = set()
    for handoff in run.handoffs:
        target = handoff.to_agent
        if target != first and target not in handed and handoff.from_agent:
            handed.add(target)
            parents[target] = handoff.from_agent
    return parents


def _shadowing(run: RunTrace, index: SpanIndex, agents: Mapping[int, str]) -> set[int]:
    """Spans that must not carry an agent name: a call below them has no agent in derive.

    For example an LLM called inside a tool: its only agent-named ancestor would be the tool.
    """
    blocked: set[int] = set()
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    for call in calls:
        if call.agent:
            continue
        span = index.by_id.get(int(call.span_id, 16))
        for parent in index.ancestors(span) if span else ():
            if conv.explicit_agent(parent) or conv.step_agent(parent):
                break
            if parent.span_id in agents:
                blocked.add(parent.span_id)
    return blocked


def _read_by_derive(span: SpanRecord) -> bool:
    """True for spans whose input/output derive reads (calls, tools and steps)."""
    return bool(
        conv.is_llm_call(span)
        or conv.is_tool(span)
        or conv.step_agent(span)
        or conv.step_tool_call_id(span)
    )


def _run_io(run: RunTrace) -> Extra:
    io: Extra = {}
    for key, mime, value in (
        (SpanAttributes.INPUT_VALUE, SpanAttributes.INPUT_MIME_TYPE, run.input),
        (SpanAttributes.OUTPUT_VALUE, SpanAttributes.OUTPUT_MIME_TYPE, run.output),
    ):
        if value is not None:
            io[key], io[mime] = value, TEXT
    return io


def enrich_span(span: ReadableSpan, extra: Mapping[str, Any]) -> ReadableSpan:
    """A copy of a finished span with ``extra`` merged into its attributes (original untouched)."""
    if not extra:
        return span
    attributes = BoundedAttributes(attributes={**(span.attributes or {}), **extra})
    attributes.dropped = span.dropped_attributes  # what the SDK's limits dropped stays counted
    # Dropped event/link counts live on the SDK's private bounded lists; keep those too.
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=getattr(span, "_events", span.events),
        links=getattr(span, "_links", span.links),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
