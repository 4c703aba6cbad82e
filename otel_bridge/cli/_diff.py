"""``otel-bridge diff``: two runs step by step (terminal, JSON or an HTML page)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..compare import diff_runs, render_diff
from ..derivation import ModelPrice
from ..report import summary_console
from ._options import RUN_HELP, RunSelection, source_options, with_selection
from ._prices import prices_option

__all__ = ["diff"]


@click.command("diff", epilog=RUN_HELP)
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@click.option("--json", "as_json", is_flag=True, help="The diff as one JSON object.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write an HTML page.",
)
@source_options
@prices_option
@with_selection
def diff(
    run_a: str,
    run_b: str,
    as_json: bool,
    output: Path | None,
    selection: RunSelection,
    prices: dict[str, ModelPrice] | None,
) -> None:
    """Compare two runs step by step: where they part, and what changed in figures.

    Each run's steps (every agent turn with the tools it asked for, every tool result,
    handoff and delegation, the answer) are aligned (an edit distance), and each pair is
    equal, changed, only in A or only in B. Prints the first divergence, the deltas (calls,
    tokens, cost, time, errors; per agent) and the steps (~ changed, - only in A, + only in
    B); --json prints it all as JSON; -o writes a page with both timelines.

    \b
    otel-bridge diff before.otlp.json after.otlp.json -o diff.html
    otel-bridge diff http://127.0.0.1:4318#4bf92f35... runs.otlp.json#5c1e9a0b...
    """
    a = selection.one_run(run_a, prices)
    b = selection.one_run(run_b, prices)
    result = diff_runs(a, b)
    if output is not None:
        output.write_text(result.to_html(), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    else:
        render_diff(result, summary_console())
    if output is not None:
        click.echo(f"Wrote {output}.", err=as_json)
