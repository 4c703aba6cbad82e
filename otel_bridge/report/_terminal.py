"""A short terminal summary of RunTraces: agents and tokens, handoffs, timings, messages."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..run_trace import RunTrace, TokenUsage

__all__ = ["render_summary"]


def _tokens(usage: TokenUsage) -> str:
    if not usage.complete and not usage.input_tokens and not usage.output_tokens:
        return f"unknown ({usage.missing_calls} call(s) reported no counts)"
    text = f"{usage.input_tokens:,} in / {usage.output_tokens:,} out"
    if usage.cached_input_tokens:
        text += f" ({usage.cached_input_tokens:,} cached)"
    if not usage.complete:
        text += f" [incomplete: {usage.missing_calls} call(s) without counts]"
    return text


def _clip(text: str | None, width: int = 160) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def trace_panel(trace: RunTrace, messages: bool = False) -> Panel:
    """One run as a panel."""
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"status {trace.status}", style="green" if trace.status == "ok" else "bold red")
    head.append(f"   wall {trace.timings.wall_ns / 1e9:.3f}s")
    head.append(
        f"   llm {trace.timings.llm_ns / 1e9:.3f}s   tools {trace.timings.tool_ns / 1e9:.3f}s"
    )
    head.append(f"\ntokens {_tokens(trace.usage)}")
    head.append(f"\ninput  {_clip(trace.input)}\noutput {_clip(trace.output)}")
    parts.append(head)
    if trace.agents:
        table = Table("agent", "LLM calls", "tool calls", "tokens", "time", "errors", box=None)
        for name, stats in trace.agents.items():
            table.add_row(
                name,
                str(stats.llm_calls),
                str(stats.tool_calls),
                _tokens(stats.usage),
                f"{stats.duration_ns / 1e9:.3f}s",
                str(stats.errors),
            )
        parts.append(table)
    if trace.handoffs:
        chain = [trace.handoffs[0].from_agent or "?", *(h.to_agent for h in trace.handoffs)]
        parts.append(Text("handoffs " + " → ".join(chain)))
    if trace.issues:
        parts.append(Text("issues " + ", ".join(trace.issues), style="yellow"))
    if messages:
        lines = Text()
        for message in trace.messages:
            calls = message.get("tool_calls") or []
            body = _clip(message.get("content")) or ", ".join(
                f"{c['function']['name']}({c['function']['arguments']})" for c in calls
            )
            lines.append(f"[{message.get('agent') or '-'}] {message['role']}: ", style="bold")
            lines.append(body + "\n")
        parts.append(lines)
    return Panel(Group(*parts), title=f"trace {trace.trace_id}", expand=False)


def render_summary(
    traces: Sequence[RunTrace], console: Console | None = None, messages: bool = False
) -> None:
    """Print one panel per trace."""
    console = console or Console()
    for trace in traces:
        console.print(trace_panel(trace, messages=messages))
