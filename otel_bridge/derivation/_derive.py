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
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from .. import conventions as conv
from .. import frameworks as fw
from ..errors import TraceSelectionError
from ..run_trace import Cost, Handoff, LLMCall, RunTrace, TokenUsage, ToolCall
from ..spans import SpanRecord, group_by_trace, parse_trace_id
from . import _calls as read
from . import _rollup as rollup
from ._calls import Call, TraceLookups
from ._cost import ModelPrice, PriceTable, check_price_table
from ._delegations import delegations
from ._messages import CallMessages, merge_history

__all__ = ["derive", "derive_all"]

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


def _derive_trace(
    spans: list[SpanRecord], evicted_spans: int, prices: Mapping[str, ModelPrice]
) -> RunTrace:
    trace = TraceLookups(spans)
    index = trace.index
    issues: list[str] = []

    calls = read.llm_calls(trace)
    emitted_by: dict[str, str | None] = {}
    for call in calls:
        for message in call.facts.output_messages:
            for tool_call in message.get("tool_calls", ()):
                if tool_call.get("id"):
                    emitted_by[tool_call["id"]] = call.agent
    tool_calls = read.arguments_from_model(read.tool_calls(trace, calls, emitted_by), calls)
    read.agents_from_tools(index, calls, tool_calls)
    llm_calls = [read.to_llm_call(c, prices) for c in calls]
    targets = {
        t.span_id: target
        for t in tool_calls
        if (target := conv.handoff_target(index.by_id[int(t.span_id, 16)], trace.notes))
    }
    transfers = {
        t.span_id: asked
        for t in tool_calls
        if (asked := trace.frameworks.transfer(t, index.by_id[int(t.span_id, 16)])) is not None
    }
    passes, node_transfers = read.node_transfers(trace, llm_calls)
    if passes:  # control passed by graph nodes too (LangGraph's Command(goto=...))
        transfers.update(node_transfers)
        passing = sorted([*tool_calls, *passes], key=lambda t: t.start_ns)
    else:
        passing = tool_calls
    handoffs, rejected = rollup.handoffs(
        passing, llm_calls, targets, transfers, trace.frameworks.refused
    )
    handoffs = _with_requested_handoffs(trace, handoffs, calls, llm_calls, tool_calls)
    delegated = delegations(trace, tool_calls, calls)

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

    usage = TokenUsage.combine(c.usage for c in llm_calls)

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
    framework = fw.framework_of(index.spans)
    if framework is None and llm_calls and not agents:
        # Calls, tokens, tools and messages are read by the conventions; agents, handoffs and
        # delegations need a framework otel-bridge knows.
        issues.append("unknown_framework")
    if not llm_calls:
        issues.append("no_llm_calls")
    elif not any(c.facts.input_messages or c.facts.output_messages for c in calls):
        # Content capture was off: messages, the run's input and answer, tool arguments and
        # results, and handoff reasons cannot be derived (they are left empty, not guessed).
        issues.append("no_message_content")

    roots = index.roots or index.orphans
    # Some instrumentations never mark the root (OpenLLMetry, whose root even ends early):
    # a run whose last model call failed could not finish, whatever its root says.
    failed = any(r.status == "ERROR" for r in roots) or bool(
        llm_calls and llm_calls[-1].status == "error"
    )
    task = _task(roots, trace) or _run_input(calls, messages)
    answer = None if failed else _answer(roots, trace, messages)
    issues.extend(read.value_issues(trace))  # once every value is read, the task and answer too
    return RunTrace(
        trace_id=index.spans[0].trace_id_hex,
        status="error" if failed else "ok",
        input=task,
        output=answer,
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
        labels={**conv.run_labels(index.spans), "framework": framework},
        delegations=delegated,
    )


def _with_requested_handoffs(
    trace: TraceLookups,
    handoffs: list[Handoff],
    calls: list[Call],
    llm_calls: list[LLMCall],
    tools: list[ToolCall],
) -> list[Handoff]:
    """The handoffs, with those a model asked for that no span records (in time order)."""
    ran = {t.tool_call_id for t in tools if t.tool_call_id}
    agents = {c.agent for c in calls if c.agent}
    requests = [
        (position, tool_call["id"], target)
        for position, call in enumerate(calls)
        for message in call.facts.output_messages
        for tool_call in message.get("tool_calls", ())
        if tool_call.get("id")
        and tool_call["id"] not in ran
        and (
            target := trace.frameworks.requested_transfer(
                str(tool_call["function"].get("name")), agents
            )
        )
    ]
    if not requests:
        return handoffs
    found = rollup.requested_handoffs(llm_calls, requests)
    return sorted([*handoffs, *found], key=lambda h: h.at_ns)


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
            name = names.get(message.get("tool_call_id"))
            if name:
                message["name"] = name


def _run_input(calls: list[Call], messages: list[conv.Message]) -> str | None:
    """The user message that started this run: the last one the first model call was sent."""
    if calls:
        for message in reversed(calls[0].facts.input_messages):
            if message.get("role") == "user":
                return str(message.get("content"))
    return next((m["content"] for m in messages if m.get("role") == "user"), None)


def _on_root(
    roots: list[SpanRecord],
    trace: TraceLookups,
    read: Callable[[SpanRecord, conv.ValueNotes], str | None],
    last: bool,
) -> str | None:
    """What ``read`` finds on the run's root, else on the spans right under it (a root of ours
    wraps the framework's own runs, among other spans): the first span that records it, or
    with ``last`` the last one. Without a root (it was lost), the same over the top spans left.
    """
    for root in reversed(roots) if last else roots:
        found = read(root, trace.notes)
        if found is not None:
            return found
        children = trace.index.children.get(root.span_id, [])
        for span in reversed(children) if last else children:
            found = read(span, trace.notes)
            if found is not None:
                return found
    return None


def _task(roots: list[SpanRecord], trace: TraceLookups) -> str | None:
    """The task its framework records on the run's root (or its first agent run), else None."""
    return _on_root(roots, trace, trace.frameworks.run_input, last=False)


def _answer(
    roots: list[SpanRecord], trace: TraceLookups, messages: list[conv.Message]
) -> str | None:
    """The answer its framework records on the run's root (or its last agent run), else the
    last assistant text or tool result."""
    found = _on_root(roots, trace, trace.frameworks.run_answer, last=True)
    return found if found is not None else _final_answer(messages)


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
