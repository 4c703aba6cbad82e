"""What changed in figures between two runs: per run and per agent (pure, over RunTrace JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._steps import as_mapping

__all__ = ["AGENT_METRICS", "RUN_METRICS", "agent_figures", "delta", "run_figures"]

TOKENS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)
RUN_METRICS = (
    "status",
    "llm_calls",
    "tool_calls",
    "handoffs",
    "delegations",
    *TOKENS,
    "cost_usd",
    "llm_s",
    "tool_s",
    "wall_s",
    "errors",
)
AGENT_METRICS = (
    "llm_calls",
    "tool_calls",
    *TOKENS,
    "cost_usd",
    "llm_s",
    "tool_s",
    "wall_s",
    "errors",
)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _tokens(usage: Any) -> dict[str, float | int | None]:
    """Token counts; None (never zero) when no call reported any."""
    usage = as_mapping(usage)
    unknown = usage.get("complete") is False and not (
        _number(usage.get("input_tokens")) or _number(usage.get("output_tokens"))
    )
    return {k: None if unknown else _number(usage.get(k)) for k in TOKENS}


def _cost(cost: Any) -> float | None:
    cost = as_mapping(cost)
    total = _number(cost.get("total_usd"))
    return total if cost.get("complete") is True else None


def _seconds(calls: list[Mapping[str, Any]]) -> float:
    return round(sum(_number(c.get("duration_s")) or 0 for c in calls), 6)


def _errors(calls: list[Mapping[str, Any]]) -> int:
    return sum(c.get("status") == "error" for c in calls)


def run_figures(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run's figures that a diff compares (``RUN_METRICS``)."""
    llm = [as_mapping(c) for c in run.get("llm_calls") or ()]
    tools = [as_mapping(c) for c in run.get("tool_calls") or ()]
    timings = as_mapping(run.get("timings"))
    return {
        "status": run.get("status"),
        "llm_calls": len(llm),
        "tool_calls": len(tools),
        "handoffs": len(run.get("handoffs") or ()),
        "delegations": len(run.get("delegations") or ()),
        **_tokens(run.get("usage")),
        "cost_usd": _cost(run.get("cost")),
        "llm_s": _number(timings.get("llm_s")),
        "tool_s": _number(timings.get("tool_s")),
        "wall_s": _number(timings.get("wall_s")),
        "errors": _errors(llm) + _errors(tools),
    }


def agent_figures(run: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each agent's figures (``AGENT_METRICS``), by name."""
    llm = [as_mapping(c) for c in run.get("llm_calls") or ()]
    tools = [as_mapping(c) for c in run.get("tool_calls") or ()]
    found: dict[str, dict[str, Any]] = {}
    for name, stats in as_mapping(run.get("agents")).items():
        stats = as_mapping(stats)
        mine_llm = [c for c in llm if c.get("agent") == name]
        mine_tools = [c for c in tools if c.get("agent") == name]
        found[str(name)] = {
            "llm_calls": _number(stats.get("llm_calls")),
            "tool_calls": _number(stats.get("tool_calls")),
            **_tokens(stats.get("usage")),
            "cost_usd": _cost(stats.get("cost")),
            "llm_s": _seconds(mine_llm),
            "tool_s": _seconds(mine_tools),
            "wall_s": _number(stats.get("duration_s")),  # the agent's own time in the run
            "errors": _number(stats.get("errors")),
        }
    return found


def delta(a: Any, b: Any) -> dict[str, Any]:
    """``{"a", "b", "change"}``: B minus A for numbers (None when either is unknown), else
    ``"A → B"`` when they differ and None when they do not."""
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        change: Any = nb - na
        if isinstance(change, float):
            change = round(change, 9)
    elif a is not None and b is not None and a != b:
        change = f"{a} → {b}"
    else:
        change = None
    return {"a": a, "b": b, "change": change}
