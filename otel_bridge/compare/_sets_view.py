"""A set comparison for people: the terminal summary (80 columns) and the HTML page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ._html import environment, figure_class, page_assets
from ._sets import METRICS, SetComparison
from ._terminal import figure, signed

__all__ = ["TERMINAL_TASKS", "render_sets", "sets_html"]

TERMINAL_TASKS = 40  # task rows the terminal shows (worse first); --json and -o have them all
_NAMES = {
    "score": "score",
    "total_tokens": "total tokens",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
    "cost_usd": "cost",
    "llm_calls": "LLM calls",
    "tool_calls": "tool calls",
    "handoffs": "handoffs",
    "wall_s": "wall time",
    "errors": "errors",
}
_VERDICT_STYLE = {"better": "green", "worse": "bold red", "same": "", "unscored": "dim"}
_ORDER = {"worse": 0, "better": 1, "same": 2, "unscored": 3}


def _metric_figure(metric: str, value: Any) -> str:
    if value is None:
        return "?"
    if metric == "score":
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    if metric.endswith("_tokens") or metric in ("llm_calls", "tool_calls", "handoffs", "errors"):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return figure(metric, value)


def _change(metric: str, value: Any) -> str:
    if value is None:
        return "?"
    if not value:
        return "0"
    return ("+" if value > 0 else "-") + _metric_figure(metric, abs(value))


def _interval(metric: str, ci: list[float]) -> str:
    return f"[{_change(metric, ci[0])}, {_change(metric, ci[1])}]"


def _ordered(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        tasks, key=lambda t: (_ORDER[t["verdict"]], -abs(t["change"]["total_tokens"] or 0))
    )


def render_sets(comparison: SetComparison, console: Console, names: tuple[str, str]) -> None:
    """Print the comparison: matched and unmatched runs, overall changes, the tasks."""
    data = comparison.to_dict()
    overall = data["overall"]
    unmatched = data["unmatched"]
    head = Text()
    head.append("A ", style="bold")
    head.append(f"{names[0]}\n")
    head.append("B ", style="bold")
    head.append(f"{names[1]}\n")
    head.append(
        f"{data['matched']} task repetition(s) in both; unmatched: {len(unmatched['only_a'])} "
        f"only in A, {len(unmatched['only_b'])} only in B"
    )
    no_id = unmatched["no_task_id_a"] + unmatched["no_task_id_b"]
    if no_id:
        head.append(f"; {no_id} run(s) without a task id")
    verdicts = overall["verdicts"]
    head.append("\nBy score: ", style="bold")
    for verdict in ("better", "worse", "same", "unscored"):
        head.append(f"{verdicts[verdict]} {verdict}", style=_VERDICT_STYLE[verdict])
        head.append("  " if verdict != "unscored" else "")
    if verdicts["unscored"] == data["matched"]:
        head.append(
            "\nNo scores: these runs carry no evaluation (MASEval's BenchmarkExport writes it "
            "into its runs table).",
            style="dim",
        )
    table = Table(
        "", "A mean", "B mean", "mean change", "95% CI", "median", box=None, padding=(0, 1)
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for metric, m in overall["metrics"].items():
        if not m["n"]:
            continue
        table.add_row(
            _NAMES[metric],
            _metric_figure(metric, m["a_mean"]),
            _metric_figure(metric, m["b_mean"]),
            _change(metric, m["mean_change"]),
            Text(_interval(metric, m["mean_change_ci"]), style="dim"),
            _change(metric, m["median_change"]),
        )
    tasks = Table(
        "task",
        "rep",
        "verdict",
        "score",
        "tokens",
        "cost",
        "LLM",
        "tools",
        "wall",
        box=None,
        padding=(0, 1),
    )
    for column in tasks.columns[1:]:
        column.justify = "right"
    tasks.columns[0].max_width = 20
    tasks.columns[5].min_width = 11  # +$0.0000765: a cost change keeps its digits
    tasks.columns[5].no_wrap = True
    tasks.columns[0].overflow = "ellipsis"
    tasks.columns[0].no_wrap = True
    rows = _ordered(data["tasks"])
    for task in rows[:TERMINAL_TASKS]:
        a, b, change = task["a"], task["b"], task["change"]
        tasks.add_row(
            Text(task["task_id"]),
            "" if task["repetition"] is None else str(task["repetition"]),
            Text(task["verdict"], style=_VERDICT_STYLE[task["verdict"]]),
            f"{_metric_figure('score', a['score'])}→{_metric_figure('score', b['score'])}"
            if a["score"] != b["score"]
            else _metric_figure("score", a["score"]),
            _change("total_tokens", change["total_tokens"]),
            signed("cost_usd", change["cost_usd"]) or "?",
            _change("llm_calls", change["llm_calls"]),
            _change("tool_calls", change["tool_calls"]),
            signed("wall_s", change["wall_s"]) or "?",
        )
    parts: list[RenderableType] = [
        head,
        Text(""),
        table,
        Text(""),
        Text("Per task (change: B - A)", style="bold"),
        tasks,
    ]
    if len(rows) > TERMINAL_TASKS:
        parts.append(
            Text(
                f"… {len(rows) - TERMINAL_TASKS} more; --json or -o FILE.html lists them all",
                style="dim",
            )
        )
    for side, key in (("A", "only_a"), ("B", "only_b")):
        if unmatched[key]:
            listed = ", ".join(f"{u['task_id']}#{u['repetition']}" for u in unmatched[key][:8]) + (
                " …" if len(unmatched[key]) > 8 else ""
            )
            parts.append(Text(f"Only in {side}: {listed}", style="yellow"))
    console.print(Group(*parts))


def sets_html(
    comparison: SetComparison,
    names: tuple[str, str],
    diff_href: Callable[[Mapping[str, Any]], str | None] = lambda task: None,
) -> str:
    """The comparison as one page: overall changes, a sortable, filterable task table linking
    each task to the diff of its two runs (``diff_href``), the unmatched runs."""
    data = comparison.to_dict()
    overall = []
    for metric, m in data["overall"]["metrics"].items():
        if not m["n"]:
            continue
        better = METRICS[metric]
        overall.append(
            {
                "name": _NAMES[metric],
                "n": m["n"],
                "a": _metric_figure(metric, m["a_mean"]),
                "b": _metric_figure(metric, m["b_mean"]),
                "mean": _change(metric, m["mean_change"]),
                "mean_ci": _interval(metric, m["mean_change_ci"]),
                "median": _change(metric, m["median_change"]),
                "median_ci": _interval(metric, m["median_change_ci"]),
                "class": figure_class(m["mean_change"], None if better is None else not better),
                "down": m["down"],
                "up": m["up"],
                "same": m["same"],
            }
        )
    # Rows are built here, not in the template: 10,000 tasks render in a fraction of the time.
    rows = [Markup(_task_row(task, diff_href(task))) for task in data["tasks"]]
    return (
        environment()
        .get_template("compare.html.j2")
        .render(
            names=names,
            data=data,
            overall=overall,
            rows=rows,
            **page_assets(_index_script()),
        )
    )


_CELLS = ("score", "total_tokens", "cost_usd", "llm_calls", "tool_calls", "handoffs", "wall_s")


def _task_row(task: Mapping[str, Any], href: str | None) -> str:
    """One row of the task table (every text escaped)."""
    a, b, changes = task["a"], task["b"], task["change"]
    verdict = escape(task["verdict"])
    status = f"{a['status']} → {b['status']}" if changes["status"] else str(a["status"])
    passed = _passed(a["passed"], b["passed"])
    repetition = "" if task["repetition"] is None else task["repetition"]
    cells = [
        f'<td class="text" data-v="{escape(task["task_id"])}">{escape(task["task_id"])}</td>',
        f'<td data-v="{repetition}">{repetition}</td>',
        f'<td data-v="{verdict}"><span class="verdict {verdict}">{verdict}</span></td>',
        f'<td class="text" data-v="{escape(passed)}">{escape(passed)}</td>',
    ]
    for metric in _CELLS:
        va, vb, change = a[metric], b[metric], changes[metric]
        better = METRICS[metric]
        # Figures are digits, signs and "$": nothing to escape.
        text = _metric_figure(metric, va) + (f" → {_metric_figure(metric, vb)}" if va != vb else "")
        cell = f'<td data-v="{"" if change is None else change}">{text}'
        if change not in (None, 0):
            css = figure_class(change, None if better is None else not better)
            cell += f'<br><span class="{css} delta">{_change(metric, change)}</span>'
        cells.append(cell + "</td>")
    cells.append(f'<td class="text" data-v="{escape(status)}">{escape(status)}</td>')
    link = f'<a href="{escape(href)}">diff</a>' if href else ""
    cells.append(f'<td class="text">{link}</td>')
    return f'<tr data-status="{verdict}">{"".join(cells)}</tr>'


def _passed(a: Any, b: Any) -> str:
    def word(value: Any) -> str:
        return "pass" if value is True else "fail" if value is False else "?"

    return word(a) if a == b else f"{word(a)} → {word(b)}"


def _index_script() -> str:
    from ..report import asset

    return asset("index.js")
