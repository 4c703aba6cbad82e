"""``otel-bridge report``: a run as a self-contained HTML page, or every run with an index."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..collector import TOKEN_ENV
from ..derivation import derive, derive_all
from ..errors import ConfigError, OtelBridgeError
from ..report import write_report_dir, write_run_report
from ..run_trace import RunTrace
from ..sources import SOURCE_KINDS, load_spans
from ..spans import SpanRecord, format_trace_id, group_by_trace

__all__ = ["report"]

DEFAULT_OUTPUT = "run.html"


@click.command("report")
@click.argument("source")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help=f"The page to write (default {DEFAULT_OUTPUT}); with --all, the directory "
    "(created; parent directories too).",
)
@click.option("--trace-id", help="The run to show (32 hex characters); required for URLs.")
@click.option(
    "--all", "every_run", is_flag=True, help="A page per run and an index.html linking them."
)
@click.option("--overwrite", is_flag=True, help="With --all: replace a non-empty directory.")
@click.option("--title", default="otel-bridge runs", show_default=True, help="The index's title.")
@click.option(
    "--kind",
    type=click.Choice(SOURCE_KINDS),
    help="Source type of a plain URL (instead of a 'phoenix+' / 'jaeger+' prefix).",
)
@click.option("--project", help="Phoenix project (default: 'default', or the URL's last part).")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True, help="Bearer token for a URL source.")
def report(
    source: str,
    output: Path | None,
    trace_id: str | None,
    every_run: bool,
    overwrite: bool,
    title: str,
    kind: str | None,
    project: str | None,
    token: str | None,
) -> None:
    """Write a run of SOURCE as one HTML page that works offline, or every run with --all.

    The page shows status, input, answer and totals; a timeline with a lane per agent (LLM
    calls, tool calls, errors, handoffs, first tokens: click a bar for its details); the
    handoff graph; tokens per agent and per model; the conversation. SOURCE is read as by
    'otel-bridge derive': an OTLP/JSON file or a URL.

    \b
    otel-bridge report run.otlp.json -o run.html
    otel-bridge report runs.otlp.json --all -o reports/
    """
    if every_run and trace_id:
        raise ConfigError("give --trace-id for one run, or --all for every run, not both")
    if every_run and output is None:
        raise ConfigError("--all writes a directory: name it with -o DIR")
    if overwrite and not every_run:
        raise ConfigError("--overwrite is for --all (a single page is always replaced)")
    spans = load_spans(source, trace_id, project=project, token=token, kind=kind)
    if not spans:
        raise OtelBridgeError(f"{source} holds no spans")
    if every_run:
        _write_all(spans, output or Path(), overwrite=overwrite, title=title)
        return
    trace = _one_run(spans, source, trace_id)
    path = write_run_report(trace, output or Path(DEFAULT_OUTPUT))
    handoffs = len(trace.handoffs)
    click.echo(
        f"Wrote {path} ({_size(path)}): run {trace.trace_id} {trace.status}, "
        f"{len(trace.agents)} agent(s), {handoffs} handoff(s)."
    )


def _one_run(spans: list[SpanRecord], source: str, trace_id: str | None) -> RunTrace:
    if trace_id is not None:
        return derive(spans, trace_id=format_trace_id(trace_id))
    groups = group_by_trace(spans)
    if len(groups) > 1:
        first = f"{next(iter(groups)):032x}"
        raise OtelBridgeError(
            f"{source} holds {len(groups)} runs: pick one with --trace-id (the first is "
            f"{first}), or write them all with --all -o DIR"
        )
    (trace,) = derive_all(spans)
    return trace


def _write_all(spans: list[SpanRecord], directory: Path, *, overwrite: bool, title: str) -> None:
    groups = list(group_by_trace(spans).values())
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("writing run pages"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,  # a bar only where a person watches
        transient=True,
    )
    with progress:
        task = progress.add_task("pages", total=len(groups))
        traces = (derive(members) for members in groups)  # one run in memory at a time
        path = write_report_dir(
            traces,
            directory,
            overwrite=overwrite,
            title=title,
            progress=lambda done: progress.update(task, completed=done),
        )
    click.echo(f"Wrote {path / 'index.html'} and {len(groups)} run page(s) in {path}.")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:,.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"
