"""Enrichment before export: every exported span says which agent it belongs to.

LlamaIndex's OpenInference spans name the agent only inside a step's input repr, so Jaeger and
Phoenix show neither who made a call nor where a handoff happened. Before export each trace is
derived (``derive``, through ``analyse``) and its spans are copied with: on LLM, TOOL and step
spans ``agent.name``, ``graph.node.id``/``.name`` (the agent), ``graph.node.parent_id`` (who
first handed off to it, else the workflow node) and ``gen_ai.agent.name``; on handoff tool spans
the transfer of the GenAI conventions (``gen_ai.transfer.target.name``, ``.target.type`` agent,
``gen_ai.transfer.mode`` pass_control: a LlamaIndex handoff passes control for good); on the
workflow and root spans the whole user input and final answer. No agent name goes on the
workflow or run span, nor above a call derive leaves without an agent: derive() gives the same
RunTrace from enriched spans as from plain ones.

What else the export changes (names, kinds, times, statuses, the GenAI view) is
``_export_view``; the buffering exporter that applies it all lives in ``_trace_buffer``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openinference.semconv.trace import (
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
)

from .. import conventions as conv
from .. import frameworks as fw
from ..conventions import genai_attributes as genai
from ..derivation import derive
from ..run_trace import LLMCall, RunTrace, ToolCall
from ..spans import SpanIndex, SpanRecord

__all__ = ["AGENT_KEYS", "TRANSFER_KEYS", "Extra", "TraceView", "analyse", "enrichment"]

logger = logging.getLogger(__name__)

AGENT_KEYS = (SpanAttributes.AGENT_NAME, SpanAttributes.GRAPH_NODE_NAME, genai.AGENT_NAME)
TRANSFER_KEYS = (genai.TRANSFER_TARGET_NAME, genai.TRANSFER_TARGET_TYPE, genai.TRANSFER_MODE)
AGENT_KINDS = frozenset(
    {OpenInferenceSpanKindValues.LLM.value, OpenInferenceSpanKindValues.TOOL.value}
)
TEXT = OpenInferenceMimeTypeValues.TEXT.value

Extra = dict[str, Any]


@dataclass(slots=True)
class TraceView:
    """One trace as derived: its RunTrace, span index, agent steps and each span's agent."""

    run: RunTrace
    index: SpanIndex
    steps: list[SpanRecord]  # agent steps, in start order
    agents: dict[int, str]  # span id -> agent (steps, calls, tool preparation)
    workflow: SpanRecord  # the span the first step hangs under (else the root)
    handoff_targets: dict[int, str]  # handoff tool span id -> target agent
    _facts: dict[int, conv.LLMFacts] = field(default_factory=dict)

    def llm_facts(self, span: SpanRecord) -> conv.LLMFacts:
        """What an LLM call span says (read once per span)."""
        facts = self._facts.get(span.span_id)
        if facts is None:
            facts = self._facts[span.span_id] = conv.read_llm(span)
        return facts

    def span_of(self, call: LLMCall | ToolCall) -> SpanRecord | None:
        """The span a derived call came from."""
        return self.index.by_id.get(int(call.span_id, 16))


# ---- what to add: pure, over one trace's records ------------------------------------------


def analyse(records: Sequence[SpanRecord]) -> TraceView:
    """Derive one trace and find its steps, its workflow span and each span's agent."""
    run = derive(records)
    index = SpanIndex(list(records))
    steps = [s for s in index.spans if fw.step_agent(s)]
    agents = _agents_by_span(run, index, steps)
    workflow = (index.parent(steps[0]) if steps else None) or (index.roots or index.orphans)[0]
    tools = {(t.start_ns, t.tool_call_id): t for t in run.tool_calls}
    targets = {}
    for handoff in run.handoffs:
        tool = tools.get((handoff.at_ns, handoff.tool_call_id))
        if tool is not None:
            targets[int(tool.span_id, 16)] = handoff.to_agent
    return TraceView(run, index, steps, agents, workflow, targets)


def enrichment(trace: Sequence[SpanRecord] | TraceView) -> dict[int, Extra]:
    """Attributes to add, by span id, to the spans of one trace (from its derivation)."""
    view = trace if isinstance(trace, TraceView) else analyse(trace)
    run, index, agents, workflow = view.run, view.index, view.agents, view.workflow
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
    for span_id, target in view.handoff_targets.items():
        extra.setdefault(span_id, {}).update(
            {
                genai.TRANSFER_TARGET_NAME: target,
                genai.TRANSFER_TARGET_TYPE: genai.TRANSFER_TARGET_AGENT,
                genai.TRANSFER_MODE: genai.TRANSFER_PASS_CONTROL,  # the target takes over the run
            }
        )
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
    agents: dict[int, str] = {s.span_id: str(fw.step_agent(s)) for s in steps}
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    call_ids = {int(call.span_id, 16) for call in calls}
    for call in calls:
        if call.agent:
            agents[int(call.span_id, 16)] = call.agent
    # Tool preparation and nested LLM spans (not calls): the agent of the call or step around
    # them. A call keeps the agent derive gave it, even none. (A span given an agent here only
    # passes on the agent of its own nearest agent-named ancestor: one lookup answers all.)
    agent_above = index.nearest(agents)
    for span in index.spans:
        if (
            span.span_id not in call_ids
            and span.span_id not in agents
            and span.attributes.get(SpanAttributes.OPENINFERENCE_SPAN_KIND) in AGENT_KINDS
        ):
            above = agent_above.get(span.span_id)
            if above is not None:
                agents[span.span_id] = agents[above]
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

    For example a tool whose agent comes from the call that asked for it, running a nested
    tool (asked for by no call, started after a model call of no agent) that calls a model:
    named, the outer tool would give that model call its agent. Each ancestor is looked at
    once: a walk stops where an earlier one went on from.
    """
    blocked: set[int] = set()
    walked: set[int] = set()
    calls: list[LLMCall | ToolCall] = [*run.llm_calls, *run.tool_calls]
    for call in calls:
        if call.agent:
            continue
        span = index.by_id.get(int(call.span_id, 16))
        for parent in index.ancestors(span) if span else ():
            if parent.span_id in walked:
                break
            walked.add(parent.span_id)
            if conv.explicit_agent(parent) or fw.step_agent(parent):
                break
            if parent.span_id in agents:
                blocked.add(parent.span_id)
    return blocked


def _read_by_derive(span: SpanRecord) -> bool:
    """True for spans whose input/output derive reads (calls, tools and steps)."""
    return bool(
        fw.is_model_call(span)
        or conv.is_tool(span)
        or fw.step_agent(span)
        or fw.step_tool_call_id(span)
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
