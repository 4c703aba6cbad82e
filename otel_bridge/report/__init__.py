"""Runs for people: the terminal summary (``_terminal``) and self-contained HTML pages.

Everything here reads the RunTrace JSON (``RunTrace.to_dict()``), so the report depends on no
other part of the package but ``errors`` and ``spans``. The HTML is built from pure layouts
(``_timeline``: a lane per agent; ``_graph``: the handoff graph; ``_page``: header, token tables,
conversation, index rows) placed by Jinja2 templates (``_html``) and written to disk by
``_write``. Pages built elsewhere on the same look (the diff and compare pages) use its
assets, its Content-Security-Policy, its JSON-in-script escaping and its timeline layout.
"""

from __future__ import annotations

from ._format import cost_text, plural
from ._html import asset, index_html, page_csp, run_href, run_html, script_json
from ._terminal import render_summary, summary_console, trace_panel
from ._timeline import Arrow, Bar, Timeline, lay_out
from ._write import write_report_dir, write_run_report

__all__ = [
    "Arrow",
    "Bar",
    "Timeline",
    "asset",
    "cost_text",
    "index_html",
    "lay_out",
    "page_csp",
    "plural",
    "render_summary",
    "run_href",
    "run_html",
    "script_json",
    "summary_console",
    "trace_panel",
    "write_report_dir",
    "write_run_report",
]
