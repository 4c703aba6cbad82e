"""Spans -> RunTrace: messages, tokens, timings, handoffs and errors of a run. Pure, no I/O.

Whatever the spans hold, derivation raises nothing but ``OtelBridgeError``s about the choice of
trace: attribute values are read by the rules of ``conventions`` (values coerced or rejected
are flagged ``coerced_values`` / ``rejected_values``, each logged at DEBUG with its span and
attribute), and its work is linear in the number of spans, whatever their depth: every
"nearest enclosing X" is looked up once per trace (``SpanIndex.nearest``), never walked per
span.
"""

from __future__ import annotations

import gc
import logging
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

from .. import conventions as conv
from ..errors import TraceSelectionError
from ..run_trace import Cost, LLMCall, RunTrace, TokenUsage, ToolCall
from ..spans import SpanIndex, SpanRecord, group_by_trace, parse_trace_id
from . import _rollup as rollup
from ._cost import ModelPrice, PriceTable, call_cost, check_price_table
from ._messages import CallMessages, merge_history

__all__ = ["derive", "derive_all"]

logger = logging.getLogger("otel_bridge.derivation")

REACT_ANSWER = "Answer:"


def derive_all(
    spans: Iterable[SpanRecord],
    evicted: Mapping[int, int] | None = None,
    *,
    prices: PriceTable | None = None,
) -> list[RunTrace]:
    """One RunTrace per trace id, in order of first appearance.

    ``evicted`` maps a trace id to the number of its spans a bounded capture dropped;
    ``prices`` as for ``derive``.
    """
    evicted = evicted or {}
    table = check_price_table(prices)
    with _without_cycle_collection():
        return [
            _derive_trace(members, evicted.get(trace_id, 0), table)
            for trace_id, members in group_by_trace(spans).items()
        ]


def derive(
    spans: Iterable[SpanRecord],
    trace_id: str | int | None = None,
    evicted_spans: int = 0,
    *,
    prices: PriceTable | None = None,
) -> RunTrace:
    """The RunTrace of the spans of one trace (pick it with ``trace_id`` when there are more).

    Costs come from genai-prices' bundled prices; ``prices`` (model -> ``ModelPrice``)
    overrides them for the models it names. ``TraceSelectionError`` (a ValueError) when the
    spans hold no such trace, none at all, or several and ``trace_id`` is not given;
    ``TraceIdError`` for a malformed ``trace_id``; ``ConfigError`` for a malformed ``prices``.
    """
    table = check_price_table(prices)
    groups = group_by_trace(spans)
    if trace_id is not None:
        wanted = parse_trace_id(trace_id)
        if wanted not in groups:
            raise TraceSelectionError(f"no spans of trace {wanted:032x}")
        members = groups[wanted]
    elif len(groups) == 1:
        members = next(iter(groups.values()))
    elif not groups:
        raise TraceSelectionError("no spans to derive a run from")
    else:
        raise TraceSelectionError(
            f"spans hold {len(groups)} traces; pass trace_id or use derive_all()"
        )
    with _without_cycle_collection():
        return _derive_trace(members, evicted_spans, table)


_gc_lock = threading.Lock()
_gc_paused_by_us = 0  # derivations running with the collector paused by us


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while deriving.

    Derivation allocates many small containers and makes no reference cycles, so refcounting
    frees everything; left on, the collector's full passes over a large trace made derivation
    superlinear (measured: 10,000 spans derived 25% slower per span than 1,000). Concurrent
    derivations share one pause: the last one to finish turns the collector back on, and only
    if it was on before.
    """
    global _gc_paused_by_us
    with _gc_lock:
        if _gc_paused_by_us == 0 and not gc.isenabled():
            pause = False  # someone else turned it off: leave it alone
        else:
            pause = True
            _gc_paused_by_us += 1
            gc.disable()
    try:
        yield
    finally:
        if pause:
            with _gc_lock:
                _gc_paused_by_us -= 1
                if _gc_paused_by_us == 0:
                    gc.enable()


@dataclass(slots=True)
class _Call:
    span: SpanRecord
    agent: str | None
    facts: conv.LLMFacts
    end_ns: int


class _Trace:
    """Per-trace lookups: the span index, each span's agent and nearest step, read once."""

    def __init__(self, spans: list[SpanRecord]) -> None:
        self.index = SpanIndex(spans)
        self.notes = conv.ValueNotes()
        self.own_agent: dict[int, str | None] = {}
        self.steps: dict[int, str] = {}  # agent-step span id -> its agent
        activations: dict[int, str] = {}
        carried: dict[int | None, str] = {}  # parent id -> the agent its tasks last named
        notes = self.notes
        for span in self.index.spans:  # in start order
            step = conv.step_agent(span, notes)
            if step is not None and conv.carries_agent(span):
                carried[span.parent_id] = step
            elif step is None and conv.carries_agent(span):
                step = carried.get(span.parent_id)
            if step is not None:
                self.steps[span.span_id] = step
            elif (activation := conv.activation_agent(span, notes)) is not None:
                activations[span.span_id] = activation
            self.own_agent[span.span_id] = conv.explicit_agent(span, notes) or step
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


def _derive_trace(
    spans: list[SpanRecord], evicted_spans: int, prices: Mapping[str, ModelPrice]
) -> RunTrace:
    trace = _Trace(spans)
    index = trace.index
    issues: list[str] = []

    calls = _llm_calls(trace)
    emitted_by: dict[str, str | None] = {}
    for call in calls:
        for message in call.facts.output_messages:
            for tool_call in message.get("tool_calls", ()):
                if tool_call.get("id"):
                    emitted_by[tool_call["id"]] = call.agent
    tool_calls = _tool_calls(trace, calls, emitted_by)
    _agents_from_tools(index, calls, tool_calls)
    llm_calls = [_to_llm_call(c, prices) for c in calls]
    targets = {
        t.span_id: target
        for t in tool_calls
        if (target := conv.handoff_target(index.by_id[int(t.span_id, 16)], trace.notes))
    }
    handoffs, rejected = rollup.handoffs(tool_calls, llm_calls, targets)

    tool_agents = {t.tool_call_id: t.agent for t in tool_calls if t.tool_call_id}
    unsent = [
        {
            "role": "tool",
            "content": t.output or t.error or "",
            "tool_call_id": t.tool_call_id,
            "name": t.name,
        }
        for t in tool_calls
        if t.tool_call_id
    ]
    messages = merge_history(
        (CallMessages(c.agent, c.facts.input_messages, c.facts.output_messages) for c in calls),
        unsent,
        tool_agents,
    )
    _name_tool_results(messages, tool_calls)

    usage = sum((c.usage for c in llm_calls), TokenUsage())

    start = min(s.start_ns for s in index.spans)
    end = max(max(s.end_ns for s in index.spans), *(c.end_ns for c in llm_calls), start)
    steps = [
        (agent, index.by_id[i].start_ns, index.by_id[i].end_ns) for i, agent in trace.steps.items()
    ]
    timings = rollup.timings(llm_calls, tool_calls, steps, start, end)
    agents = rollup.agent_stats(llm_calls, tool_calls, timings.per_agent_ns)

    if not usage.complete:
        issues.append("tokens_missing")
    if any(c.usage.complete and not c.cost.complete for c in llm_calls):
        issues.append("price_unknown")
    if index.orphans:
        issues.append("orphan_spans")
    if len(index.roots) + len(index.orphans) > 1:
        issues.append("multiple_roots")
    if not index.roots:
        issues.append("no_root_span")
    if evicted_spans:
        issues.append("evicted_spans")
    if index.duplicates:
        issues.append("duplicate_spans")
    if any(c.agent is None for c in llm_calls) and len(agents) > 1:
        issues.append("unknown_agent")
    if rejected:
        issues.append("handoff_rejected")
    if not llm_calls:
        issues.append("no_llm_calls")
    elif not any(c.facts.input_messages or c.facts.output_messages for c in calls):
        # Content capture was off: messages, the run's input and answer, tool arguments and
        # results, and handoff reasons cannot be derived (they are left empty, not guessed).
        issues.append("no_message_content")
    issues.extend(_value_issues(trace))

    roots = index.roots or index.orphans
    # Some instrumentations never mark the root (OpenLLMetry, whose root even ends early):
    # a run whose last model call failed could not finish, whatever its root says.
    failed = any(r.status == "ERROR" for r in roots) or bool(
        llm_calls and llm_calls[-1].status == "error"
    )
    return RunTrace(
        trace_id=index.spans[0].trace_id_hex,
        status="error" if failed else "ok",
        input=_run_input(calls, messages),
        output=None if failed else _final_answer(messages),
        agents=agents,
        usage=usage,
        handoffs=handoffs,
        messages=messages,
        llm_calls=llm_calls,
        tool_calls=tool_calls,
        timings=timings,
        issues=issues,
        usage_by_model=rollup.usage_by_model(llm_calls),
        start_ns=start,
        end_ns=end,
        cost=Cost.combine(c.cost for c in llm_calls),
        cost_by_model=rollup.cost_by_model(llm_calls),
    )


def _value_issues(trace: _Trace) -> list[str]:
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


def _llm_calls(trace: _Trace) -> list[_Call]:
    """Real model calls: outermost LLM spans (a nested one is the same call seen twice)."""
    index = trace.index
    llm_ids = {s.span_id for s in index.spans if conv.is_llm_call(s)}
    llm_above = index.nearest(llm_ids)
    calls = []
    for span in index.spans:
        if span.span_id not in llm_ids or llm_above[span.span_id] is not None:
            continue
        facts = conv.read_llm(span, trace.notes)
        if facts.usage is None:
            facts = _usage_from_nested(trace, span, llm_ids, facts)
        end = span.end_ns
        if facts.ends_early:
            # A streaming span ends before the first token; the step ends with the stream.
            step = trace.step_of(span)
            end = max(end, step.end_ns if step else end, facts.first_token_ns or end)
        calls.append(_Call(span, trace.agent(span), facts, end))
    return _one_record_per_call(trace, calls)


def _one_record_per_call(trace: _Trace, calls: list[_Call]) -> list[_Call]:
    """Calls recorded twice, by two instrumentations at once, counted once.

    With OpenInference on LlamaIndex and a GenAI instrumentation on the OpenAI client, a
    streamed call is both OpenInference's ``astream_chat`` span and a ``chat`` span beside it
    in the same agent step (a non-streamed ``chat`` nests inside and is skipped above). An agent
    step makes its model calls one after another, so within a step the k-th call of one
    convention is the k-th of the other: the OpenInference record is kept, and what it lacks
    (usage, time to first token, finish reason) is taken from its twin.
    """
    by_step: dict[int, dict[str, list[_Call]]] = {}
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


def _agents_from_tools(index: SpanIndex, calls: list[_Call], tools: list[ToolCall]) -> None:
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
    trace: _Trace, span: SpanRecord, llm_ids: set[int], facts: conv.LLMFacts
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


def _to_llm_call(call: _Call, prices: Mapping[str, ModelPrice]) -> LLMCall:
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


def _tool_calls(
    trace: _Trace, calls: list[_Call], emitted_by: Mapping[str, str | None]
) -> list[ToolCall]:
    out: list[ToolCall] = []
    call_starts = [c.span.start_ns for c in calls]
    index = trace.index
    tools = [span for span in index.spans if conv.is_tool(span)]
    if not tools:
        return out
    step_ids = {s.span_id: i for s in index.spans if (i := conv.step_tool_call_id(s))}
    step_above = index.nearest(step_ids)
    for span in tools:
        facts = conv.read_tool(span, trace.notes)
        above = step_above.get(span.span_id)
        call_id = facts.tool_call_id or (None if above is None else step_ids[above])
        agent = trace.own_agent.get(span.span_id)
        if agent is None and call_id is not None:
            agent = emitted_by.get(call_id)
        if agent is None:
            agent = trace.agent(span)
        if agent is None:
            # The latest model call before the tool decided to run it.
            before = bisect_right(call_starts, span.start_ns)
            agent = calls[before - 1].agent if before else None
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


def _name_tool_results(messages: list[conv.Message], tools: list[ToolCall]) -> None:
    """Give every tool result the ``name`` of the tool that produced it (when known)."""
    names = {
        call["id"]: call["function"]["name"]
        for message in messages
        for call in message.get("tool_calls", ())
        if call.get("id") and call["function"].get("name")
    }
    names.update({t.tool_call_id: t.name for t in tools if t.tool_call_id})
    for message in messages:
        if message.get("role") == "tool" and not message.get("name"):
            name = names.get(message.get("tool_call_id") or "")
            if name:
                message["name"] = name


def _run_input(calls: list[_Call], messages: list[conv.Message]) -> str | None:
    """The user message that started this run: the last one the first model call was sent."""
    if calls:
        for message in reversed(calls[0].facts.input_messages):
            if message.get("role") == "user":
                return str(message.get("content"))
    return next((m["content"] for m in messages if m.get("role") == "user"), None)


def _final_answer(messages: list[conv.Message]) -> str | None:
    """The last assistant text (a ReAct answer without its thought), else a direct tool result."""
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant" and message.get("content") and not message.get("tool_calls"):
            return _react_answer(str(message["content"]))
        if role == "tool":
            return str(message.get("content") or "") or None
        if role == "assistant":
            return None
    return None


def _react_answer(text: str) -> str:
    if text.startswith("Thought:") and REACT_ANSWER in text:
        return text.split(REACT_ANSWER, 1)[1].strip()
    return text
