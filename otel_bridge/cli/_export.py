"""``otel-bridge export``: the runs of a source as seven tables, by one process or several.

A source's runs are listed here, then shared out to worker processes (``--workers``) that
each read their runs' spans, derive them and write their own part of every table into the
export's staging directory; the export is committed once all are done, or discarded if one
fails. A server's runs are dealt out one by one; files are cut into stretches of runs in the
order they end in the files, so each forked worker reads only its stretch of the messages.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator

import click

from .._fork import fork_safe
from ..errors import ConfigError
from ..report import plural
from ..sources import Derivable, SpanSource, open_source, parse_source, run_json_of
from ..tables import TABLES, ExportFormat, ExportTarget, PartWriter, TableName, WriteMode
from ._options import (
    SOURCES_HELP,
    RunSelection,
    filter_options,
    note_open,
    source_options,
    with_selection,
)
from ._progress import StartMethod, counting, run_parallel

__all__ = ["export"]

FORMATS = ("parquet", "csv", "jsonl")
MAX_WORKERS = 4
MIN_RUNS_PER_WORKER = 500  # a worker starts in about a second: worth it from a few hundred runs
REPORT_EVERY_S = 0.2  # how often the progress bar hears of the runs written
COLLECT_EVERY = 100  # runs between passes of the cycle collector over a part's young objects
FULL_COLLECT_EVERY = 1_000  # runs between its full passes


@click.command(epilog=SOURCES_HELP)
@click.argument("source")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="parquet",
    show_default=True,
    help="File format of the tables: Parquet, CSV, or JSON Lines.",
)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Directory.")
@click.option("--append", is_flag=True, help="Add a part to an existing export (or create it).")
@click.option("--overwrite", is_flag=True, help="Replace an existing export.")
@filter_options("Only the N newest runs.")
@click.option(
    "--workers",
    type=click.IntRange(1),
    help=f"Processes reading, deriving and writing the runs side by side, each its own part "
    f"(default: one per CPU, up to {MAX_WORKERS}, for {MIN_RUNS_PER_WORKER} runs or more each).",
)
@source_options
@with_selection
def export(
    source: str,
    fmt: ExportFormat,
    output: str,
    append: bool,
    overwrite: bool,
    selection: RunSelection,
    workers: int | None,
) -> None:
    """Write the runs of SOURCE as seven tables: runs, agents, llm_calls, tool_calls,
    messages, handoffs, delegations.

    \b
    OUTPUT/<table>/part-<id>.<format>: --append adds parts (the workers of a
    cluster can each append theirs), --overwrite replaces the export. Nothing
    appears in OUTPUT until every run is written. DuckDB, Polars, pandas and
    Spark read it, e.g.:
      SELECT task_id, sum(total_tokens)
      FROM read_parquet('OUTPUT/runs/*.parquet') GROUP BY task_id
    """
    if append and overwrite:
        raise ConfigError("--append and --overwrite exclude each other")
    mode: WriteMode = "append" if append else "overwrite" if overwrite else "new"
    parse_source(source, selection.kind)  # a malformed source is refused before anything
    target = ExportTarget(output, fmt, mode)  # refused now, before any run is read
    try:
        runs = selection.runs(source)
        ids = [summary.trace_id for summary in runs.summaries]
        if workers is None:  # one per CPU, if each has enough runs to be worth its start
            workers = min(MAX_WORKERS, os.cpu_count() or 1, len(ids) // MIN_RUNS_PER_WORKER or 1)
        method = _start_method()
        where = (str(target.staging), str(target.directory))
        local = runs.source is not None and not runs.source.remote
        count = min(workers, len(ids))
        if count <= 1:
            with counting(len(ids), "exporting") as tick:
                parts = [_write_part(runs.derivable(), where, fmt, tick)]
        elif local:
            # Runs in the order they end in the files: each worker a stretch of them, so it
            # reads only its stretch of the messages. Every worker has the files' listing: a
            # forked one inherits it, a spawned one (macOS, Windows, a process running threads)
            # gets it pickled.
            size = -(-len(ids) // count)
            chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
            local_jobs = [(runs.source, chunk, where, fmt) for chunk in chunks]
            parts = run_parallel(_export_local_worker, local_jobs, len(ids), "exporting", method)
        else:
            jobs = [(source, ids[i::count], selection, where, fmt) for i in range(count)]
            parts = run_parallel(_export_worker, jobs, len(ids), "exporting", method)
        target.commit()
    except BaseException:
        target.abort()
        raise
    rows = {table: sum(part[table] for part in parts) for table in TABLES}
    counts = _lines([f"{table} {rows[table]:,}" for table in TABLES])
    click.echo(
        f"otel-bridge: exported {plural(rows['runs'], 'run')} to {output} ({fmt}), rows per "
        f"table:\n{counts}",
        err=True,
    )
    note_open(runs)


def _lines(items: list[str], width: int = 80) -> str:
    """``items`` separated by commas, indented, on lines of at most ``width`` columns (an item
    is not split)."""
    lines = ["  " + items[0]]
    for item in items[1:]:
        if len(lines[-1]) + len(item) + 2 > width - 1:  # room for this one and its comma
            lines[-1] += ","
            lines.append("  " + item)
        else:
            lines[-1] += ", " + item
    return "\n".join(lines)


def _start_method() -> StartMethod:
    """Forked workers where forking is safe (``fork_safe``), else spawned ones. pyarrow is not
    imported here first: it starts threads."""
    return "fork" if fork_safe() else "spawn"


def _write_part(
    runs: Iterator[Derivable],
    where: tuple[str, str],
    fmt: ExportFormat,
    report: Callable[[int], None],
) -> dict[TableName, int]:
    """Add each run to one part of the export (``where``: its staging directory and the
    export's), derived from its spans unless its source gave its RunTrace JSON; rows written
    per table."""
    part = PartWriter(where[0], fmt, export=where[1])
    done, reported_at = 0, time.monotonic()
    # What is alive now (modules, the run list) outlives the export: frozen, it is left out of
    # the cycle collector's passes. Reading and deriving make no reference cycles, so the
    # collector's automatic passes (set off by the many short-lived spans, rows and parsed
    # messages: 6-8% of the time) are turned off. A pass over the young objects every
    # COLLECT_EVERY runs frees the cycles a library makes (the collector's HTTP client: left
    # alone, 370 MB more over 1,000 runs); a full pass, which also walks every row the part
    # holds (20 ms, against 5), every FULL_COLLECT_EVERY runs frees those that were still in
    # use at a young pass, so that nothing piles up over a long export.
    frozen = gc.get_freeze_count() == 0  # a host that froze objects itself keeps them frozen
    if frozen:
        gc.freeze()
    collecting = gc.isenabled()
    gc.disable()
    try:
        for count, run in enumerate(runs, 1):
            part.add(run_json_of(run))
            done += 1
            if collecting and count % COLLECT_EVERY == 0:
                gc.collect(0 if count % FULL_COLLECT_EVERY else 2)
            # A worker's report crosses processes: a few a second, not one per run.
            if time.monotonic() - reported_at >= REPORT_EVERY_S:
                report(done)
                done, reported_at = 0, time.monotonic()
        if done:
            report(done)
        return part.close()
    except BaseException:
        part.abort()
        raise
    finally:
        if collecting:
            gc.enable()
        if frozen:
            gc.unfreeze()


def _export_local_worker(
    source: SpanSource,
    ids: list[str],
    where: tuple[str, str],
    fmt: ExportFormat,
    report: Callable[[int], None],
) -> dict[TableName, int]:
    """One forked worker of a parallel export of files: its stretch of the runs."""
    return _write_part(source.read_traces(ids), where, fmt, report)


def _export_worker(
    source: str,
    ids: list[str],
    selection: RunSelection,
    where: tuple[str, str],
    fmt: ExportFormat,
    report: Callable[[int], None],
) -> dict[TableName, int]:
    """One worker process of a parallel export: its share of the runs, as its own part."""
    opened = open_source(
        source, kind=selection.kind, project=selection.project, token=selection.token
    )
    with opened:
        # No read-ahead thread: it would contend with the derivation for this process's
        # interpreter, while the other workers use the CPU when this one waits for the server.
        return _write_part(opened.read_derived(ids, prefetch=0), where, fmt, report)
