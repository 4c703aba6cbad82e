"""The ``otel-bridge`` command: a thin layer over the public functions.

``derive`` (one run, or ``--all``) and ``traces`` (list the runs a source holds) live here;
``export`` (the runs as tables), ``report`` (HTML pages), ``demo`` and ``collector serve`` in
their own modules.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..derivation import ModelPrice
from ..derivation import derive as derive_run
from ..errors import ConfigError
from ..report import render_summary, summary_console
from ..run_json import RunTraceJSON, json_schema
from ..sources import RunSummary, parse_source
from ._collector import collector
from ._compare import compare
from ._demo import demo
from ._diff import diff
from ._export import export
from ._group import Group
from ._options import (
    RUN_HELP,
    SOURCES_HELP,
    RunSelection,
    filter_options,
    note_open,
    one_trace_id,
    run_jsons,
    source_options,
    with_selection,
)
from ._prices import prices_option
from ._progress import progress
from ._report import report
from ._ui import ui

__all__ = ["main"]

TRACES_LIMIT = 50


@click.group(cls=Group)
@click.version_option(package_name="otel-bridge")
def main() -> None:
    """Evaluation data (messages, tokens, cost, timings, handoffs) from the OpenTelemetry
    spans of agent runs: LlamaIndex, smolagents, LangGraph, OpenAI Agents SDK."""


@main.command(epilog=RUN_HELP)
@click.argument("source")
@click.option("--trace-id", help="Only this run (32 hex characters; or SOURCE#TRACE_ID).")
@click.option("--all", "all_runs", is_flag=True, help="Every run of a URL source (a file: always).")
@filter_options("With --all: only the N newest runs.")
@source_options
@click.option("--json", "as_json", is_flag=True, help="RunTrace JSON Lines: one run per line.")
@click.option("--messages", is_flag=True, help="Also list the messages in the summary.")
@prices_option
@with_selection
def derive(
    source: str,
    trace_id: str | None,
    all_runs: bool,
    selection: RunSelection,
    as_json: bool,
    messages: bool,
    prices: dict[str, ModelPrice] | None,
) -> None:
    """Derive the runs of SOURCE: messages, tokens, cost, timings, handoffs.

    A file: every run in it. A URL: one run (--trace-id; `otel-bridge traces URL` lists
    them) or all of them (--all). Runs whose root span has not arrived are skipped, with a
    note, unless --include-open. --json prints one RunTrace JSON object per line; the
    summary view is for people (--messages adds the conversation; the JSON always has it).
    """
    source, trace_id = one_trace_id(source, trace_id)
    if as_json and messages:
        raise ConfigError("--messages is for the summary; the --json output always has them")
    emit = _json_line if as_json else _summary_printer(messages)
    if trace_id is not None:
        if all_runs or selection.filtered or selection.limit:
            raise ConfigError("--trace-id names one run: drop --all and the run filters")
        emit(derive_run(selection.spans(source, trace_id), trace_id, prices=prices).to_dict())
        return
    if parse_source(source, selection.kind)[0] != "file" and not all_runs:
        only = selection.only_run(source)  # asks the source: down, one run, or how many
        emit(derive_run(selection.spans(source, only), only, prices=prices).to_dict())
        return
    runs = selection.runs(source)
    for run in progress(run_jsons(runs, prices), len(runs), "deriving", stdout_shared=True):
        emit(run)
    note_open(runs)


def _json_line(data: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _summary_printer(messages: bool) -> Callable[[RunTraceJSON], None]:
    console = summary_console()

    def show(data: RunTraceJSON) -> None:
        render_summary([data], console, messages=messages)

    return show


@main.command()
def schema() -> None:
    """Print the JSON Schema of the RunTrace JSON (what `derive --json` writes)."""
    sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")


@main.command(epilog=SOURCES_HELP)
@click.argument("source")
@filter_options(f"The N newest runs (default {TRACES_LIMIT}; 0: all).", open_runs=False)
@click.option(
    "--brief",
    is_flag=True,
    help="Only what the source's list says: no agents or tokens from a collector or Phoenix, "
    "but thousands of runs in a second.",
)
@source_options
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one run per line.")
@with_selection
def traces(source: str, selection: RunSelection, brief: bool, as_json: bool) -> None:
    """List the runs SOURCE holds, newest first.

    Each run's trace id and session, start, status, agents, tokens and duration.

    A file lists in its order. Status `open`: no root span yet, the run is still
    going (or its root was never exported). Derive one with `otel-bridge derive SOURCE
    --trace-id ID`, all with `--all`.
    """
    limit = TRACES_LIMIT if selection.limit is None else selection.limit or None
    found = selection.summaries(source, limit, details=not brief)
    if as_json:
        count = 0
        for summary in found:
            _json_line(summary.to_dict())
            count += 1  # noqa: SIM113  (found is a generator: enumerate would not say 0)
    else:
        rows = list(found)
        count = len(rows)
        if rows:
            console = Console(highlight=False)
            console.print(_runs_table(rows, console.width))
        sys.stdout.flush()  # the notes below go to stderr: after the table, not inside it
    if not count:
        matching = " that match" if selection.filtered else ""
        click.echo(f"otel-bridge: no runs{matching} in {source}", err=True)
    elif limit is not None and count == limit:
        newest = "the newest run" if limit == 1 else f"the {limit:,} newest runs"
        click.echo(f"otel-bridge: {newest}; --limit 0 lists them all", err=True)


def _runs_table(rows: list[RunSummary], width: int) -> Table:
    """Fits 80 columns: the full trace id (to copy), its session and task below it, then
    what tells runs apart; agent names wrap, one per line, rather than being cut."""
    labels = [
        label
        for label, present in (
            ("session", any(run.session_id for run in rows)),
            ("task", any(run.task_id for run in rows)),
        )
        if present
    ]
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    heading = "trace id" + (f" / {', '.join(labels)}" if labels else "")
    table.add_column(heading, no_wrap=True, width=32)
    table.add_column("start (UTC)", no_wrap=True, width=14)
    table.add_column("status", no_wrap=True, width=6)
    # The fixed columns take 70 characters with their separators; agents get the rest.
    table.add_column("agents", overflow="fold", max_width=max(8, width - 70))
    table.add_column("tokens", justify="right", no_wrap=True, width=7)
    table.add_column("time", justify="right", no_wrap=True, width=6)
    styles = {"ok": "green", "error": "bold red", "open": "yellow"}
    for run in rows:
        start = datetime.fromtimestamp(run.start_ns / 1e9, tz=UTC)
        name = Text(run.trace_id)
        for below in (run.session_id, f"task {run.task_id}" if run.task_id else None):
            if below:  # each on a line of its own: a cut label would mislead
                name.append("\n" + below, style="dim")
        table.add_row(
            name,
            start.strftime("%m-%d %H:%M:%S"),
            f"[{styles[run.status]}]{run.status}[/]",
            "-" if run.agents is None else Text("\n".join(run.agents)),
            _tokens(run),
            _duration(run.duration_ns),
        )
    return table


def _tokens(run: RunSummary) -> str:
    if run.total_tokens is None:
        return "-"
    if run.tokens_complete is False and not run.total_tokens:
        return "?"
    return f"{run.total_tokens:,}" + ("+" if run.tokens_complete is False else "")


def _duration(ns: int) -> str:
    seconds = ns / 1e9
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


# ---- export --------------------------------------------------------------------------------------


main.add_command(export)
main.add_command(report)
main.add_command(demo)
main.add_command(collector)
main.add_command(diff)
main.add_command(compare)
main.add_command(ui)

if __name__ == "__main__":
    main()
