"""Runs for people: the terminal summary (``_terminal``) and self-contained HTML pages.

Everything here reads the RunTrace JSON (``RunTrace.to_dict()``), so the report depends on no
other part of the package but ``errors`` and ``spans``. The HTML is built from pure layouts
(``_timeline``: a lane per agent; ``_graph``: the handoff graph; ``_page``: header, token tables,
conversation, index rows) placed by Jinja2 templates (``_html``) and written to disk by
``_write``.
"""

from __future__ import annotations

from ._format import plural
from ._html import index_html, run_href, run_html
from ._terminal import render_summary, summary_console, trace_panel
from ._write import write_report_dir, write_run_report

__all__ = [
    "index_html",
    "plural",
    "render_summary",
    "run_href",
    "run_html",
    "summary_console",
    "trace_panel",
    "write_report_dir",
    "write_run_report",
]
