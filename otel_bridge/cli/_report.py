"""``otel-bridge report``: a run as a self-contained HTML page, or every run with an index."""

from __future__ import annotations

from pathlib import Path

import click

from ..derivation import ModelPrice, derive
from ..errors import ConfigError, SourceError
from ..report import plural, write_report_dir, write_run_report
from ..sources import parse_source
from ..spans import group_by_trace
from ._options import (
    RUN_HELP,
    RunSelection,
    filter_options,
    note_open,
    one_trace_id,
    run_jsons,
    source_options,
    with_selection,
)
from ._prices import prices_option
from ._progress import counting

__all__ = ["report"]

DEFAULT_OUTPUT = "run.html"


@click.command("report", epilog=RUN_HELP)
@click.argument("source")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help=f"The page to write (default {DEFAULT_OUTPUT}); with --all, the directory "
    "(created; parent directories too).",
)
@click.option("--trace-id", help="The run to show (32 hex characters; or SOURCE#TRACE_ID).")
@click.option(
    "--all", "every_run", is_flag=True, help="A page per run and an index.html linking them."
)
@filter_options("With --all: only the N newest runs.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing page (with --all: a non-empty directory).",
)
@click.option("--title", default="otel-bridge runs", show_default=True, help="The index's title.")
@source_options
@prices_option
@with_selection
def report(
    source: str,
    output: Path | None,
    trace_id: str | None,
    every_run: bool,
    selection: RunSelection,
    overwrite: bool,
    title: str,
    prices: dict[str, ModelPrice] | None,
) -> None:
    """Write a run of SOURCE as one HTML page that works offline, or every run with --all.

    The page shows status, input, answer and totals; a timeline with a lane per agent (LLM
    calls, tool calls, errors, handoffs, first tokens: click a bar for its details); the
    handoff graph; tokens per agent and per model; the conversation. Runs are chosen as by
    'otel-bridge derive': a file's one run, --trace-id, or --all (with the run filters).
    Nothing is replaced without --overwrite: neither a page nor a non-empty directory.

    \b
    otel-bridge report run.otlp.json -o run.html
    otel-bridge report http://127.0.0.1:4318 --all --since 2h -o reports/
    """
    source, trace_id = one_trace_id(source, trace_id)
    if every_run and trace_id:
        raise ConfigError("give --trace-id for one run, or --all for every run, not both")
    if every_run and output is None:
        raise ConfigError("--all writes a directory: name it with -o DIR")
    if not every_run and (selection.filtered or selection.limit):
        raise ConfigError("the run filters (--since, --until, --session, --limit) go with --all")
    if every_run:
        directory = output or Path()
        if directory.is_dir() and any(directory.iterdir()) and not overwrite:
            raise ConfigError(
                f"{directory} exists and is not empty; pass --overwrite to replace it, or -o "
                "another directory"
            )
        runs = selection.runs(source)
        with counting(len(runs), "writing run pages") as advance:
            path = write_report_dir(
                run_jsons(runs, prices),  # one run in memory at a time
                directory,
                overwrite=overwrite,
                title=title,
                progress=lambda _: advance(1),
            )
        note_open(runs)
        click.echo(f"Wrote {path / 'index.html'} and {plural(len(runs), 'run page')} in {path}.")
        return
    if trace_id is None and parse_source(source, selection.kind)[0] != "file":
        # Asks the source: it is down, it holds one run (this one), or it says how many.
        trace_id = selection.only_run(source, "--all -o DIR")
    page = output or Path(DEFAULT_OUTPUT)
    if page.exists() and not page.is_dir() and not overwrite:
        raise ConfigError(f"{page} exists; pass --overwrite to replace it, or -o another file")
    spans = selection.spans(source, trace_id)
    groups = group_by_trace(spans)
    if not groups:
        raise SourceError(f"{source}: holds no spans")
    if trace_id is None and len(groups) > 1:
        first = f"{next(iter(groups)):032x}"
        raise SourceError(
            f"{source} holds {len(groups)} runs: pick one with --trace-id (the first is "
            f"{first}), or write them all with --all -o DIR"
        )
    trace = derive(spans, trace_id=trace_id, prices=prices)
    path = write_run_report(trace, page)
    delegated = f", {plural(len(trace.delegations), 'delegation')}" if trace.delegations else ""
    click.echo(
        f"Wrote {path} ({_size(path)}): run {trace.trace_id} {trace.status}, "
        f"{plural(len(trace.agents), 'agent')}, {plural(len(trace.handoffs), 'handoff')}"
        f"{delegated}."
    )
    if path.suffix.lower() not in (".html", ".htm"):
        click.echo(f"Note: {path.name} does not end in .html, so a browser may show it as text.")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:,.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"
