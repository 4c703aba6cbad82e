"""A hand-written RunTrace JSON of one run (one agent, one model call, two messages), for the
tests of the tables."""

from __future__ import annotations

from typing import Any

__all__ = ["LABELS", "RUN", "USAGE", "T"]

T = "5b8efff798038103d269b633813fc60c"
LABELS = {"session_id": "s-9", "task_id": "t-1", "repetition": 0, "framework": "smolagents"}
USAGE = {
    "input_tokens": 120, "output_tokens": 9, "total_tokens": 129, "cached_input_tokens": 0,
    "reasoning_tokens": 0, "complete": True, "missing_calls": 0,
}  # fmt: skip
RUN: dict[str, Any] = {
    "trace_id": T, "status": "ok", "input": "Où est la gare ?", "output": "À gauche, 200 m.",
    "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:02Z", "labels": LABELS,
    "agents": {"guide": {"usage": USAGE, "cost": None, "llm_calls": 1, "tool_calls": 0,
                         "duration_s": 2.0, "errors": 0}},
    "usage": USAGE,
    "timings": {"wall_s": 2.0, "llm_s": 1.75, "tool_s": 0.0, "other_s": 0.25},
    "evaluation": {"status": "completed", "passed": True, "score": 1.0, "evaluators": []},
    "messages": [
        {"role": "user", "content": "Où est la gare ?", "agent": "guide"},
        {"role": "assistant", "content": "À gauche, 200 m.", "agent": "guide"},
    ],
    "llm_calls": [
        {"span_id": "00000000000000c1", "agent": "guide", "model": "gpt-4o-mini",
         "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:02Z", "duration_s": 2.0,
         "usage": None, "status": "ok"},
    ],
    "tool_calls": [], "handoffs": [], "delegations": [], "issues": [],
}  # fmt: skip
