"""``diff_runs(a, b) -> RunDiff``: the public face of a diff, with its HTML page."""

from __future__ import annotations

from typing import Any

from ..run_json import as_run_json
from ._diff import Diff

__all__ = ["RunDiff", "diff_runs"]


class RunDiff(Diff):
    """Two runs compared step by step: ``to_dict()`` (JSON), ``to_html()`` (a page)."""

    def to_html(self) -> str:
        """The diff as one self-contained, offline HTML page."""
        from ._html import diff_html  # Jinja2 and the report's pieces, loaded when needed

        return diff_html(self)


def diff_runs(a: Any, b: Any) -> RunDiff:
    """Align the steps of two runs (RunTraces or their JSON) and compare their figures."""
    return RunDiff(as_run_json(a), as_run_json(b))
