"""One run -> its rows in the seven tables, read from the RunTrace JSON (``RunTrace.to_dict()``).

The JSON form is the contract: keys added to it later (``cost`` per run, agent and LLM call;
``labels``) fill their columns as soon as they are there, and null until then. Rows are tuples
in ``COLUMNS`` order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from ..run_json import RunTraceJSON
from ..run_trace import RunTrace
from ._columns import TABLES, TableName

__all__ = ["Rows", "record_of", "rows_of"]

Rows = dict[TableName, list[tuple[Any, ...]]]
_NO_COST = (None, None, None, None)


def record_of(trace: RunTrace | Mapping[str, Any]) -> RunTraceJSON:
    """The RunTrace JSON of a run given as a RunTrace or already as its JSON (of this version or
    an earlier one: a key it lacks fills its columns with null)."""
    return trace.to_dict() if isinstance(trace, RunTrace) else cast(RunTraceJSON, trace)


def rows_of(trace: RunTrace | Mapping[str, Any]) -> Rows:
    """The rows one run adds to each table."""
    run = record_of(trace)
    tid = run["trace_id"]
    labels = run.get("labels") or {}
    label = (
        labels.get("session_id"),
        labels.get("task_id"),
        labels.get("repetition"),
        labels.get("framework"),
    )
    rows: Rows = {name: [] for name in TABLES}

    llm_calls = run.get("llm_calls") or []
    tool_calls = run.get("tool_calls") or []
    for call in llm_calls:
        rows["llm_calls"].append(
            (
                tid,
                call["span_id"],
                call.get("agent"),
                *label,
                call.get("model"),
                call.get("provider"),
                call.get("start"),
                call.get("end"),
                call.get("duration_s"),
                call.get("time_to_first_token_s"),
                *_call_tokens(call.get("usage")),
                call.get("finish_reason"),
                call.get("status"),
                *_cost(call.get("cost")),
            )
        )
    for tool in tool_calls:
        rows["tool_calls"].append(
            (
                tid,
                tool["span_id"],
                tool.get("agent"),
                *label,
                tool.get("name"),
                tool.get("tool_call_id"),
                _json(tool.get("arguments")),
                _text(tool.get("output")),
                tool.get("start"),
                tool.get("end"),
                tool.get("duration_s"),
                tool.get("status"),
                tool.get("error"),
            )
        )
    for position, message in enumerate(run.get("messages") or ()):
        rows["messages"].append(
            (
                tid,
                position,
                message.get("agent"),
                *label,
                message.get("role"),
                _text(message.get("content")),
                message.get("tool_call_id"),
                message.get("name"),
                _json(message.get("tool_calls")),
            )
        )
    handoffs = run.get("handoffs") or []
    for position, handoff in enumerate(handoffs):
        rows["handoffs"].append(
            (
                tid,
                position,
                *label,
                handoff.get("from"),
                handoff.get("to"),
                handoff.get("reason"),
                handoff.get("at"),
                handoff.get("tool_call_id"),
            )
        )
    delegations = run.get("delegations") or []
    for position, delegation in enumerate(delegations):
        rows["delegations"].append(
            (
                tid,
                position,
                *label,
                delegation.get("from"),
                delegation.get("to"),
                _text(delegation.get("task")),
                delegation.get("at"),
                delegation.get("tool_call_id"),
            )
        )
    agents = run.get("agents") or {}
    for name, stats in agents.items():
        usage = stats.get("usage")
        rows["agents"].append(
            (
                tid,
                name,
                *label,
                stats.get("llm_calls"),
                stats.get("tool_calls"),
                stats.get("errors"),
                stats.get("duration_s"),
                *_tokens(usage),
                (usage or {}).get("missing_calls"),
                *_cost(stats.get("cost")),
            )
        )
    timings = run.get("timings") or {}
    usage = run.get("usage")
    errors = sum(c.get("status") == "error" for c in llm_calls) + sum(
        c.get("status") == "error" for c in tool_calls
    )
    rows["runs"].append(
        (
            tid,
            *label,
            run.get("status"),
            run.get("start"),
            run.get("end"),
            timings.get("wall_s"),
            timings.get("llm_s"),
            timings.get("tool_s"),
            timings.get("other_s"),
            _text(run.get("input")),
            _text(run.get("output")),
            _json(list(agents)),
            len(agents),
            len(llm_calls),
            len(tool_calls),
            len(handoffs),
            len(delegations),
            len(run.get("messages") or ()),
            errors,
            *_tokens(usage),
            (usage or {}).get("missing_calls"),
            *_cost(run.get("cost")),
            _json(list(run.get("issues") or ())),
            *_evaluation(run.get("evaluation")),
        )
    )
    return rows


def _evaluation(outcome: Any) -> tuple[Any, ...]:
    """MASEval's outcome of the run (``BenchmarkExport`` adds it); nulls for other runs."""
    if not isinstance(outcome, Mapping):
        return (None, None, None, None)
    passed, score = outcome.get("passed"), outcome.get("score")
    return (
        outcome.get("status"),
        passed if isinstance(passed, bool) else None,
        score if isinstance(score, int | float) and not isinstance(score, bool) else None,
        _json(outcome.get("evaluators")),
    )


def _tokens(usage: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if not usage:
        return (None, None, None, None, None, False)
    return (
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        usage.get("total_tokens"),
        usage.get("cached_input_tokens"),
        usage.get("reasoning_tokens"),
        usage.get("complete"),
    )


def _call_tokens(usage: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """One call's counts; null (not zero) when the call reported none."""
    if not usage or usage.get("complete") is False:
        return (None, None, None, None, None, False)
    return _tokens(usage)


def _cost(cost: Mapping[str, Any] | None) -> tuple[Any, ...]:
    if not cost:
        return _NO_COST
    return (
        cost.get("total_usd"),
        cost.get("input_usd"),
        cost.get("output_usd"),
        cost.get("complete"),
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str | None:
    """Text as it is; anything else (multi-part content) as JSON."""
    return value if value is None or isinstance(value, str) else _json(value)
