"""The diff of two runs for a terminal: fits 80 columns (rich), differing steps marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..report import cost_text
from ._diff import AlignedStep, Diff, clip, describe, step_text

__all__ = ["MARKS", "STATUS_TEXT", "figure", "render_diff", "signed"]

MARKS = {"equal": " ", "changed": "~", "only_a": "-", "only_b": "+"}
_STYLES = {"equal": "", "changed": "yellow", "only_a": "red", "only_b": "green"}
CONTEXT = 1  # equal steps shown around a difference; longer equal stretches are folded
MAX_ROWS = 60  # step rows a terminal shows; --json and the page have them all

_LABELS = {
    "status": "status",
    "llm_calls": "LLM calls",
    "tool_calls": "tool calls",
    "handoffs": "handoffs",
    "delegations": "delegations",
    "input_tokens": "input tokens",
    "cached_input_tokens": "cached input",
    "output_tokens": "output tokens",
    "reasoning_tokens": "reasoning",
    "total_tokens": "total tokens",
    "cost_usd": "cost",
    "llm_s": "LLM time",
    "tool_s": "tool time",
    "wall_s": "wall time",
    "errors": "errors",
}


def figure(metric: str, value: Any) -> str:
    """A figure for people: ``1,234``, ``$0.00123``, ``1.250s``; ``?`` when unknown."""
    if value is None:
        return "?"
    if isinstance(value, str):
        return value
    if metric == "cost_usd":
        return cost_text({"total_usd": value, "complete": True}) or "?"
    if metric.endswith("_s"):
        return f"{value:.3f}s"
    return f"{value:,}"


def signed(metric: str, change: Any) -> str:
    """A change for people: ``+3``, ``-$0.0012``, ``+0.250s``, ``ok → error``; blank when none."""
    if change is None:
        return ""
    if isinstance(change, str):
        return change
    shown = figure(metric, abs(change))
    if not change or shown == figure(metric, 0):  # -0.000s: too small to show, say 0
        return "0"
    return ("+" if change > 0 else "-") + shown


def _id(run: Mapping[str, Any]) -> str:
    return str(run.get("trace_id") or "?")


STATUS_TEXT = {"equal": "equal", "changed": "changed", "only_a": "only in A", "only_b": "only in B"}


def _header(diff: Diff, width: int) -> RenderableType:
    counts = diff.counts()
    lines = Text()
    lines.append("A ", style="bold")
    lines.append(f"{_id(diff.a)}  {diff.a.get('status')}\n")
    lines.append("B ", style="bold")
    lines.append(f"{_id(diff.b)}  {diff.b.get('status')}\n")
    lines.append(
        f"{len(diff.steps)} aligned steps: {counts['equal']} equal, {counts['changed']} changed, "
        f"{counts['only_a']} only in A, {counts['only_b']} only in B\n"
    )
    first = diff.first_divergence()
    if first is None:
        lines.append("The runs are equal step by step.", style="bold green")
    else:
        lines.append("First divergence: ", style="bold")
        lines.append(
            f"step {first['index'] + 1}, {first['step']} ({STATUS_TEXT[first['status']]})\n"
        )
        lines.append(f"  {clip(first['what'], width - 2)}", style=_STYLES[first["status"]])
    return lines


def _deltas(diff: Diff) -> Table:
    table = Table("run", "A", "B", "change", box=None, padding=(0, 1), title_justify="left")
    for column in table.columns[1:]:
        column.justify = "right"
    for metric, d in diff.deltas()["run"].items():
        style = "bold" if d["change"] not in (None, 0, 0.0) else ""
        table.add_row(
            _LABELS[metric],
            figure(metric, d["a"]),
            figure(metric, d["b"]),
            Text(signed(metric, d["change"]), style=style),
        )
    return table


def _agents(diff: Diff) -> Table:
    columns = ("LLM calls", "tool calls", "total tokens", "cost", "errors")
    metrics = ("llm_calls", "tool_calls", "total_tokens", "cost_usd", "errors")
    table = Table("agent", *columns, box=None, padding=(0, 1))
    for column in table.columns[1:]:
        column.justify = "right"
    for name, figures in diff.deltas()["agents"].items():
        cells = []
        for metric in metrics:
            d = figures[metric]
            if d["a"] == d["b"]:
                cells.append(figure(metric, d["a"]))
            else:  # "-": the agent did not take part in that run
                a = "-" if name not in diff.a.get("agents", {}) else figure(metric, d["a"])
                b = "-" if name not in diff.b.get("agents", {}) else figure(metric, d["b"])
                cells.append(f"{a}→{b}")
        table.add_row(Text(name, overflow="ellipsis", no_wrap=True), *cells)
    table.columns[0].max_width = 18
    return table


def _shown(steps: list[AlignedStep]) -> list[int | tuple[int, int]]:
    """Indexes of the steps to show, and (first, last) of each folded stretch of equal ones."""
    near: set[int] = set()
    for index, pair in enumerate(steps):
        if pair.status != "equal":
            near.update(range(index - CONTEXT, index + CONTEXT + 1))
    if not near:  # all equal: show the head and the tail
        near = set(range(3)) | set(range(len(steps) - 2, len(steps)))
    shown: list[int | tuple[int, int]] = []
    index = 0
    while index < len(steps):
        if index in near:
            shown.append(index)
            index += 1
            continue
        end = index
        while end + 1 < len(steps) and end + 1 not in near:
            end += 1
        shown.append(index if end == index else (index, end))
        index = end + 1
    return shown


def _steps(diff: Diff, width: int) -> Table:
    table = Table("#", "", "step", "what", box=None, padding=(0, 1), show_edge=False)
    table.columns[0].justify = "right"
    table.columns[2].max_width = 24
    table.columns[2].no_wrap = True
    table.columns[2].overflow = "ellipsis"
    what_width = max(20, width - 36)
    shown = _shown(diff.steps)
    for item in shown[:MAX_ROWS]:
        if isinstance(item, tuple):
            first, last = item
            table.add_row("", "", Text(f"… {last - first + 1} equal steps", style="dim"), "")
            continue
        pair = diff.steps[item]
        style = _STYLES[pair.status]
        what = describe(pair, what_width)
        if pair.status == "equal":
            what = step_text(pair.step, what_width)
        table.add_row(
            str(item + 1),
            Text(MARKS[pair.status], style=style),
            Text(pair.step.label, style=style),
            Text(what, style=style or "dim"),
        )
    if len(shown) > MAX_ROWS:
        rest = [i for i in shown[MAX_ROWS:] if isinstance(i, int)]
        differ = sum(diff.steps[i].status != "equal" for i in rest)
        note = f"… {differ} more differing step(s); --json or -o FILE.html shows them all"
        table.add_row("", "", Text(note, style="dim"), "")
    return table


def render_diff(diff: Diff, console: Console) -> None:
    """Print the diff: first divergence, deltas, the aligned steps (``~`` changed, ``-`` only
    in A, ``+`` only in B)."""
    answer = diff.answer()
    parts: list[RenderableType] = [_header(diff, console.width), Text(""), _deltas(diff), Text("")]
    if diff.deltas()["agents"]:
        parts += [_agents(diff), Text("")]
    parts += [
        Text("Steps (~ changed, - only in A, + only in B)", style="bold"),
        _steps(diff, console.width),
    ]
    if not answer["equal"]:
        parts += [Text(""), Text("Answer", style="bold")]
        for line in answer["diff"][2:]:
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            parts.append(Text(line, style=style, overflow="fold"))
    console.print(Group(*parts))
