"""The HTML pages of a diff and of a set comparison: self-contained, offline, escaped.

Built from the run report's pieces: its timeline layout (a lane per agent), stylesheet,
details script, JSON escaping and Content-Security-Policy (one inline script, allowed by
hash; nothing fetched). Jinja2 escapes every text that came from spans.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..report import Arrow, Bar, Timeline, lay_out, script_json
from ..report import asset as report_asset
from ..report import page_csp as csp
from ..run_json import RunTraceJSON
from ..spans import iso, iso_ns
from ._diff import Diff, describe, step_text
from ._terminal import figure, signed

__all__ = ["asset", "diff_html", "environment", "figure_class", "page_assets"]

_STATUS_TEXT = {
    "equal": "equal",
    "changed": "changed",
    "only_a": "only in A",
    "only_b": "only in B",
}
_METRIC_TEXT = {
    "status": "status",
    "llm_calls": "LLM calls",
    "tool_calls": "tool calls",
    "handoffs": "handoffs",
    "delegations": "delegations",
    "input_tokens": "input tokens",
    "cached_input_tokens": "cached input tokens",
    "output_tokens": "output tokens",
    "reasoning_tokens": "reasoning tokens",
    "total_tokens": "total tokens",
    "cost_usd": "cost",
    "llm_s": "LLM time",
    "tool_s": "tool time",
    "wall_s": "wall time",
    "errors": "errors",
}


@cache
def environment() -> Environment:
    """The Jinja2 environment of the comparison pages (autoescaping on)."""
    return Environment(
        loader=PackageLoader("otel_bridge.compare", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def asset(name: str) -> str:
    """A stylesheet or script of the comparison pages, as it is."""
    return (files("otel_bridge.compare") / "templates" / name).read_text(encoding="utf-8")


def page_assets(*scripts: str) -> dict[str, Any]:
    """The report's stylesheet with ours, one inline script, and the CSP that allows it."""
    script = "\n".join(scripts)
    return {
        "css": Markup(report_asset("report.css") + "\n" + asset("compare.css")),
        "script": Markup(script),
        "csp": csp(script),
    }


def figure_class(change: Any, lower_is_better: bool | None = True) -> str:
    """``up`` / ``down`` for a change (``worse`` / ``better`` when a direction is better)."""
    if not isinstance(change, int | float) or isinstance(change, bool) or change == 0:
        return "" if not isinstance(change, str) else "worse"
    if lower_is_better is None:
        return "up" if change > 0 else "down"
    return "worse" if (change > 0) == lower_is_better else "better"


@dataclass(frozen=True, slots=True)
class _Group:
    side: str
    first_lane: int
    lanes: int


def _with_end(run: RunTraceJSON, wall_ns: int) -> RunTraceJSON:
    """The run with its end moved so that its timeline spans ``wall_ns``: both runs share an
    axis that starts at each run's own start."""
    data = run.copy()
    try:
        start = iso_ns(str(data.get("start")))
    except ValueError:
        return data
    data["end"] = iso(start + wall_ns)
    return data


def _wall_ns(run: Mapping[str, Any]) -> int:
    try:
        return max(0, iso_ns(str(run.get("end"))) - iso_ns(str(run.get("start"))))
    except ValueError:
        return 0


def _timelines(diff: Diff) -> tuple[Timeline, list[_Group]]:
    """Both runs' lanes on one canvas, A's above B's, on one time axis from each run's start."""
    wall = max(_wall_ns(diff.a), _wall_ns(diff.b), 1)
    a, b = lay_out(_with_end(diff.a, wall)), lay_out(_with_end(diff.b, wall))
    names = list(dict.fromkeys([lane.name for lane in a.lanes + b.lanes]))
    colour = {name: i % 8 for i, name in enumerate(names)}  # one colour per agent on both sides
    lanes = [replace(lane, colour=colour[lane.name]) for lane in a.lanes + b.lanes]
    shift, offset = len(a.lanes), len(a.details)
    bars: list[Bar] = [
        *a.bars,
        *(replace(x, lane=x.lane + shift, index=x.index + offset) for x in b.bars),
    ]
    arrows: list[Arrow] = [
        *a.arrows,
        *(replace(x, top=x.top + shift, bottom=x.bottom + shift) for x in b.arrows),
    ]
    details = [{"run": "A", **d} for d in a.details] + [{"run": "B", **d} for d in b.details]
    groups = [_Group("A", 0, len(a.lanes)), _Group("B", shift, len(b.lanes))]
    return Timeline(lanes, bars, arrows, a.ticks, details), groups


_WORDS = re.compile(r"\s+|\S+\s*")  # a word with the spaces after it


def _word_diff(a: str, b: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Both texts cut into (kind, text) pieces: ``same``, ``del`` (A only), ``ins`` (B only)."""
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(("same", "".join(wa[i1:i2])))
            right.append(("same", "".join(wb[j1:j2])))
        else:
            if i2 > i1:
                left.append(("del", "".join(wa[i1:i2])))
            if j2 > j1:
                right.append(("ins", "".join(wb[j1:j2])))
    return left, right


def diff_html(diff: Diff) -> str:
    """The diff of two runs as one page: both timelines, aligned steps, deltas, answers."""
    timeline, groups = _timelines(diff)
    by_lane: list[dict[str, list[Bar]]] = [{"llm": [], "tool": []} for _ in timeline.lanes]
    for bar in timeline.bars:
        by_lane[bar.lane][bar.track].append(bar)
    side_of = {}
    for group in groups:
        for lane in range(group.first_lane, group.first_lane + group.lanes):
            side_of[lane] = group.side
    steps = []
    for number, pair in enumerate(diff.steps, start=1):
        steps.append(
            {
                "number": number,
                "status": pair.status,
                "status_text": _STATUS_TEXT[pair.status],
                "a": None
                if pair.a is None
                else {"label": pair.a.label, "text": step_text(pair.a, 400)},
                "b": None
                if pair.b is None
                else {"label": pair.b.label, "text": step_text(pair.b, 400)},
                # Only one side's step: the A and B columns say it all.
                "what": describe(pair, 400) if pair.status == "changed" else "",
                "colour": None,
            }
        )
    deltas = diff.deltas()
    run_rows = [
        {
            "name": _METRIC_TEXT[m],
            "a": figure(m, d["a"]),
            "b": figure(m, d["b"]),
            "change": signed(m, d["change"]),
            "class": figure_class(d["change"], None if m in ("handoffs", "delegations") else True),
        }
        for m, d in deltas["run"].items()
    ]
    agent_rows = []
    colours = {lane.name: lane.colour for lane in timeline.lanes}
    for name, figures in deltas["agents"].items():
        cells = []
        for metric in (
            "llm_calls",
            "tool_calls",
            "total_tokens",
            "cost_usd",
            "llm_s",
            "tool_s",
            "wall_s",
            "errors",
        ):
            d = figures[metric]
            cells.append(
                {
                    "a": figure(metric, d["a"]) if d["a"] is not None else "-",
                    "b": figure(metric, d["b"]) if d["b"] is not None else "-",
                    "class": figure_class(d["change"]),
                }
            )
        agent_rows.append({"name": name, "colour": colours.get(name), "cells": cells})
    answer = diff.answer()
    left, right = _word_diff(str(answer["a"] or ""), str(answer["b"] or ""))
    script = report_asset("run.js")
    return (
        environment()
        .get_template("diff.html.j2")
        .render(
            a=diff.a,
            b=diff.b,
            counts=diff.counts(),
            first=diff.first_divergence(),
            status_text=_STATUS_TEXT,
            timeline=timeline,
            passed={arrow.kind for arrow in timeline.arrows},  # handoff, delegation: in the legend
            groups=groups,
            side_of=side_of,
            bars_by_lane=by_lane,
            steps=steps,
            run_rows=run_rows,
            agent_rows=agent_rows,
            answer=answer,
            answer_a=left,
            answer_b=right,
            payload=script_json({"details": timeline.details}),
            **page_assets(script, asset("diff.js")),
        )
    )
