"""Two runs step by step (pure, over RunTrace JSON): ``Diff`` holds the aligned steps, the first
divergence, the deltas and the answers; ``RunDiff`` (``_run_diff``) adds the HTML page."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from ..run_json import RunTraceJSON
from ..spans import iso_ns
from ._align import align
from ._deltas import AGENT_METRICS, RUN_METRICS, agent_figures, delta, run_figures
from ._steps import Step, as_mapping, steps_of

__all__ = ["AlignedStep", "Diff", "StepStatus", "describe", "step_text"]

StepStatus = Literal["equal", "changed", "only_a", "only_b"]
_CLIP = 120


@dataclass(frozen=True, slots=True)
class AlignedStep:
    """A step of A and its counterpart in B (None on the side that has none)."""

    status: StepStatus
    a: Step | None
    b: Step | None
    differences: tuple[str, ...]  # the content fields that differ (changed steps)

    @property
    def step(self) -> Step:
        """The step as A has it, else as B has it."""
        step = self.a or self.b
        assert step is not None  # an aligned pair has at least one side
        return step


class Diff:
    """Two runs compared: aligned steps, the first divergence, figure deltas, the answers."""

    def __init__(self, a: RunTraceJSON, b: RunTraceJSON) -> None:
        self.a = a.copy()
        self.b = b.copy()

    @cached_property
    def steps(self) -> list[AlignedStep]:
        """Both runs' steps, aligned (an edit distance that survives inserted steps)."""
        steps_a, steps_b = steps_of(self.a), steps_of(self.b)
        codes: dict[Any, int] = {}

        def code(value: Any) -> int:
            return codes.setdefault(value, len(codes))

        prints_a = [code(s.fingerprint()) for s in steps_a]
        prints_b = [code(s.fingerprint()) for s in steps_b]
        keys_a = [code(s.key) for s in steps_a]
        keys_b = [code(s.key) for s in steps_b]
        aligned = []
        for i, j in align(keys_a, prints_a, keys_b, prints_b):
            if i is None:
                aligned.append(AlignedStep("only_b", None, steps_b[j or 0], ()))
                continue
            if j is None:
                aligned.append(AlignedStep("only_a", steps_a[i], None, ()))
                continue
            sa, sb = steps_a[i], steps_b[j]
            if prints_a[i] == prints_b[j]:
                aligned.append(AlignedStep("equal", sa, sb, ()))
            else:
                fields = tuple(k for k in sa.content if sa.content.get(k) != sb.content.get(k))
                aligned.append(AlignedStep("changed", sa, sb, fields))
        return aligned

    @property
    def equal(self) -> bool:
        """True when every step is equal."""
        return all(s.status == "equal" for s in self.steps)

    def first_divergence(self) -> dict[str, Any] | None:
        """Where the runs part: the first step that is not equal (None: they never do)."""
        for index, pair in enumerate(self.steps):
            if pair.status != "equal":
                step = pair.step
                return {
                    "index": index,
                    "status": pair.status,
                    "kind": step.kind,
                    "agent": step.agent,
                    "step": step.label,
                    "what": describe(pair),
                    "fields": list(pair.differences),
                }
        return None

    def deltas(self) -> dict[str, Any]:
        """Figures of A and B and the change (B minus A), for the run and per agent."""
        run_a, run_b = run_figures(self.a), run_figures(self.b)
        agents_a, agents_b = agent_figures(self.a), agent_figures(self.b)
        agents = {}
        for name in dict.fromkeys([*agents_a, *agents_b]):
            fa, fb = agents_a.get(name, {}), agents_b.get(name, {})
            agents[name] = {m: delta(fa.get(m), fb.get(m)) for m in AGENT_METRICS}
        return {"run": {m: delta(run_a[m], run_b[m]) for m in RUN_METRICS}, "agents": agents}

    def answer(self) -> dict[str, Any]:
        """Both answers and their line diff (``difflib.unified_diff``)."""
        a, b = self.a.get("output"), self.b.get("output")
        text_a, text_b = _text(a), _text(b)
        lines = difflib.unified_diff(
            text_a.splitlines(), text_b.splitlines(), "A", "B", lineterm="", n=1
        )
        return {"a": a, "b": b, "equal": a == b, "diff": list(lines)}

    def counts(self) -> dict[str, int]:
        """How many aligned steps have each status."""
        found = {"equal": 0, "changed": 0, "only_a": 0, "only_b": 0}
        for pair in self.steps:
            found[pair.status] += 1
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON form: runs, first divergence, aligned steps, deltas, answers (DESIGN.md's keys)."""
        start_a, start_b = _start(self.a), _start(self.b)
        return {
            "a": _about(self.a),
            "b": _about(self.b),
            "first_divergence": self.first_divergence(),
            "counts": self.counts(),
            "steps": [
                {
                    "status": pair.status,
                    "a": None if pair.a is None else pair.a.to_dict(start_a),
                    "b": None if pair.b is None else pair.b.to_dict(start_b),
                    "differences": list(pair.differences),
                }
                for pair in self.steps
            ],
            "deltas": self.deltas(),
            "answer": self.answer(),
        }


def _about(run: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "trace_id": run.get("trace_id"),
        "status": run.get("status"),
        "start": run.get("start"),
        "input": run.get("input"),
        "labels": dict(as_mapping(run.get("labels"))),
        "evaluation": run.get("evaluation"),  # MASEval's, for a run read from its export
    }


def _start(run: Mapping[str, Any]) -> int:
    start = run.get("start")
    try:
        return iso_ns(start) if isinstance(start, str) else 0
    except ValueError:
        return 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def clip(value: Any, width: int = _CLIP) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join(_text(value).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def call_text(call: Mapping[str, Any]) -> str:
    """``add({"a": 2, "b": 3})``."""
    return f"{call.get('name')}({_value(call.get('arguments'))})"


def _calls(calls: Sequence[Any]) -> str:
    return ", ".join(call_text(as_mapping(c)) for c in calls) or "no tools"


def step_text(step: Step, width: int = _CLIP) -> str:
    """What happened in a step, in one line."""
    c = step.content
    if step.kind == "turn":
        said = (
            f"asks {_calls(c.get('tool_calls') or ())}"
            if c.get("tool_calls")
            else clip(c.get("text"))
        )
        text = f"{c.get('model') or '?'}: {said or '(no text)'}"
        if c.get("status") == "error":
            text += " [error]"
    elif step.kind == "tool":
        result = c.get("error") if c.get("status") == "error" else c.get("output")
        text = f"{call_text(c)} → {_value(result) if result is not None else '?'}"
        if c.get("status") == "error":
            text += " [error]"
    elif step.kind in ("handoff", "delegation"):
        why = c.get("reason") if step.kind == "handoff" else c.get("task")
        text = f"→ {c.get('to')}" + (f": {why}" if why else "")
    else:
        text = _text(c.get("text")) or "(no answer)"
    return clip(text, width)


def describe(pair: AlignedStep, width: int = _CLIP) -> str:
    """What differs in an aligned pair, in one line."""
    if pair.a is None or pair.b is None:
        side, step = ("A", pair.a) if pair.b is None else ("B", pair.b)
        assert step is not None
        return clip(f"only in {side}: {step_text(step, width)}", width)
    if pair.status == "equal":
        return step_text(pair.a, width)
    parts = []
    for field in pair.differences:
        va, vb = pair.a.content.get(field), pair.b.content.get(field)
        if field == "tool_calls":
            parts.append(_calls_change(va or (), vb or ()))
        elif field == "arguments":
            parts.append(f"arguments {_arguments_change(va, vb)}")
        else:
            parts.append(f"{field} {clip(_value(va), 50)} → {clip(_value(vb), 50)}")
    return clip("; ".join(parts), width)


def _arguments_change(a: Any, b: Any) -> str:
    """``b: 3 → 4`` for the arguments that differ (both objects), else the whole of each."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        changed = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
        return ", ".join(
            f"{k}: {clip(_value(a.get(k)) if k in a else '(none)', 40)} → "
            f"{clip(_value(b.get(k)) if k in b else '(none)', 40)}"
            for k in changed
        )
    return f"{clip(_value(a), 50)} → {clip(_value(b), 50)}"


def _calls_change(a: Sequence[Any], b: Sequence[Any]) -> str:
    """What differs in the tool calls a turn asked for: per call when the names line up."""
    calls_a, calls_b = [as_mapping(c) for c in a], [as_mapping(c) for c in b]
    names_a, names_b = [c.get("name") for c in calls_a], [c.get("name") for c in calls_b]
    if names_a != names_b:
        return f"asks {clip(_calls(calls_a), 50)} → {clip(_calls(calls_b), 50)}"
    return "; ".join(
        f"asks {ca.get('name')} with {_arguments_change(ca.get('arguments'), cb.get('arguments'))}"
        for ca, cb in zip(calls_a, calls_b, strict=True)
        if ca != cb
    )
