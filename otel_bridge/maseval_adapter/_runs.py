"""The adapter's record of its runs, and what MASEval reads from them; pure, no I/O.

A ``RunRecord`` is one ``run()``: the query, how it ended and its RunTrace (None when the
spans could not be derived). The functions here join records into MASEval's views: one
conversation across runs, per-agent totals, usage as a ``maseval.TokenUsage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from maseval import TokenUsage as MasevalTokenUsage

from ..conventions import Message
from ..derivation import merge_conversation
from ..run_trace import AgentStats, RunTrace, Timings, TokenUsage

__all__ = [
    "RunRecord",
    "conversation",
    "maseval_usage",
    "summarize",
]


@dataclass(slots=True)
class RunRecord:
    """One ``run()`` of an adapter and what came of it."""

    query: str
    session_id: str
    started_at: float
    duration_s: float = 0.0
    status: Literal["success", "error"] = "success"
    trace_id: str | None = None
    trace: RunTrace | None = None
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
    """Totals over runs: ``usage``, ``agents``, ``handoffs``, ``timings``, ``issues`` (JSON)."""
    usage = sum((t.usage for t in traces), TokenUsage())
    agents: dict[str, AgentStats] = {}
    for trace in traces:
        for name, stats in trace.agents.items():
            agents[name] = agents[name] + stats if name in agents else stats
    timings = sum((t.timings for t in traces), Timings(0, 0, 0, 0, {}))
    return {
        "usage": usage.to_dict(),
        "agents": {name: stats.to_dict() for name, stats in agents.items()},
        "handoffs": [
            {**handoff.to_dict(), "trace_id": trace.trace_id}
            for trace in traces
            for handoff in trace.handoffs
        ],
        "timings": timings.to_dict(),
        "issues": list(dict.fromkeys(issue for t in traces for issue in t.issues)),
    }


def maseval_usage(traces: Sequence[RunTrace]) -> MasevalTokenUsage:
    """Token counts summed over every LLM call of the runs, as MASEval's ``TokenUsage``.

    MASEval has no "unknown": calls that reported no counts are counted in
    ``units["llm_calls_missing_usage"]`` next to ``units["llm_calls"]``.
    """
    usage = sum((t.usage for t in traces), TokenUsage())
    return MasevalTokenUsage(
        units={
            "llm_calls": sum(len(t.llm_calls) for t in traces),
            "llm_calls_missing_usage": usage.missing_calls,
        },
        kind="llm",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )
