"""Totals of a run from its LLM and tool calls: handoffs, timings (interval unions), per-agent
and per-model."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping

from ..frameworks import Transfer
from ..run_trace import AgentStats, Cost, Handoff, LLMCall, Timings, TokenUsage, ToolCall

__all__ = [
    "agent_stats",
    "cost_by_model",
    "handoffs",
    "requested_handoffs",
    "timings",
    "union_length",
    "usage_by_model",
]


def handoffs(
    tools: list[ToolCall],
    llm_calls: list[LLMCall],
    targets: Mapping[str, str],
    transfers: Mapping[str, Transfer],
    refused: Callable[[ToolCall, str], bool],
) -> tuple[list[Handoff], int]:
    """Accepted handoffs in order, and how many the workflow refused.

    A handoff is a tool call its framework reads as a transfer (``transfers``: tool span id ->
    what it asks for), or a tool span naming its target agent (``targets``: tool span id ->
    agent). It is accepted when the next model call is the target agent's, or, with no later
    call, when the tool did not report a refusal (``refused``, the framework's reading).
    """
    handoffs: list[Handoff] = []
    rejected = 0
    starts = [c.start_ns for c in llm_calls]  # llm_calls are in start order
    # next_agents[i]: the agent of the first call from i on that has one (one pass, not a
    # scan per handoff).
    next_agents: list[str | None] = [None] * (len(llm_calls) + 1)
    for i in range(len(llm_calls) - 1, -1, -1):
        next_agents[i] = llm_calls[i].agent or next_agents[i + 1]
    for tool in tools:
        target = targets.get(tool.span_id)
        asked = transfers.get(tool.span_id)
        if asked is None and target is None:
            continue
        next_agent = next_agents[bisect_left(starts, tool.end_ns)]
        to_agent = str(target or (asked.to_agent if asked else None) or "")
        if not to_agent and tool.arguments is None and next_agent not in (None, tool.agent):
            to_agent = str(next_agent)  # arguments not captured: the agent that took over
        if not to_agent or tool.status == "error":
            rejected += 1
            continue
        if (next_agent is not None and next_agent != to_agent) or (
            next_agent is None and refused(tool, to_agent)
        ):
            rejected += 1
            continue
        handoffs.append(
            Handoff(
                from_agent=tool.agent,
                to_agent=to_agent,
                reason=asked.reason if asked else None,
                at_ns=tool.start_ns,
                tool_call_id=tool.tool_call_id,
            )
        )
    return handoffs, rejected


def requested_handoffs(
    llm_calls: list[LLMCall],
    requests: list[tuple[int, str, str]],
) -> list[Handoff]:
    """Handoffs known only from the model's request (no span records the handoff itself).

    ``requests``: (index of the asking call in ``llm_calls``, tool call id, target agent). One
    is accepted when the next call with an agent is the target's.
    """
    found = []
    for position, call_id, target in requests:
        asking = llm_calls[position]
        after = next((c.agent for c in llm_calls[position + 1 :] if c.agent), None)
        if after == target and asking.agent != target:
            found.append(Handoff(asking.agent, target, None, asking.end_ns, call_id))
    return found


def timings(
    llm_calls: list[LLMCall],
    tools: list[ToolCall],
    steps: Iterable[tuple[str, int, int]],
    start: int,
    end: int,
) -> Timings:
    """Wall, LLM, tool and other time; per agent, the union of its steps, calls and tools."""
    llm = [(c.start_ns, c.end_ns) for c in llm_calls]
    tool = [(t.start_ns, t.end_ns) for t in tools]
    wall = end - start
    busy = union_length(llm + tool)
    per_agent: dict[str, list[tuple[int, int]]] = {}
    for agent, begin, finish in steps:
        per_agent.setdefault(agent, []).append((begin, finish))
    for who, begin, finish in [
        *((c.agent, c.start_ns, c.end_ns) for c in llm_calls),
        *((t.agent, t.start_ns, t.end_ns) for t in tools),
    ]:
        if who is not None:
            per_agent.setdefault(who, []).append((begin, finish))
    return Timings(
        wall_ns=wall,
        llm_ns=union_length(llm),
        tool_ns=union_length(tool),
        other_ns=max(0, wall - busy),
        per_agent_ns={name: union_length(iv) for name, iv in per_agent.items()},
    )


def agent_stats(
    llm_calls: list[LLMCall], tools: list[ToolCall], per_agent_ns: Mapping[str, int]
) -> dict[str, AgentStats]:
    """Tokens, cost, calls, time and errors of each agent, in order of first appearance."""
    names = list(
        dict.fromkeys(
            [
                *(c.agent for c in llm_calls if c.agent),
                *(t.agent for t in tools if t.agent),
                *per_agent_ns,
            ]
        )
    )
    calls_of: dict[str, list[LLMCall]] = {}
    tools_of: dict[str, list[ToolCall]] = {}
    for call in llm_calls:
        if call.agent is not None:
            calls_of.setdefault(call.agent, []).append(call)
    for tool in tools:
        if tool.agent is not None:
            tools_of.setdefault(tool.agent, []).append(tool)
    stats = {}
    for name in names:
        mine = calls_of.get(name, [])
        my_tools = tools_of.get(name, [])
        stats[name] = AgentStats(
            usage=TokenUsage.combine(c.usage for c in mine),
            llm_calls=len(mine),
            tool_calls=len(my_tools),
            duration_ns=per_agent_ns.get(name, 0),
            errors=sum(c.status == "error" for c in mine)
            + sum(t.status == "error" for t in my_tools),
            cost=Cost.combine(c.cost for c in mine),
        )
    return stats


def usage_by_model(llm_calls: list[LLMCall]) -> dict[str, TokenUsage]:
    """Token usage summed per model ("unknown" when the span names none)."""
    by_model: dict[str, list[TokenUsage]] = {}
    for call in llm_calls:
        by_model.setdefault(call.model or "unknown", []).append(call.usage)
    return {model: TokenUsage.combine(usages) for model, usages in by_model.items()}


def cost_by_model(llm_calls: list[LLMCall]) -> dict[str, Cost]:
    """Cost summed per model ("unknown" when the span names none)."""
    by_model: dict[str, list[Cost]] = {}
    for call in llm_calls:
        by_model.setdefault(call.model or "unknown", []).append(call.cost)
    return {model: Cost.combine(costs) for model, costs in by_model.items()}


def union_length(intervals: Iterable[tuple[int, int]]) -> int:
    """Total length covered by the intervals, overlaps counted once."""
    total = 0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total
