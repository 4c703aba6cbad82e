"""The derived data of one run: RunTrace and its parts, with their stable JSON form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from ._frozen import direct_init
from .run_json import (
    AgentJSON,
    CostJSON,
    DelegationJSON,
    HandoffJSON,
    LLMCallJSON,
    MessageJSON,
    RunLabels,
    RunTraceJSON,
    Status,
    TimingsJSON,
    ToolCallJSON,
    UsageJSON,
)
from .spans import iso

__all__ = [
    "AgentStats",
    "Cost",
    "Delegation",
    "Handoff",
    "LLMCall",
    "RunLabels",
    "RunTrace",
    "Timings",
    "TokenUsage",
    "ToolCall",
]


def _s(ns: int) -> float:
    return round(ns / 1e9, 6)


@direct_init
@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts; ``complete`` is False when some LLM call reported none (never zero-filled)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    complete: bool = True
    missing_calls: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.complete and other.complete,
            self.missing_calls + other.missing_calls,
        )

    @classmethod
    def combine(cls, usages: Iterable[TokenUsage]) -> TokenUsage:
        """The sum of some usages (zero for none), added field by field in one pass."""
        inp = out = total = cached = reasoning = missing = 0
        complete = True
        for u in usages:
            inp += u.input_tokens
            out += u.output_tokens
            total += u.total_tokens
            cached += u.cached_input_tokens
            reasoning += u.reasoning_tokens
            complete = complete and u.complete
            missing += u.missing_calls
        return cls(inp, out, total, cached, reasoning, complete, missing)

    @classmethod
    def missing(cls) -> TokenUsage:
        """The usage of one call that reported no counts."""
        return cls(complete=False, missing_calls=1)

    def to_dict(self) -> UsageJSON:
        """Stable JSON form."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "complete": self.complete,
            "missing_calls": self.missing_calls,
        }


def _usd(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


def _plus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """Known parts add up; an unknown part (None) adds nothing."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@direct_init
@dataclass(frozen=True, slots=True)
class Cost:
    """Money spent, in USD (exact ``Decimal``s).

    A sum holds the known parts; ``complete`` is False and ``unpriced_calls`` counts the LLM
    calls whose cost is unknown (tokens missing, or no price for the model). An amount is None
    (never zero) when no part of it is known. ``total_usd`` may exceed input plus output when a
    model also charges per request.
    """

    total_usd: Decimal | None = Decimal(0)
    input_usd: Decimal | None = Decimal(0)
    output_usd: Decimal | None = Decimal(0)
    complete: bool = True
    unpriced_calls: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            _plus(self.total_usd, other.total_usd),
            _plus(self.input_usd, other.input_usd),
            _plus(self.output_usd, other.output_usd),
            self.complete and other.complete,
            self.unpriced_calls + other.unpriced_calls,
        )

    @classmethod
    def unknown(cls) -> Cost:
        """The cost of one LLM call that could not be priced."""
        return cls(None, None, None, complete=False, unpriced_calls=1)

    @classmethod
    def combine(cls, costs: Iterable[Cost]) -> Cost:
        """The sum of some costs; zero for none, amounts None when no part is known."""
        found = iter(costs)
        first = next(found, None)
        if first is None:
            return cls()
        total, inp, out = first.total_usd, first.input_usd, first.output_usd
        complete, unpriced = first.complete, first.unpriced_calls
        for cost in found:  # one pass, field by field: no Cost made per addition
            total = _plus(total, cost.total_usd)
            inp = _plus(inp, cost.input_usd)
            out = _plus(out, cost.output_usd)
            complete = complete and cost.complete
            unpriced += cost.unpriced_calls
        return cls(total, inp, out, complete, unpriced)

    def to_dict(self) -> CostJSON:
        """Stable JSON form (amounts as floats, unknown as null)."""
        return {
            "total_usd": _usd(self.total_usd),
            "input_usd": _usd(self.input_usd),
            "output_usd": _usd(self.output_usd),
            "complete": self.complete,
            "unpriced_calls": self.unpriced_calls,
        }


_UNPRICED = Cost(None, None, None, complete=False)  # a record built without pricing


@direct_init
@dataclass(frozen=True, slots=True)
class LLMCall:
    """One real model call."""

    span_id: str
    agent: str | None
    model: str | None
    provider: str | None
    start_ns: int
    end_ns: int
    time_to_first_token_ns: int | None
    usage: TokenUsage
    finish_reason: str | None
    status: Status
    cost: Cost = _UNPRICED

    @property
    def duration_ns(self) -> int:
        """Call duration (for streaming: to the end of its agent step)."""
        return max(0, self.end_ns - self.start_ns)

    def to_dict(self) -> LLMCallJSON:
        """Stable JSON form."""
        ttft = self.time_to_first_token_ns
        return {
            "span_id": self.span_id,
            "agent": self.agent,
            "model": self.model,
            "provider": self.provider,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "duration_s": _s(self.duration_ns),
            "time_to_first_token_s": None if ttft is None else _s(ttft),
            "usage": self.usage.to_dict(),
            "finish_reason": self.finish_reason,
            "status": self.status,
            "cost": self.cost.to_dict(),
        }


@direct_init
@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool execution."""

    span_id: str
    agent: str | None
    name: str
    tool_call_id: str | None
    arguments: Any
    output: str | None
    start_ns: int
    end_ns: int
    status: Status
    error: str | None

    @property
    def duration_ns(self) -> int:
        """Tool execution time."""
        return max(0, self.end_ns - self.start_ns)

    def to_dict(self) -> ToolCallJSON:
        """Stable JSON form."""
        return {
            "span_id": self.span_id,
            "agent": self.agent,
            "name": self.name,
            "tool_call_id": self.tool_call_id,
            "arguments": self.arguments,
            "output": self.output,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "duration_s": _s(self.duration_ns),
            "status": self.status,
            "error": self.error,
        }


@direct_init
@dataclass(frozen=True, slots=True)
class Handoff:
    """Control passing from one agent to another."""

    from_agent: str | None
    to_agent: str
    reason: str | None
    at_ns: int
    tool_call_id: str | None

    def to_dict(self) -> HandoffJSON:
        """Stable JSON form."""
        return {
            "from": self.from_agent,
            "to": self.to_agent,
            "reason": self.reason,
            "at": iso(self.at_ns),
            "tool_call_id": self.tool_call_id,
        }


@direct_init
@dataclass(frozen=True, slots=True)
class Delegation:
    """An agent called as a tool by another, control returning to the caller afterwards."""

    from_agent: str | None
    to_agent: str
    task: str | None
    at_ns: int
    tool_call_id: str | None

    def to_dict(self) -> DelegationJSON:
        """Stable JSON form."""
        return {
            "from": self.from_agent,
            "to": self.to_agent,
            "task": self.task,
            "at": iso(self.at_ns),
            "tool_call_id": self.tool_call_id,
        }


@direct_init
@dataclass(frozen=True, slots=True)
class AgentStats:
    """Totals for one agent of a run."""

    usage: TokenUsage
    llm_calls: int
    tool_calls: int
    duration_ns: int
    errors: int
    cost: Cost = _UNPRICED

    def __add__(self, other: AgentStats) -> AgentStats:
        return AgentStats(
            self.usage + other.usage,
            self.llm_calls + other.llm_calls,
            self.tool_calls + other.tool_calls,
            self.duration_ns + other.duration_ns,
            self.errors + other.errors,
            self.cost + other.cost,
        )

    def to_dict(self) -> AgentJSON:
        """Stable JSON form."""
        return {
            "usage": self.usage.to_dict(),
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "duration_s": _s(self.duration_ns),
            "errors": self.errors,
            "cost": self.cost.to_dict(),
        }


@direct_init
@dataclass(frozen=True, slots=True)
class Timings:
    """Where the wall time of a run went."""

    wall_ns: int
    llm_ns: int
    tool_ns: int
    other_ns: int
    per_agent_ns: dict[str, int]

    def __add__(self, other: Timings) -> Timings:
        per_agent = dict(self.per_agent_ns)
        for name, ns in other.per_agent_ns.items():
            per_agent[name] = per_agent.get(name, 0) + ns
        return Timings(
            self.wall_ns + other.wall_ns,
            self.llm_ns + other.llm_ns,
            self.tool_ns + other.tool_ns,
            self.other_ns + other.other_ns,
            per_agent,
        )

    def to_dict(self) -> TimingsJSON:
        """Stable JSON form."""
        return {
            "wall_s": _s(self.wall_ns),
            "llm_s": _s(self.llm_ns),
            "tool_s": _s(self.tool_ns),
            "other_s": _s(self.other_ns),
            "per_agent_s": {k: _s(v) for k, v in self.per_agent_ns.items()},
        }


@direct_init
@dataclass(frozen=True, slots=True)
class RunTrace:
    """Evaluation data of one run (one trace), derived from its spans."""

    trace_id: str
    status: Status
    input: str | None
    output: str | None
    agents: dict[str, AgentStats]
    usage: TokenUsage
    handoffs: list[Handoff]
    messages: list[dict[str, Any]]
    llm_calls: list[LLMCall]
    tool_calls: list[ToolCall]
    timings: Timings
    issues: list[str] = field(default_factory=list)
    usage_by_model: dict[str, TokenUsage] = field(default_factory=dict)
    start_ns: int = 0
    end_ns: int = 0
    cost: Cost = _UNPRICED
    cost_by_model: dict[str, Cost] = field(default_factory=dict)
    labels: RunLabels = field(
        default_factory=lambda: RunLabels(
            session_id=None, task_id=None, repetition=None, framework=None
        )
    )
    delegations: list[Delegation] = field(default_factory=list)

    def to_dict(self) -> RunTraceJSON:
        """The stable RunTrace JSON (the README's "The RunTrace JSON")."""
        return {
            "trace_id": self.trace_id,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "labels": RunLabels(**self.labels),
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
            "agents": {name: stats.to_dict() for name, stats in self.agents.items()},
            "usage": self.usage.to_dict(),
            "usage_by_model": {m: u.to_dict() for m, u in self.usage_by_model.items()},
            "cost": self.cost.to_dict(),
            "cost_by_model": {m: c.to_dict() for m, c in self.cost_by_model.items()},
            "handoffs": [h.to_dict() for h in self.handoffs],
            "delegations": [d.to_dict() for d in self.delegations],
            "messages": [cast(MessageJSON, dict(m)) for m in self.messages],
            "llm_calls": [c.to_dict() for c in self.llm_calls],
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "timings": self.timings.to_dict(),
            "issues": list(self.issues),
        }

    def to_html(self) -> str:
        """The run as one self-contained, offline HTML page (timeline, handoffs, tokens, chat)."""
        from .report import run_html

        return run_html(self.to_dict())
