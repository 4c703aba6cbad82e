"""The model and tool calls of one trace, read from its spans once; pure.

``TraceLookups`` reads every span's agent (its own, its step's, its activation's) and answers
each "nearest enclosing X" from one pass (``SpanIndex.nearest``), so the work stays linear in
the number of spans whatever their depth; it also collects the value problems the readers met
(``ValueNotes``). ``llm_calls`` and ``tool_calls`` build the calls from those lookups.
"""

from __future__ import annotations

import json
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import conventions as conv
from .. import frameworks as fw
from ..frameworks import Transfer
from ..run_trace import LLMCall, TokenUsage, ToolCall
from ..spans import SpanIndex, SpanRecord
from ._cost import ModelPrice, call_cost

__all__ = [
    "Call",
    "TraceLookups",
    "agents_from_tools",
    "arguments_from_model",
    "llm_calls",
    "node_transfers",
    "to_llm_call",
    "tool_calls",
    "value_issues",
]

logger = logging.getLogger("otel_bridge.derivation")


@dataclass(slots=True)
class Call:
    """One model call as read: its span, agent, facts and end (a stream's lasts its step)."""

    span: SpanRecord
    agent: str | None
    facts: conv.LLMFacts
    end_ns: int


class TraceLookups:
    """Per-trace lookups: the span index, each span's agent and nearest step, read once."""

    def __init__(self, spans: list[SpanRecord]) -> None:
        self.index = SpanIndex(spans)
        self.frameworks = frameworks = fw.of_trace(self.index.spans)
        self.notes = conv.ValueNotes()
        self.own_agent: dict[int, str | None] = {}
        self.steps: dict[int, str] = {}  # agent-step span id -> its agent
        activations: dict[int, str] = {}
        carried: dict[int | None, str] = {}  # parent id -> the agent its tasks last named
        notes = self.notes
        for span in self.index.spans:  # in start order
            step = frameworks.step_agent(span, notes)
            if step is not None and conv.carries_agent(span):
                carried[span.parent_id] = step
            elif step is None and conv.carries_agent(span):
                step = carried.get(span.parent_id)
            if step is None and span.parent_id in activations and frameworks.is_unnamed_step(span):
                step = activations[span.parent_id]  # a step naming no agent: its run's
            activation = None
            if step is not None:
                self.steps[span.span_id] = step
            else:
                activation = conv.activation_agent(span, notes) or frameworks.activation_agent(
                    span, notes
                )
                if activation is not None:
                    activations[span.span_id] = activation
            self.own_agent[span.span_id] = (
                conv.explicit_agent(span, notes)
                or step
                or activation
                or frameworks.span_agent(span, notes)
            )
        self.activations = activations
        if not self.steps:
            # Only whole activations (GenAI ``invoke_agent``): the finest steps there are.
            self.steps = activations
        self.step_above = self.index.nearest(self.steps)
        self.agent_above = self.index.nearest(
            {sid for sid, agent in self.own_agent.items() if agent is not None}
        )

    def agent(self, span: SpanRecord) -> str | None:
        """The span's own agent, else the nearest ancestor's."""
        own = self.own_agent.get(span.span_id)
        if own is not None:
            return own
        above = self.agent_above.get(span.span_id)
        return None if above is None else self.own_agent[above]

    def step_of(self, span: SpanRecord) -> SpanRecord | None:
        """The nearest enclosing agent step (``run_agent_step``)."""
        step = self.step_above.get(span.span_id)
        return None if step is None else self.index.by_id[step]


def value_issues(trace: TraceLookups) -> list[str]:
    """``coerced_values`` / ``rejected_values`` when the readers met such values (each logged)."""
    problems = trace.notes.problems
    if not problems:
        return []
    if logger.isEnabledFor(logging.DEBUG):
        trace_id = trace.index.spans[0].trace_id_hex
        for problem in problems:
            logger.debug("trace %s: %s", trace_id, problem.describe())
    flags = []
    if trace.notes.has("coerced"):
        flags.append("coerced_values")
    if trace.notes.has("rejected"):
        flags.append("rejected_values")
    return flags


def llm_calls(trace: TraceLookups) -> list[Call]:
    """Real model calls: outermost LLM spans (a nested one is the same call seen twice)."""
    index = trace.index
    llm_ids = {s.span_id for s in index.spans if trace.frameworks.is_model_call(s)}
    llm_above = index.nearest(llm_ids)
    calls = []
    for span in index.spans:
        if span.span_id not in llm_ids or llm_above.get(span.span_id) is not None:
            continue
        facts = _refined(trace, span, conv.read_llm(span, trace.notes))
        if facts.usage is None:
            facts = _usage_from_nested(trace, span, llm_ids, facts)
        end = span.end_ns
        if facts.ends_early and not trace.frameworks.covers_stream(span):
            # A streaming span ends before the first token; the step ends with the stream.
            step = trace.step_of(span)
            end = max(end, step.end_ns if step else end, facts.first_token_ns or end)
        calls.append(Call(span, trace.agent(span), facts, end))
    return _one_record_per_call(trace, calls)


def _refined(trace: TraceLookups, span: SpanRecord, facts: conv.LLMFacts) -> conv.LLMFacts:
    """The call's messages in OpenAI format where its framework re-sends history its own way
    (or records the answer its own way), and its usage as its framework recorded it."""
    frameworks = trace.frameworks
    inputs = frameworks.refine_messages(span, facts.input_messages)
    outputs = frameworks.refine_messages(span, facts.output_messages)
    finish = facts.finish_reason
    if not outputs and (answer := frameworks.recorded_answer(span, trace.notes)):
        outputs = answer
        if finish is None:
            finish = "tool_calls" if answer[-1].get("tool_calls") else "stop"
    usage = frameworks.refine_usage(span, facts.usage)
    same = inputs is facts.input_messages and outputs is facts.output_messages
    if same and usage is facts.usage:
        return facts
    return replace(
        facts, input_messages=inputs, output_messages=outputs, usage=usage, finish_reason=finish
    )


def _one_record_per_call(trace: TraceLookups, calls: list[Call]) -> list[Call]:
    """Calls recorded twice, by two instrumentations at once, counted once.

    With OpenInference on LlamaIndex and a GenAI instrumentation on the OpenAI client, a
    streamed call is both OpenInference's ``astream_chat`` span and a ``chat`` span beside it
    in the same agent step (a non-streamed ``chat`` nests inside and is skipped above). An agent
    step makes its model calls one after another, so within a step the k-th call of one
    convention is the k-th of the other: the OpenInference record is kept, and what it lacks
    (usage, time to first token, finish reason) is taken from its twin.
    """
    if len({call.facts.convention for call in calls}) < 2:  # one convention: no twins
        return calls
    by_step: dict[int, dict[str, list[Call]]] = {}
    for call in calls:
        step = trace.step_of(call.span)
        if step is not None:
            by_step.setdefault(step.span_id, {}).setdefault(call.facts.convention, []).append(call)
    twins: set[int] = set()
    for groups in by_step.values():
        kept, others = groups.get("openinference"), groups.get("genai")
        if not kept or not others:
            continue
        for call, twin in zip(kept, others, strict=False):
            call.facts = _filled(call.facts, twin.facts)
            call.end_ns = max(call.end_ns, twin.end_ns)
            twins.add(twin.span.span_id)
    return [c for c in calls if c.span.span_id not in twins] if twins else calls


def _filled(facts: conv.LLMFacts, twin: conv.LLMFacts) -> conv.LLMFacts:
    """``facts`` with the fields it lacks taken from another record of the same call."""
    return replace(
        facts,
        model=facts.model or twin.model,
        provider=facts.provider or twin.provider,
        usage=facts.usage if facts.usage is not None else twin.usage,
        input_messages=facts.input_messages or twin.input_messages,
        output_messages=facts.output_messages or twin.output_messages,
        finish_reason=facts.finish_reason or twin.finish_reason,
        first_token_ns=facts.first_token_ns or twin.first_token_ns,
    )


def agents_from_tools(index: SpanIndex, calls: list[Call], tools: list[ToolCall]) -> None:
    """A model call made inside a tool (no agent step around it) belongs to the tool's agent."""
    if not any(call.agent is None for call in calls):
        return
    tool_agent = {int(t.span_id, 16): t.agent for t in tools}
    tool_above = index.nearest(tool_agent)
    for call in calls:
        if call.agent is None:
            tool = tool_above.get(call.span.span_id)
            call.agent = None if tool is None else tool_agent[tool]


def _usage_from_nested(
    trace: TraceLookups, span: SpanRecord, llm_ids: set[int], facts: conv.LLMFacts
) -> conv.LLMFacts:
    """Usage from an LLM span nested in the call (a wrapper that reports none of its own).

    The subtrees of outermost calls do not overlap, so all of them are searched once in all;
    ``seen`` keeps a parent cycle (bad input) from searching forever.
    """
    children = trace.index.children
    stack = list(children.get(span.span_id, ()))
    seen = {span.span_id}
    while stack:
        child = stack.pop()
        if child.span_id in seen:
            continue
        seen.add(child.span_id)
        if child.span_id in llm_ids:
            nested = conv.read_llm(child, trace.notes)
            if nested.usage is not None:
                return conv.LLMFacts(
                    model=facts.model or nested.model,
                    provider=facts.provider or nested.provider,
                    usage=nested.usage,
                    input_messages=facts.input_messages or nested.input_messages,
                    output_messages=facts.output_messages or nested.output_messages,
                    finish_reason=facts.finish_reason or nested.finish_reason,
                    first_token_ns=facts.first_token_ns,
                    ends_early=facts.ends_early,
                    convention=facts.convention,
                )
        stack.extend(children.get(child.span_id, ()))
    return facts


def to_llm_call(call: Call, prices: Mapping[str, ModelPrice]) -> LLMCall:
    """The RunTrace record of a call: times, usage (unknown when unreported), cost."""
    span, facts = call.span, call.facts
    first = facts.first_token_ns
    usage = facts.usage if facts.usage is not None else TokenUsage.missing()
    return LLMCall(
        span_id=span.span_id_hex,
        agent=call.agent,
        model=facts.model,
        provider=facts.provider,
        start_ns=span.start_ns,
        end_ns=call.end_ns,
        time_to_first_token_ns=None if first is None else max(0, first - span.start_ns),
        usage=usage,
        finish_reason=facts.finish_reason,
        status="error" if span.status == "ERROR" else "ok",
        cost=call_cost(facts.model, facts.provider, usage, span.start_ns, prices),
    )


def tool_calls(
    trace: TraceLookups, calls: list[Call], emitted_by: Mapping[str, str | None]
) -> list[ToolCall]:
    """Every tool span as a ToolCall: its call id (its own, else its ``call_tool`` step's) and
    agent (its own, the caller of that id, the nearest agent above, the latest call before)."""
    out: list[ToolCall] = []
    call_starts = [c.span.start_ns for c in calls]
    index = trace.index
    tools = [span for span in index.spans if conv.is_tool(span)]
    if not tools:
        return out
    step_ids = {s.span_id: i for s in index.spans if (i := trace.frameworks.step_tool_call_id(s))}
    step_above = index.nearest(step_ids)
    read = []
    for span in tools:
        facts = trace.frameworks.refine_tool(span, conv.read_tool(span, trace.notes), trace.notes)
        above = step_above.get(span.span_id)
        own = facts.tool_call_id or (None if above is None else step_ids[above])
        read.append((span, facts, own))
    claimed = {call_id for _, _, call_id in read if call_id}  # ids the spans carry themselves
    by_agent: dict[str | None, list[int]] | None = None  # agent -> its calls' positions
    for span, facts, call_id in read:
        agent = trace.own_agent.get(span.span_id)
        if agent is None and call_id is not None:
            agent = emitted_by.get(call_id)
        if agent is None:
            agent = trace.agent(span)
        before = bisect_right(call_starts, span.start_ns)
        if agent is None:
            # The latest model call before the tool decided to run it.
            agent = calls[before - 1].agent if before else None
        if call_id is None and trace.frameworks.matches_tool_calls(span):
            if by_agent is None:
                by_agent = {}
                for at, call in enumerate(calls):
                    by_agent.setdefault(call.agent, []).append(at)
            theirs = by_agent.get(agent, [])
            latest = bisect_left(theirs, before)  # the agent's calls before the tool: [:latest]
            if latest:
                call_id = _matching_call_id(calls[theirs[latest - 1]], facts, claimed)
        out.append(
            ToolCall(
                span_id=span.span_id_hex,
                agent=agent,
                name=facts.name,
                tool_call_id=call_id,
                arguments=facts.arguments,
                output=facts.output,
                start_ns=span.start_ns,
                end_ns=span.end_ns,
                status="error" if facts.error is not None else "ok",
                error=facts.error,
            )
        )
    return out


def arguments_from_model(tools: list[ToolCall], calls: list[Call]) -> list[ToolCall]:
    """Tools whose span records a bare argument (LangChain's single-argument tools) get the
    arguments the model asked for by the call's id; every other tool is left as it is."""
    if not any(t.tool_call_id and _bare(t.arguments) for t in tools):
        return tools
    asked: dict[str, Any] = {}
    for call in calls:
        for message in call.facts.output_messages:
            for tool_call in message.get("tool_calls", ()):
                raw = (tool_call.get("function") or {}).get("arguments")
                if tool_call.get("id") and isinstance(raw, str):
                    asked[tool_call["id"]] = raw
    out = []
    for tool in tools:
        raw = asked.get(tool.tool_call_id or "") if _bare(tool.arguments) else None
        value, parsed = conv.json_value(raw, "tool_call.function.arguments", None, text_ok=True)
        out.append(replace(tool, arguments=value) if parsed and isinstance(value, dict) else tool)
    return out


def _bare(arguments: Any) -> bool:
    return arguments is not None and not isinstance(arguments, (dict, list))


def node_transfers(
    trace: TraceLookups, calls: list[LLMCall]
) -> tuple[list[ToolCall], dict[str, Transfer]]:
    """Handoffs made by spans that are not tool calls (a graph node passing control), as
    records ``rollup.handoffs`` reads like tool calls: from the agent of the latest model call
    started before the span ended."""
    found: list[ToolCall] = []
    transfers: dict[str, Transfer] = {}
    starts = [c.start_ns for c in calls]
    for span in trace.index.spans:
        asked = trace.frameworks.node_transfer(span, trace.notes)
        if asked is None:
            continue
        before = bisect_right(starts, span.end_ns)
        record = ToolCall(
            span_id=span.span_id_hex,
            agent=calls[before - 1].agent if before else None,
            name=span.name,
            tool_call_id=asked.tool_call_id,
            arguments=None,
            output=None,
            start_ns=span.end_ns,  # control passes when the node is done
            end_ns=span.end_ns,
            status="error" if span.status == "ERROR" else "ok",
            error=None,
        )
        found.append(record)
        transfers[record.span_id] = asked
    return found, transfers


def _matching_call_id(call: Call, facts: conv.ToolFacts, claimed: set[str]) -> str | None:
    """The id of the tool call that ``call`` (its agent's latest model call before the tool)
    asked for by this tool's name (the one with the same arguments first), not yet given to
    another tool span."""
    asked = [
        tool_call
        for message in call.facts.output_messages
        for tool_call in message.get("tool_calls", ())
        if tool_call.get("id") not in claimed
        and (tool_call.get("function") or {}).get("name") == facts.name
    ]
    if not asked:
        return None
    chosen = next((c for c in asked if _same_arguments(c, facts.arguments)), asked[0])
    claimed.add(chosen["id"])
    return str(chosen["id"])


def _same_arguments(tool_call: Mapping[str, Any], arguments: Any) -> bool:
    raw = (tool_call.get("function") or {}).get("arguments")
    try:
        return bool(json.loads(raw) == arguments) if isinstance(raw, str) else raw == arguments
    except ValueError:
        return False
