"""A short terminal summary of runs: agents and tokens, handoffs, timings, messages.

It reads the RunTrace JSON (``RunTrace.to_dict()``); RunTraces are accepted too and converted
with their own ``to_dict()``, so this module needs nothing above ``errors``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..run_json import RunTraceJSON, as_run_json
from ._format import (
    clip,
    cost_text,
    count,
    explain_issues,
    mapping,
    seconds,
    tokens_text,
)
from ._page import labels

__all__ = ["render_summary", "summary_console", "trace_panel"]

WIDTH_OFF_TERMINAL = 80


def summary_console(stderr: bool = False) -> Console:
    """A rich Console that is 80 columns wide when its stream is not a terminal.

    rich sizes a console by whichever standard stream is a terminal, so ``| cat`` or ``> file``
    from a wide terminal would get the terminal's width; ``COLUMNS`` still wins.
    """
    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty())
    width = WIDTH_OFF_TERMINAL if piped and not os.environ.get("COLUMNS", "").isdigit() else None
    return Console(stderr=stderr, width=width)


def _number(usage: Mapping[str, Any], key: str) -> str:
    """One token count for a table cell: ``?`` when unknown, ``*`` when a lower bound."""
    if usage.get("complete") is False and not (
        count(usage.get("input_tokens")) or count(usage.get("output_tokens"))
    ):
        return "?"
    value = f"{count(usage.get(key)):,}"
    return value + "*" if usage.get("complete") is False else value


def _agent_table(data: RunTraceJSON) -> tuple[Table, bool]:
    agents = mapping(data.get("agents"))
    with_cost = any(isinstance(mapping(s).get("cost"), Mapping) for s in agents.values())
    # Short headers: with a cost column the table still fits 80 columns.
    columns = ["agent", "LLM", "tools", "in", "out", "cached", "time", "errors"]
    table = Table(*columns, *(["cost"] if with_cost else []), box=None, padding=(0, 1))
    for column in table.columns[1:]:
        column.justify = "right"
    partial = False
    for name, stats in agents.items():
        stats = mapping(stats)
        usage = mapping(stats.get("usage"))
        partial = partial or usage.get("complete") is False
        row: list[RenderableType] = [
            Text(str(name)),  # Text, not str: a name like "[red]" is not rich markup
            str(count(stats.get("llm_calls"))),
            str(count(stats.get("tool_calls"))),
            _number(usage, "input_tokens"),
            _number(usage, "output_tokens"),
            _number(usage, "cached_input_tokens"),
            seconds(stats.get("duration_s")),
            str(count(stats.get("errors"))),
        ]
        if with_cost:
            row.append(cost_text(stats.get("cost")) or "")
        table.add_row(*row)
    return table, partial


def trace_panel(trace: Any, messages: bool = False) -> Panel:
    """One run (a RunTrace or its JSON) as a panel."""
    data = as_run_json(trace)
    timings = mapping(data.get("timings"))
    parts: list[RenderableType] = []
    head = Text()
    ok = data.get("status") == "ok"
    head.append(f"status {data.get('status')}", style="green" if ok else "bold red")
    head.append(f"   wall {seconds(timings.get('wall_s'))}")
    head.append(f"   llm {seconds(timings.get('llm_s'))}   tools {seconds(timings.get('tool_s'))}")
    head.append(f"\ntokens {tokens_text(mapping(data.get('usage')))}")
    cost = cost_text(data.get("cost"))
    if cost is not None:
        head.append(f"   cost {cost}")
    shown = labels(data)
    if shown:
        head.append("\n" + "   ".join(f"{name} {value}" for name, value in shown.items()))
    head.append(f"\ninput  {clip(data.get('input'))}\noutput {clip(data.get('output'))}")
    parts.append(head)
    if mapping(data.get("agents")):
        table, partial = _agent_table(data)
        parts.append(table)
        if partial:
            parts.append(Text("* at least: some LLM calls reported no token counts", style="dim"))
    handoffs = [mapping(h) for h in data.get("handoffs") or ()]
    if handoffs:
        chain = [str(handoffs[0].get("from") or "?"), *(str(h.get("to")) for h in handoffs)]
        parts.append(Text("handoffs " + " → ".join(chain)))
    for delegation in map(mapping, data.get("delegations") or ()):
        task = clip(delegation.get("task"), 40) if delegation.get("task") else ""
        who = f"{delegation.get('from') or '?'} → {delegation.get('to')}"
        parts.append(Text(f"delegated {who}" + (f": {task}" if task else "")))
    for flag, text in explain_issues(data):
        parts.append(Text(f"issue {flag}: {text}", style="yellow"))
    if messages:
        parts.append(_messages(data))
    return Panel(Group(*parts), title=f"trace {data['trace_id']}", expand=False)


def _messages(data: RunTraceJSON) -> Text:
    lines = Text()
    for raw in data.get("messages") or ():
        message = mapping(raw)
        calls = [mapping(c) for c in message.get("tool_calls") or ()]
        body = clip(message.get("content")) or ", ".join(
            f"{mapping(c.get('function')).get('name')}({mapping(c.get('function')).get('arguments')})"
            for c in calls
        )
        lines.append(f"[{message.get('agent') or '-'}] {message.get('role')}: ", style="bold")
        lines.append(body + "\n")
    return lines


def render_summary(
    traces: Sequence[Any], console: Console | None = None, messages: bool = False
) -> None:
    """Print one panel per run (RunTraces or RunTrace JSON), 80 columns wide off a terminal."""
    console = console or summary_console()
    for trace in traces:
        console.print(trace_panel(trace, messages=messages))
