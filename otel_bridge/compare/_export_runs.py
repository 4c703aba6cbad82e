"""Runs read back from an export directory, as RunTrace JSON (what a diff or a compare reads).

The tables hold everything a comparison needs: the runs table's figures and evaluation, each
run's agents, LLM calls, tool calls, messages, handoffs and delegations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from ..run_json import RunTraceJSON
from ..tables import read_export

__all__ = ["export_runs", "runs_from_tables"]

_TOKENS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
)


def export_runs(directory: str | Path) -> list[RunTraceJSON]:
    """The runs of an export directory as RunTrace JSON (with their MASEval evaluation)."""
    return runs_from_tables(read_export(directory))


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _usage(row: Mapping[str, Any]) -> dict[str, Any]:
    usage = {k: row.get(k) or 0 for k in _TOKENS}
    usage["complete"] = row.get("tokens_complete") is not False
    usage["missing_calls"] = row.get("missing_calls") or 0
    return usage


def _cost(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row.get("cost_complete") is None and row.get("cost_usd") is None:
        return None
    return {
        "total_usd": row.get("cost_usd"),
        "input_usd": row.get("input_cost_usd"),
        "output_usd": row.get("output_cost_usd"),
        "complete": row.get("cost_complete") is True,
    }


def runs_from_tables(tables: Mapping[Any, list[dict[str, Any]]]) -> list[RunTraceJSON]:
    """RunTrace JSON per row of the runs table, filled from the other tables that are given."""
    runs: dict[str, dict[str, Any]] = {}
    for row in tables["runs"]:
        evaluation = None
        if row.get("task_status") is not None or row.get("evaluation") is not None:
            evaluation = {
                "status": row.get("task_status"),
                "passed": row.get("passed"),
                "score": row.get("score"),
                "evaluators": _json(row.get("evaluation")),
            }
        runs[str(row["trace_id"])] = {
            "trace_id": str(row["trace_id"]),
            "status": row.get("status"),
            "input": row.get("input"),
            "output": row.get("output"),
            "labels": {k: row.get(k) for k in ("session_id", "task_id", "repetition", "framework")},
            "start": row.get("start"),
            "end": row.get("end"),
            "agents": {},
            "usage": _usage(row),
            "cost": _cost(row),
            "handoffs": [],
            "delegations": [],
            "messages": [],
            "llm_calls": [],
            "tool_calls": [],
            "timings": {
                "wall_s": row.get("wall_s"),
                "llm_s": row.get("llm_s"),
                "tool_s": row.get("tool_s"),
                "other_s": row.get("other_s"),
                "per_agent_s": {},
            },
            "issues": _json(row.get("issues")) or [],
            "evaluation": evaluation,
        }
    for row in tables.get("agents", ()):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            run["agents"][str(row.get("agent"))] = {
                "usage": _usage(row),
                "llm_calls": row.get("llm_calls"),
                "tool_calls": row.get("tool_calls"),
                "duration_s": row.get("duration_s"),
                "errors": row.get("errors"),
                "cost": _cost(row),
            }
            run["timings"]["per_agent_s"][str(row.get("agent"))] = row.get("duration_s")
    for row in tables.get("llm_calls", ()):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            usage = _usage(row)
            if row.get("tokens_complete") is False:
                usage["missing_calls"] = 1
            run["llm_calls"].append(
                {
                    **{
                        k: row.get(k)
                        for k in ("span_id", "agent", "model", "provider", "start", "end")
                    },
                    "duration_s": row.get("duration_s"),
                    "time_to_first_token_s": row.get("time_to_first_token_s"),
                    "usage": usage,
                    "finish_reason": row.get("finish_reason"),
                    "status": row.get("status"),
                    "cost": _cost(row),
                }
            )
    for row in tables.get("tool_calls", ()):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            run["tool_calls"].append(
                {
                    **{k: row.get(k) for k in ("span_id", "agent", "name", "tool_call_id")},
                    "arguments": _json(row.get("arguments")),
                    **{
                        k: row.get(k)
                        for k in ("output", "start", "end", "duration_s", "status", "error")
                    },
                }
            )
    for row in sorted(tables.get("messages", ()), key=lambda r: r.get("position") or 0):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            message = {
                "role": row.get("role"),
                "content": row.get("content"),
                "agent": row.get("agent"),
            }
            for key in ("tool_call_id", "name"):
                if row.get(key) is not None:
                    message[key] = row.get(key)
            if row.get("tool_calls") is not None:
                message["tool_calls"] = _json(row.get("tool_calls"))
            run["messages"].append(message)
    for row in sorted(tables.get("handoffs", ()), key=lambda r: r.get("position") or 0):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            run["handoffs"].append(
                {
                    "from": row.get("from_agent"),
                    "to": row.get("to_agent"),
                    "reason": row.get("reason"),
                    "at": row.get("at"),
                    "tool_call_id": row.get("tool_call_id"),
                }
            )
    for row in sorted(tables.get("delegations", ()), key=lambda r: r.get("position") or 0):
        run = runs.get(str(row.get("trace_id")))
        if run is not None:
            run["delegations"].append(
                {
                    "from": row.get("from_agent"),
                    "to": row.get("to_agent"),
                    "task": row.get("task"),
                    "at": row.get("at"),
                    "tool_call_id": row.get("tool_call_id"),
                }
            )
    for run in runs.values():
        for key in ("llm_calls", "tool_calls"):
            run[key].sort(key=lambda c: c.get("start") or "")
    # The tables hold every key of the RunTrace JSON a comparison reads (and the evaluation).
    return [cast(RunTraceJSON, run) for run in runs.values()]
