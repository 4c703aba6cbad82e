"""Comparing runs: two runs step by step (``diff_runs``), and two sets of runs per task.

Everything here reads the RunTrace JSON (``RunTrace.to_dict()``) or the runs table, so runs
derived from spans and runs read back from an export directory compare alike. ``_steps`` makes
a run's trajectory, ``_align`` aligns two (an edit distance), ``_deltas`` compares figures,
``_diff`` compares two runs, ``_run_diff`` is ``RunDiff`` (with its page); ``_sets`` matches
two sets of runs by task and repetition; ``_terminal`` and ``_html`` show a diff,
``_sets_view`` a set comparison; ``_export_runs`` reads runs back from an export directory.
numpy, rich and Jinja2 are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._diff import AlignedStep
from ._export_runs import export_runs, runs_from_tables
from ._run_diff import RunDiff, diff_runs
from ._sets import COLUMNS_READ, SetComparison, compare_sets

if TYPE_CHECKING:
    from ._sets_view import render_sets, sets_html
    from ._terminal import render_diff

__all__ = [
    "COLUMNS_READ",
    "AlignedStep",
    "RunDiff",
    "SetComparison",
    "compare_sets",
    "diff_runs",
    "export_runs",
    "render_diff",
    "render_sets",
    "runs_from_tables",
    "sets_html",
]


def __getattr__(name: str) -> Any:
    """The views (rich, Jinja2) are imported when first used: ``import otel_bridge`` stays light."""
    if name == "render_diff":
        from ._terminal import render_diff

        return render_diff
    if name in ("render_sets", "sets_html"):
        from . import _sets_view

        return getattr(_sets_view, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
