"""The adapter's record of its runs, and what MASEval reads from them; pure, no I/O.

A ``RunRecord`` is one ``run()``: the query, how it ended and its RunTrace (None when the
spans could not be derived). The functions here join records into MASEval's views: one
conversation across runs, per-agent totals, usage and cost as a ``maseval.TokenUsage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from maseval import TokenUsage as MasevalTokenUsage
from maseval.core.usage import CostCalculator

from ..conventions import Message
from ..derivation import merge_conversation
from ..run_trace import AgentStats, Cost, LLMCall, RunTrace, Timings, TokenUsage
from ..telemetry import CapturedTrace

__all__ = [
    "RunRecord",
    "conversation",
    "maseval_usage",
    "summarize",
]


@dataclass(slots=True)
class RunRecord:
    """One ``run()`` of an adapter and what came of it: ``captured`` holds its spans until
    they are derived into ``trace``."""

    query: str
    session_id: str
    started_at: float
    duration_s: float = 0.0
    status: Literal["success", "error"] = "success"
    trace_id: str | None = None
    trace: RunTrace | None = None
    captured: CapturedTrace | None = None
    error: str | None = None
    error_type: str | None = None
    issues: list[str] = field(default_factory=list)

    def log_entry(self) -> dict[str, Any]:
        """One ``logs`` entry, with the keys MASEval's own LlamaIndex adapter writes, and more."""
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(self.started_at).isoformat(),
            "query": self.query,
            "query_length": len(self.query),
            "duration_seconds": round(self.duration_s, 6),
            "status": self.status,
            "trace_id": self.trace_id,
            "session_id": self.session_id,
            "message_count": len(self.trace.messages) if self.trace else 0,
        }
        if self.trace is not None:
            usage = self.trace.usage
            entry.update(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                usage_complete=usage.complete,
                cost_usd=self.trace.cost.to_dict()["total_usd"],
                cost_complete=self.trace.cost.complete,
                llm_calls=len(self.trace.llm_calls),
                tool_calls=len(self.trace.tool_calls),
                handoffs=len(self.trace.handoffs),
            )
        if self.error is not None:
            entry.update(error=self.error, error_type=self.error_type)
        issues = [*self.issues, *(self.trace.issues if self.trace else ())]
        if issues:
            entry["issues"] = list(dict.fromkeys(issues))
        return entry


def conversation(records: Iterable[RunRecord]) -> list[Message]:
    """One conversation from the runs that continued it, in MASEval's message format.

    Each run re-sends the history before it (``merge_conversation`` keeps a message where it
    first appears). A run with no derived messages (it failed before its first LLM call, or its
    spans were lost) contributes its query as a user message; a missing ``content`` becomes "".
    """
    histories = []
    for record in records:
        messages: Sequence[Message] = record.trace.messages if record.trace is not None else []
        if not messages and record.query:
            messages = [{"role": "user", "content": record.query}]
        histories.append(messages)
    return [
        {**m, "content": "" if m.get("content") is None else m["content"]}
        for m in merge_conversation(histories)
    ]


def summarize(traces: Sequence[RunTrace]) -> dict[str, Any]:
    """Totals over runs: ``usage``, ``cost``, ``agents``, ``handoffs``, ``delegations``,
    ``timings``, ``issues`` (JSON)."""
    usage = TokenUsage.combine(t.usage for t in traces)
    agents: dict[str, AgentStats] = {}
    for trace in traces:
        for name, stats in trace.agents.items():
            agents[name] = agents[name] + stats if name in agents else stats
    timings = sum((t.timings for t in traces), Timings(0, 0, 0, 0, {}))
    return {
        "usage": usage.to_dict(),
        "cost": Cost.combine(t.cost for t in traces).to_dict(),
        "agents": {name: stats.to_dict() for name, stats in agents.items()},
        "handoffs": [
            {**handoff.to_dict(), "trace_id": trace.trace_id}
            for trace in traces
            for handoff in trace.handoffs
        ],
        "delegations": [
            {**delegation.to_dict(), "trace_id": trace.trace_id}
            for trace in traces
            for delegation in trace.delegations
        ],
        "timings": timings.to_dict(),
        "issues": list(dict.fromkeys(issue for t in traces for issue in t.issues)),
    }


def maseval_usage(
    traces: Sequence[RunTrace],
    calculator: CostCalculator | None = None,
    model_id: str | None = None,
) -> MasevalTokenUsage:
    """Token counts and cost summed over every LLM call of the runs, as MASEval's ``TokenUsage``.

    ``cost`` is the sum of the calls whose cost is known: the RunTraces' USD cost, or, with a
    MASEval ``calculator``, what it returns for each call (asked with ``model_id`` if given,
    else the call's own model). MASEval has no "unknown": calls that reported no counts are
    counted in ``units["llm_calls_missing_usage"]``, calls left without a cost in
    ``units["llm_calls_unpriced"]``, next to ``units["llm_calls"]``.
    """
    usage = TokenUsage.combine(t.usage for t in traces)
    calls = [c for t in traces for c in t.llm_calls]
    if calculator is None:
        cost = Cost.combine(t.cost for t in traces)
        amount, unpriced = float(cost.total_usd or 0), cost.unpriced_calls
    else:
        priced = [_calculated(calculator, c, model_id) for c in calls]
        amount = float(sum(p for p in priced if p is not None))
        unpriced = sum(p is None for p in priced)
    units = {
        "llm_calls": len(calls),
        "llm_calls_missing_usage": usage.missing_calls,
        "llm_calls_unpriced": unpriced,
    }
    return _as_maseval(usage, cost=amount, units=units)


def _calculated(calculator: CostCalculator, call: LLMCall, model_id: str | None) -> float | None:
    """One call's cost by a MASEval calculator; None when its tokens or price are unknown."""
    model = model_id or call.model
    if not call.usage.complete or not model:
        return None
    return calculator.calculate_cost(_as_maseval(call.usage), model)


def _as_maseval(usage: TokenUsage, **fields: Any) -> MasevalTokenUsage:
    """Our token counts as MASEval's LLM ``TokenUsage`` (with its other ``fields``)."""
    return MasevalTokenUsage(
        kind="llm",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        **fields,
    )
