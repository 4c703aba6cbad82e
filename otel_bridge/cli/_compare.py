"""``otel-bridge compare``: two sets of runs side by side, matched by MASEval task."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from ..compare import (
    COLUMNS_READ,
    compare_sets,
    diff_runs,
    export_runs,
    render_sets,
    sets_html,
)
from ..derivation import ModelPrice, derive
from ..errors import ConfigError, SourceError
from ..report import summary_console
from ..run_json import RunTraceJSON
from ..tables import MANIFEST, is_export, read_export, to_tables
from ._options import (
    SOURCES_HELP,
    RunSelection,
    filter_options,
    note_open,
    source_options,
    with_selection,
)
from ._prices import prices_option
from ._progress import progress

__all__ = ["compare"]

SETS_HELP = (
    SOURCES_HELP
    + """
\\b
A SET is an export directory (otel-bridge export, or MASEval's BenchmarkExport:
its runs table has the evaluators' results) or a SOURCE with the run filters
(they apply to both sets).
"""
)


@click.command("compare", epilog=SETS_HELP)
@click.argument("set_a", metavar="SET_A")
@click.argument("set_b", metavar="SET_B")
@filter_options("Only the N newest runs of each set.")
@source_options
@click.option("--json", "as_json", is_flag=True, help="The comparison as one JSON object.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write an HTML page, and beside it (in NAME-diffs/) the diff of each task's runs.",
)
@click.option("--no-diffs", is_flag=True, help="With -o: no diff pages, only the comparison.")
@prices_option
@with_selection
def compare(
    set_a: str,
    set_b: str,
    selection: RunSelection,
    as_json: bool,
    output: Path | None,
    no_diffs: bool,
    prices: dict[str, ModelPrice] | None,
) -> None:
    """Compare two sets of runs task by task: cost and behaviour against the scores.

    Runs are matched by MASEval task id and repetition; unmatched runs are listed. Per task:
    both sides' tokens, cost, calls, handoffs, wall time, status and evaluation scores, and
    the change; overall: means and medians of the paired changes with 95% bootstrap
    intervals, and how many tasks got better, worse or stayed (by score).

    \b
    otel-bridge compare before/tables after/tables -o compare.html
    otel-bridge compare before.otlp.json after.otlp.json --since 2h
    """
    if no_diffs and output is None:
        raise ConfigError("--no-diffs goes with -o (the diff pages are written beside the page)")
    side_a = _RunSet(set_a, selection, prices)
    side_b = _RunSet(set_b, selection, prices)
    result = compare_sets(side_a.rows, side_b.rows)
    names = (set_a, set_b)
    if output is not None:
        href = _write_diffs(result.tasks(), side_a, side_b, output) if not no_diffs else {}
        page = sets_html(
            result, names, lambda t: href.get((t["task_id"], t["repetition"], t["run"]))
        )
        output.write_text(page, encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        render_sets(result, summary_console(), names)
    if output is not None:
        diffs = "" if no_diffs else f" and {len(href)} diff page(s) in {_diff_dir(output)}"
        click.echo(f"Wrote {output}{diffs}.", err=as_json)


class _RunSet:
    """One side: its runs-table rows, and its whole runs when a diff page needs them."""

    def __init__(
        self, source: str, selection: RunSelection, prices: dict[str, ModelPrice] | None
    ) -> None:
        self.source = source
        self._runs: dict[str, RunTraceJSON] | None = None
        if is_export(source):
            if selection.since or selection.until or selection.include_open:
                raise ConfigError(
                    f"{source}: an export directory's runs are chosen with --session and "
                    "--limit only (--since, --until and --include-open read span sources)"
                )
            rows = read_export(source, ("runs",), COLUMNS_READ)["runs"]
            if selection.session:
                rows = [r for r in rows if r.get("session_id") == selection.session]
            rows.sort(key=lambda r: str(r.get("start") or ""), reverse=True)
            self.rows: list[dict[str, Any]] = rows[: selection.limit or None]
            if not self.rows:
                matching = " that match --session" if selection.session else ""
                raise SourceError(f"{source}: the export holds no runs{matching}")
            return
        if Path(source).is_dir():
            raise SourceError(
                f"{source}: a directory, but not an otel-bridge export (no {MANIFEST})"
            )
        runs = selection.runs(source)
        traces = [derive(s, prices=prices).to_dict() for s in progress(runs, len(runs), "deriving")]
        note_open(runs)
        self._runs = {t["trace_id"]: t for t in traces}
        self.rows = to_tables(traces)["runs"]

    def run(self, trace_id: str) -> RunTraceJSON | None:
        """The whole run (an export's runs are read on first use)."""
        if self._runs is None:
            self._runs = {r["trace_id"]: r for r in export_runs(self.source)}
        return self._runs.get(trace_id)


def _diff_dir(output: Path) -> Path:
    return output.with_name(f"{output.stem}-diffs")


def _write_diffs(
    tasks: list[dict[str, Any]], a: _RunSet, b: _RunSet, output: Path
) -> dict[tuple[Any, ...], str]:
    """A diff page per matched task; their links, relative to the comparison page."""
    directory = _diff_dir(output)
    directory.mkdir(parents=True, exist_ok=True)
    links: dict[tuple[Any, ...], str] = {}
    for number, task in enumerate(progress(tasks, len(tasks), "writing diff pages"), start=1):
        run_a, run_b = a.run(str(task["a"]["trace_id"])), b.run(str(task["b"]["trace_id"]))
        if run_a is None or run_b is None:
            continue
        name = f"{number:04d}-{_slug(task)}.html"
        (directory / name).write_text(diff_runs(run_a, run_b).to_html(), encoding="utf-8")
        links[(task["task_id"], task["repetition"], task["run"])] = f"{directory.name}/{name}"
    return links


def _slug(task: Mapping[str, Any]) -> str:
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(task["task_id"]))[:60]
    rep = "" if task["repetition"] is None else f"-r{task['repetition']}"
    return f"{text}{rep}" + (f"-{task['run']}" if task["run"] else "")
