"""The query API routes the UI adds over any ``RunReader``: a session, a run's report page, the
diff of two runs and the comparison of two filtered sets.

``format=html`` answers a page for an iframe (the report, diff and compare pages, which carry
their own CSP); errors are then pages too, saying the same in words with a link back to ``/``.
Sync endpoints: Starlette runs them in worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..collector import error
from ..compare import compare_sets, diff_runs, sets_html
from ..errors import (
    BadParameter,
    ConfigError,
    RunTooLarge,
    SourceError,
    SpanFormatError,
    StoreError,
    TraceIdError,
)
from ..report import run_html
from ..spans import format_trace_id
from ..tables import to_tables
from ._pages import EMBED_CSP, html_error, secured
from ._reader import RunReader, run_facts

__all__ = ["api_routes", "session_json"]

logger = logging.getLogger(__name__)

MAX_SESSION_RUNS = 10_000  # runs listed for one session
MAX_SESSION_DERIVED = 200  # runs of a session derived on request (the rest: listed as they are)
MAX_SET_RUNS = 1000  # runs of one side of a comparison (a side's own limit= may ask fewer)
PAGE = "1000"


def _all_traces(reader: RunReader, query: Mapping[str, str], most: int) -> list[dict[str, Any]]:
    """Every summary a query lists, newest first, at most ``most``."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < most:
        page = reader.traces({**query, "limit": PAGE, **({"cursor": cursor} if cursor else {})})
        found.extend(page["traces"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return found[:most]


def _rooted(summary: Mapping[str, Any]) -> bool:
    """The trace has its root span (the run ended, or is ending)."""
    return summary.get("root_name") is not None


def _with_run(reader: RunReader, summary: dict[str, Any]) -> dict[str, Any]:
    """The summary with its ``run`` facts, deriving the run if needed (not without a root)."""
    if summary.get("run") is not None or not _rooted(summary):
        return summary
    try:
        run = reader.run(summary["trace_id"])
    except (RunTooLarge, SpanFormatError):
        return summary
    return summary if run is None else {**summary, "run": run_facts(run)}


def session_json(reader: RunReader, session_id: str) -> dict[str, Any] | None:
    """``/api/sessions/{id}``: its runs oldest first and their totals; None: no such session."""
    runs = _all_traces(reader, {"session": session_id}, MAX_SESSION_RUNS)
    if not runs:
        return None
    runs.reverse()
    runs = [_with_run(reader, s) if n < MAX_SESSION_DERIVED else s for n, s in enumerate(runs)]
    facts = [s.get("run") for s in runs]
    tokens = [f["total_tokens"] for f in facts if f and f.get("total_tokens") is not None]
    costs = [f["cost_usd"] for f in facts if f and f.get("cost_usd") is not None]
    totals: dict[str, Any] = {
        "runs": len(runs),
        "total_tokens": sum(tokens) if tokens else None,
        "tokens_complete": all(bool(f and f.get("tokens_complete")) for f in facts),
        "cost_usd": round(sum(costs), 9) if costs else None,
        "cost_complete": len(costs) == len(runs),
        "duration_s": round(sum(float(s.get("duration_s") or 0) for s in runs), 6),
        "errors": sum(1 for s in runs if s.get("status") == "error"),
        "open": sum(1 for s in runs if s.get("open")),
        "start": runs[0].get("start"),
        "end": max(str(s.get("end") or "") for s in runs) or None,
    }
    return {"session_id": session_id, "runs": runs, "totals": totals}


def _format(request: Request) -> str | Response:
    wanted = request.query_params.get("format") or "json"
    if wanted not in ("json", "html"):
        return error(400, f"format must be 'json' or 'html', got {wanted!r}")
    return wanted


def _fail(as_html: bool, status: int, message: str) -> Response:
    return html_error(status, message) if as_html else error(status, message)


def _page(html: str) -> Response:
    return secured(HTMLResponse(html), EMBED_CSP)


def api_routes(reader: RunReader) -> list[BaseRoute]:
    """``/api/sessions/{id}``, ``/api/traces/{id}/report``, ``/api/diff``, ``/api/compare``."""

    def guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Faults of the source (gone, failing) answer 503 in the request's format."""

        def endpoint(request: Request) -> Response:
            as_html = request.query_params.get("format") == "html" or (
                request.url.path.endswith("/report")
            )
            try:
                return handler(request)
            except StoreError as exc:  # the collector's own fault
                if as_html:
                    return html_error(503, f"The collector cannot read its store: {exc}")
                raise  # its JSON 503
            except SourceError as exc:  # a source that went away or fails
                logger.warning("otel-bridge ui: %s: %s", request.url.path, exc)
                return _fail(as_html, 503, f"The source cannot be read: {exc}")
            except Exception as exc:  # a source that answers nonsense
                logger.exception("otel-bridge ui: %s failed", request.url.path)
                return _fail(as_html, 503, f"The source cannot be read: {exc!r}")

        return endpoint

    def session(request: Request) -> Response:
        session_id = str(request.path_params["session_id"])
        found = session_json(reader, session_id)
        if found is None:
            return error(404, f"no runs of session {session_id}")
        return JSONResponse(found)

    def report(request: Request) -> Response:
        given = str(request.path_params["trace_id"])
        try:
            trace_id = format_trace_id(given)
        except TraceIdError as exc:
            return html_error(400, str(exc))
        try:
            run = reader.run(trace_id)
        except (RunTooLarge, SpanFormatError) as exc:
            return html_error(422, str(exc))
        if run is None:
            return html_error(404, f"No run with trace id {trace_id}.")
        return _page(run_html(run))

    def diff(request: Request) -> Response:
        wanted = _format(request)
        if isinstance(wanted, Response):
            return wanted
        as_html = wanted == "html"
        trace_ids = []
        for side in ("a", "b"):
            given = request.query_params.get(side)
            if not given:
                return _fail(as_html, 400, "give two runs: /api/diff?a=TRACE_ID&b=TRACE_ID")
            try:
                trace_ids.append(format_trace_id(given))
            except TraceIdError as exc:
                return _fail(as_html, 400, f"{side}: {exc}")
        runs = []
        for trace_id in trace_ids:
            try:
                run = reader.run(trace_id)
            except (RunTooLarge, SpanFormatError) as exc:
                return _fail(as_html, 422, str(exc))
            if run is None:
                return _fail(as_html, 404, f"no run with trace id {trace_id}")
            runs.append(run)
        result = diff_runs(runs[0], runs[1])
        return _page(result.to_html()) if as_html else JSONResponse(result.to_dict())

    def compare(request: Request) -> Response:
        wanted = _format(request)
        if isinstance(wanted, Response):
            return wanted
        as_html = wanted == "html"
        sides: list[list[dict[str, Any]]] = []
        for side in ("a", "b"):
            filters = QueryParams(request.query_params.get(side) or "")
            try:
                sides.append(_set_runs(reader, filters))
            except ValueError as exc:  # BadParameter: a filter of that side
                return _fail(as_html, 400, f"{side}: {exc}")
        try:
            result = compare_sets(to_tables(sides[0])["runs"], to_tables(sides[1])["runs"])
        except ConfigError as exc:
            return _fail(as_html, 422, str(exc))
        if not as_html:
            return JSONResponse(result.to_dict())
        names = tuple(request.query_params.get(s) or "all runs" for s in ("a", "b"))

        def diff_href(task: Mapping[str, Any]) -> str:
            a, b = quote(str(task["a"]["trace_id"])), quote(str(task["b"]["trace_id"]))
            return f"/diff?a={a}&b={b}"

        page = sets_html(result, (names[0], names[1]), diff_href)
        # In the run page's iframe, a diff link opens the diff page in the whole window.
        return _page(page.replace("<head>", '<head><base target="_top">', 1))

    return [
        Route("/api/sessions/{session_id:path}", guarded(session), methods=["GET"]),
        Route("/api/traces/{trace_id}/report", guarded(report), methods=["GET"]),
        Route("/api/diff", guarded(diff), methods=["GET"]),
        Route("/api/compare", guarded(compare), methods=["GET"]),
    ]


def _set_runs(reader: RunReader, filters: QueryParams) -> list[dict[str, Any]]:
    """The derived runs one side's filters select (runs without a root span left out)."""
    if "cursor" in filters:
        raise BadParameter("a set is chosen by filters, without a cursor")
    most = MAX_SET_RUNS
    if filters.get("limit"):
        try:
            most = min(most, int(filters["limit"]))
        except ValueError as exc:
            raise BadParameter(f"limit must be an integer, got {filters['limit']!r}") from exc
    query = {k: v for k, v in filters.items() if k != "limit"}
    runs = []
    for summary in _all_traces(reader, query, most):
        if not _rooted(summary):
            continue
        try:
            run = reader.run(summary["trace_id"])
        except (RunTooLarge, SpanFormatError):
            continue
        if run is not None:
            runs.append(run)
    return runs
