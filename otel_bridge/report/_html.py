"""Self-contained HTML pages: one run (``run_html``) and an index of many (``index_html``).

Rendered on the server side with Jinja2, autoescaping on: every string that came from spans
(messages, tool outputs, agent names) is escaped, and the page reads fine without JavaScript
and prints. A small inline script adds zoom, click-for-details, sorting and filtering; the data
it needs is one JSON element whose ``<``, ``>``, ``&`` and line separators are ``\\u`` escapes,
so no text in it can end the element. A Content-Security-Policy allows that one script (by
hash) and no request of any kind: the page works offline and cannot load anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..run_json import as_run_json
from ._format import clip, mapping, pass_mark, plural
from ._graph import lay_out_graph
from ._page import LABELS, IndexRow, conversation, index_row, labels, token_rows, totals
from ._timeline import lay_out

__all__ = ["asset", "index_html", "index_page", "page_csp", "run_href", "run_html", "script_json"]

_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(value: Any) -> Markup:
    """JSON that is safe as the text of a ``<script type="application/json">`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(text.translate(_JSON_ESCAPES))  # safe: every "<" is escaped above


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("otel_bridge.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["plural"] = plural
    return environment


@cache
def asset(name: str) -> str:
    """A stylesheet or script of the report, inlined as it is (never parsed as a template)."""
    return (files("otel_bridge.report") / "templates" / name).read_text(encoding="utf-8")


def page_csp(script: str) -> str:
    """The Content-Security-Policy of a page whose one script is ``script``."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    # Inline style attributes place the bars; nothing may be fetched, framed or submitted.
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def run_href(trace_id: str) -> str:
    """The file name of a run's page next to the index."""
    return f"{trace_id}.html"


def run_html(trace: Any, *, index_href: str | None = None) -> str:
    """One run (a RunTrace or its JSON) as a self-contained, offline HTML page."""
    data = as_run_json(trace)
    timeline = lay_out(data)
    colours = {lane.name: lane.colour for lane in timeline.lanes}
    messages = conversation(data, colours)
    # A tool call's details link to its result in the conversation (one message per raw one).
    result_anchor = {
        str(raw.get("tool_call_id")): shown.anchor
        for raw, shown in zip(map(mapping, data.get("messages") or ()), messages, strict=True)
        if raw.get("role") == "tool" and raw.get("tool_call_id")
    }
    for entry in timeline.details:
        anchor = result_anchor.get(str(entry.get("tool call id")))
        if anchor:
            entry["message"] = anchor
    agent_rows, model_rows = token_rows(data, colours)
    arrow_at = {(arrow.kind, arrow.number): arrow.at for arrow in timeline.arrows}
    handoffs = [
        {
            "source": str(h.get("from") or "?"),
            "target": str(h.get("to") or "?"),
            "from_colour": colours.get(str(h.get("from")), ""),
            "to_colour": colours.get(str(h.get("to")), ""),
            "at": arrow_at.get(("handoff", number), "an unknown time"),
            "reason": h.get("reason") if isinstance(h.get("reason"), str) else None,
        }
        for number, h in enumerate(map(mapping, data.get("handoffs") or ()), start=1)
    ]
    delegations = [
        {
            "source": str(d.get("from") or "?"),
            "target": str(d.get("to") or "?"),
            "from_colour": colours.get(str(d.get("from")), ""),
            "to_colour": colours.get(str(d.get("to")), ""),
            "mark": pass_mark("delegation", number),
            "at": arrow_at.get(("delegation", number), "an unknown time"),
            "task": clip(d.get("task"), 200) if isinstance(d.get("task"), str) else None,
        }
        for number, d in enumerate(map(mapping, data.get("delegations") or ()), start=1)
    ]
    script = asset("run.js")
    by_lane: list[dict[str, list[Any]]] = [{"llm": [], "tool": []} for _ in timeline.lanes]
    for bar in timeline.bars:
        by_lane[bar.lane][bar.track].append(bar)
    return (
        _environment()
        .get_template("run.html.j2")
        .render(
            data=data,
            labels=labels(data),
            index_href=index_href,
            totals=totals(data),
            timeline=timeline,
            bars_by_lane=by_lane,
            handoffs=handoffs,
            delegations=delegations,
            graph=lay_out_graph([lane.name for lane in timeline.lanes], data),
            agent_rows=agent_rows,
            model_rows=model_rows,
            messages=messages,
            payload=script_json({"details": timeline.details}),
            css=Markup(asset("report.css")),
            script=Markup(script),
            csp=page_csp(script),
        )
    )


def index_html(
    traces: Iterable[Any],
    *,
    href: Callable[[str], str] = run_href,
    title: str = "otel-bridge runs",
) -> str:
    """An index of runs (RunTraces or their JSON): a sortable, filterable table of links."""
    return index_page(
        [index_row(data, href(data["trace_id"])) for data in map(as_run_json, traces)], title=title
    )


def index_page(rows: Sequence[IndexRow], *, title: str = "otel-bridge runs") -> str:
    """The index page of rows already made (``_page.index_row``), newest run first."""
    script = asset("index.js")
    rows = sorted(rows, key=lambda row: row.start_ns, reverse=True)
    # A filter per label that tells some runs apart (values in their natural order).
    choices = {
        name: sorted({row.labels[name] for row in rows if name in row.labels}, key=_natural)
        for name in LABELS.values()
    }
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            rows=rows,
            choices={name: values for name, values in choices.items() if len(values) > 1},
            # The task · rep · session column: the framework has its filter, not a column.
            with_labels=any(set(row.labels) - {"framework"} for row in rows),
            title=title,
            errors=sum(row.status == "error" for row in rows),
            with_cost=any(row.cost is not None for row in rows),
            css=Markup(asset("report.css")),
            script=Markup(script),
            csp=page_csp(script),
        )
    )


def _natural(text: str) -> tuple[int, int, str]:
    """Numbers by value (repetition 10 after 9), then text."""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
