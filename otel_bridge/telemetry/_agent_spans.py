"""``invoke_agent`` spans where LlamaIndex has none: one per agent activation (pure).

LlamaIndex opens no span per agent: an ``AgentWorkflow.run`` span holds every step of every
agent side by side. GenAI-aware backends draw agents from ``invoke_agent`` spans, so the
``genai``/``both`` export adds one per activation (a run of consecutive steps of one agent):
INTERNAL, a new span id, parent the workflow span, from the activation's first
``run_agent_step`` to the next activation's first step (the last one to the workflow's end).
The workflow's direct children that start in that window (the activation's steps, tool calls,
and the setup of the next agent) move under it; the children before the first activation stay
where they are. The trace stays a tree: every new span hangs under an existing one and only
direct children of its parent move under it. A new span carries the agent, the provider and
model its calls used, their token totals (a count only when every call reported it), the
agent's system prompt (with content on), and the run's ``session.id``/``user.id`` when the
workflow span has them.

Span ids are derived from the trace and the activation's first step, so a late child of the
trace, enriched after the first export, is moved under the same span.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import dataclass

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes
from opentelemetry.semconv._incubating.attributes.session_attributes import SESSION_ID
from opentelemetry.semconv._incubating.attributes.user_attributes import USER_ID

from ..conventions import genai_attributes as genai
from ..run_trace import LLMCall
from ..spans import SpanRecord, freeze
from ._enrichment import Extra, TraceView
from ._genai_export import error_type, known_usage, summed_usage, system_instructions

__all__ = ["AgentSpans", "agent_spans"]

AGENT_KIND = OpenInferenceSpanKindValues.AGENT.value
# The run's context that every span of it carries (``using_attributes``): new spans too.
CONTEXT_KEYS = (SESSION_ID, USER_ID)


@dataclass(frozen=True, slots=True)
class AgentSpans:
    """The new ``invoke_agent`` spans, and the new parent of each span moved under one."""

    spans: list[SpanRecord]
    parents: dict[int, int]


@dataclass(slots=True)
class _Activation:
    agent: str
    parent: SpanRecord
    steps: list[SpanRecord]
    members: list[SpanRecord]
    start_ns: int = 0
    end_ns: int = 0


def agent_spans(view: TraceView, content: bool, openinference: bool) -> AgentSpans:
    """One ``invoke_agent {agent}`` span per activation; ``openinference`` adds OI names too."""
    activations = _activations(view)
    taken = set(view.index.by_id)
    calls = _calls_by_member(view, activations)
    spans: list[SpanRecord] = []
    parents: dict[int, int] = {}
    for i, activation in enumerate(activations):
        span_id = _span_id(activation.parent.trace_id, activation.steps[0].span_id, taken)
        taken.add(span_id)
        failed = next((s for s in activation.steps if s.status == "ERROR"), None)
        attrs = _attributes(view, activation, calls.get(i, []), content)
        attrs.update(
            (k, activation.parent.attributes[k])
            for k in CONTEXT_KEYS
            if k in activation.parent.attributes
        )
        if openinference:
            attrs[SpanAttributes.OPENINFERENCE_SPAN_KIND] = AGENT_KIND
            attrs[SpanAttributes.AGENT_NAME] = activation.agent
        spans.append(
            SpanRecord(
                trace_id=activation.parent.trace_id,
                span_id=span_id,
                parent_id=activation.parent.span_id,
                name=f"{genai.OP_INVOKE_AGENT} {activation.agent}",
                start_ns=activation.start_ns,
                end_ns=activation.end_ns,
                status="ERROR" if failed is not None else "UNSET",
                status_message=failed.status_message if failed is not None else "",
                attributes=freeze(attrs),
                resource=activation.parent.resource,
                scope="otel_bridge",
            )
        )
        parents.update((m.span_id, span_id) for m in activation.members)
    return AgentSpans(spans, parents)


def _activations(view: TraceView) -> list[_Activation]:
    """Runs of consecutive steps of one agent under the same parent, with their windows."""
    index = view.index
    by_parent: dict[int, list[SpanRecord]] = {}
    for step in view.steps:  # in start order
        if step.parent_id is not None and step.parent_id in index.by_id:
            by_parent.setdefault(step.parent_id, []).append(step)
    found: list[_Activation] = []
    for parent_id, steps in by_parent.items():
        parent = index.by_id[parent_id]
        runs: list[_Activation] = []
        for step in steps:
            agent = view.agents[step.span_id]
            if runs and runs[-1].agent == agent:
                runs[-1].steps.append(step)
            else:
                runs.append(_Activation(agent, parent, [step], []))
        starts = [run.steps[0].start_ns for run in runs]
        children = index.children.get(parent_id, [])  # in start order
        child_starts = [c.start_ns for c in children]
        for i, run in enumerate(runs):
            run.start_ns = starts[i]
            window_end = starts[i + 1] if i + 1 < len(runs) else None
            first = bisect_left(child_starts, run.start_ns)
            last = len(children) if window_end is None else bisect_left(child_starts, window_end)
            run.members = children[first:last]
            # Children may end after their parent: the new span still covers them.
            run.end_ns = max(
                [parent.end_ns if window_end is None else window_end]
                + [c.end_ns for c in run.members]
            )
        found.extend(runs)
    return found


def _calls_by_member(view: TraceView, activations: list[_Activation]) -> dict[int, list[LLMCall]]:
    """The model calls made inside each activation, by the index of the activation."""
    owner = {m.span_id: i for i, a in enumerate(activations) for m in a.members}
    member_above = view.index.nearest(owner)
    calls: dict[int, list[LLMCall]] = {}
    for call in view.run.llm_calls:
        member = member_above.get(int(call.span_id, 16))
        if member is not None:
            calls.setdefault(owner[member], []).append(call)
    return calls


def _attributes(
    view: TraceView, activation: _Activation, mine: list[LLMCall], content: bool
) -> Extra:
    """Agent, provider and model (when the activation used one), usage totals, the prompt."""
    attrs: Extra = {genai.OPERATION: genai.OP_INVOKE_AGENT, genai.AGENT_NAME: activation.agent}
    providers = {c.provider for c in mine if c.provider}
    models = {c.model for c in mine if c.model}
    if len(providers) == 1:
        attrs[genai.PROVIDER] = providers.pop()
    if len(models) == 1:
        attrs[genai.REQUEST_MODEL] = models.pop()
    per_call = []
    for call in mine:
        span = view.span_of(call)
        per_call.append(known_usage(call.usage, span) if span is not None else {})
    attrs.update(summed_usage(per_call))  # a count some call did not report is left out
    failed = next((s for s in activation.steps if s.status == "ERROR"), None)
    if failed is not None:
        attrs[genai.ERROR_TYPE] = error_type(failed)
    if content and mine:
        first = view.span_of(mine[0])
        if first is not None:
            instructions = system_instructions(view.llm_facts(first).input_messages)
            if instructions:
                attrs[genai.SYSTEM_INSTRUCTIONS] = instructions
    return attrs


def _span_id(trace_id: int, first_step: int, taken: set[int]) -> int:
    """A span id derived from the trace and the activation's first step, unused in the trace."""
    salt = 0
    while True:
        digest = hashlib.blake2b(
            f"{trace_id:032x}:{first_step:016x}:invoke_agent:{salt}".encode(), digest_size=8
        ).digest()
        span_id = int.from_bytes(digest, "big")
        if span_id and span_id not in taken:
            return span_id
        salt += 1
