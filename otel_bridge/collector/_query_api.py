"""The query API: JSON over HTTP, on the receiver's port, behind the same token.

Routes:

- ``GET /api/traces?service=&status=ok|error|open&session=&task=&agent=&q=&start=&end=&limit=
  &cursor=``: traces, newest first: ``{"traces": [summary, ...], "next_cursor": str | null}``.
  ``start``/``end`` filter the trace start (ISO-8601, or integer Unix nanoseconds; ``start``
  inclusive, ``end`` exclusive); ``session`` and ``task`` the run's labels (``session.id``, the
  MASEval task id); ``agent`` a derived agent's name (runs derived so far: ended runs are
  derived within a second); ``q`` free text, a case-insensitive substring of the trace id,
  root span name, service, session, task or agent names; ``limit`` 1..1000 (default 50); pass
  ``next_cursor`` back as ``cursor`` with the same filters for the next page. ``status`` is
  ``error`` when any span has an ERROR status; ``status=open`` lists the open traces. A
  summary has the run's ``session_id`` and ``task_id``, ``open`` (true while the trace has no
  root span, or got spans in the last 5 seconds), and once the run was derived (ahead, or by a
  ``/run`` request) its ``run``: ``{"agents", "total_tokens", "tokens_complete",
  "cost_usd"}`` (else null).
- ``GET /api/traces/{trace_id}``: one trace summary.
- ``GET /api/traces/{trace_id}/spans``: every span of the trace as one OTLP/JSON export request
  (hex ids); with ``Accept: application/x-protobuf``, the same request as protobuf bytes.
- ``GET /api/spans?trace_id=ID&trace_id=ID...``: the spans of up to 200 traces in one answer,
  for reading many runs: the requests ``/api/traces/{trace_id}/spans`` gives for each trace,
  in the order asked, one after another (protobuf reads them as one request; as OTLP/JSON,
  one request holding them all). A trace without spans is left out; one asked twice is sent
  once. The protobuf answer is streamed about a megabyte at a time: the collector holds that
  and one trace's bytes, however many traces are asked for.
- ``GET /api/traces/{trace_id}/run``: the derived ``RunTrace`` (``derive(...).to_dict()``).
  Ended runs are derived ahead of the request (``_runs.RunPreparer``); answers are kept until
  the trace gets more spans.
- ``GET /api/runs?code=CODE&trace_id=ID&trace_id=ID...``: the RunTrace JSON the collector
  already derived for up to 200 traces, one per line (``application/x-ndjson``), if derived by
  the code ``CODE`` names (``derivation_code()``: a client reuses only what it would derive
  itself) from the spans the trace has now. The others are left out: the client derives them
  from their spans. What an export reads first, so that a run is derived once.

Errors are ``{"error": message}`` with 400 (bad parameter), 401 (token), 404 (unknown trace),
422 (``/run`` of a trace beyond ``max_run_spans``/``max_run_depth``, or whose spans cannot be
derived) or 503 (the store failed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._derivation_code import derivation_code
from ..conventions import run_labels
from ..errors import BadParameter, SpanFormatError, StoreError, TraceIdError
from ..otlp import JSON, PROTOBUF, from_request, request_to_json
from ..run_json import NDJSON
from ..spans import format_trace_id, iso_ns, printable
from ._config import CollectorConfig
from ._live import LiveTraces
from ._runs import RunCache, RunLimits, RunTooLarge, check_span_count, derive_run_json
from ._store import SpanStore
from ._traces import RunFacts, TraceStatus

__all__ = ["error", "list_params", "query_routes", "run_body", "trace_page"]

logger = logging.getLogger(__name__)

MAX_LIMIT = 1000
MAX_BATCH_TRACES = 200  # trace ids in one /api/spans request (~8 KB of query string)
STREAM_CHUNK_BYTES = 1 << 20  # traces are sent in chunks of about this size
LABEL_BATCH = 500  # traces labelled per pass before a filtered listing
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what SQLite stores


def error(status: int, message: str) -> JSONResponse:
    """The query API's error body (its message escaped: it may quote what the client sent)."""
    return JSONResponse({"error": printable(message, limit=1000)}, status)


def query_routes(
    store: SpanStore, runs: RunCache, live: LiveTraces, config: CollectorConfig
) -> list[Route]:
    """The query API routes over a store (sync endpoints: Starlette runs them in threads)."""
    limits = RunLimits(config.max_run_spans, config.max_run_depth)

    def list_traces(request: Request) -> Response:
        try:
            return JSONResponse(trace_page(store, live, request.query_params))
        except ValueError as exc:  # BadParameter, or a cursor that is not one of ours
            return error(400, str(exc))

    def get_trace(request: Request) -> Response:
        trace_id = _trace_id(request)
        if isinstance(trace_id, Response):
            return trace_id
        summary = store.trace(trace_id)
        return JSONResponse(live.to_dict(summary)) if summary else _unknown(trace_id)

    def trace_spans(request: Request) -> Response:
        trace_id = _trace_id(request)
        if isinstance(trace_id, Response):
            return trace_id
        body = store.trace_bytes(trace_id)
        if body is None:
            return _unknown(trace_id)
        if PROTOBUF in request.headers.get("accept", ""):
            return Response(body, media_type=PROTOBUF)  # as stored: no span is parsed
        return JSONResponse(request_to_json(ExportTraceServiceRequest.FromString(body)))

    def spans_of_traces(request: Request) -> Response:
        trace_ids = _trace_ids(request)
        if isinstance(trace_ids, Response):
            return trace_ids
        # The first trace is read before answering, so a failing store is still a 503.
        first = store.trace_bytes(trace_ids[0])
        if PROTOBUF not in request.headers.get("accept", ""):
            bodies = [first or b"", *(store.trace_bytes(t) or b"" for t in trace_ids[1:])]
            otlp = ExportTraceServiceRequest.FromString(b"".join(bodies))
            return JSONResponse(request_to_json(otlp))
        return StreamingResponse(_chunks(first, trace_ids[1:]), media_type=PROTOBUF)

    def _chunks(first: bytes | None, rest: list[str]) -> Iterator[bytes]:
        """The traces' requests, a chunk of about STREAM_CHUNK_BYTES at a time."""
        pending, size = [first or b""], len(first or b"")
        for trace_id in rest:
            if size >= STREAM_CHUNK_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
            body = store.trace_bytes(trace_id) or b""
            pending.append(body)
            size += len(body)
        yield b"".join(pending)

    def derived_runs(request: Request) -> Response:
        trace_ids = _trace_ids(request, "runs")
        if isinstance(trace_ids, Response):
            return trace_ids
        code = request.query_params.get("code")
        if not code:
            return error(
                400,
                "give the code of the otel-bridge asking: /api/runs?code=CODE&trace_id=ID... "
                "(otel_bridge.sources.derived_runs sends it; /api/traces/{id}/run needs none)",
            )
        kept = store.run_json(trace_ids, code)
        lines = [body for trace_id in trace_ids if (body := kept.get(trace_id)) is not None]
        return Response(b"\n".join(lines), media_type=NDJSON)

    def trace_run(request: Request) -> Response:
        trace_id = _trace_id(request)
        if isinstance(trace_id, Response):
            return trace_id
        try:
            body = run_body(store, runs, limits, trace_id)
        except (RunTooLarge, SpanFormatError) as exc:
            return error(422, str(exc))
        return _unknown(trace_id) if body is None else Response(body, media_type=JSON)

    return [
        Route("/api/traces", list_traces, methods=["GET"]),
        Route("/api/traces/{trace_id}", get_trace, methods=["GET"]),
        Route("/api/traces/{trace_id}/spans", trace_spans, methods=["GET"]),
        Route("/api/traces/{trace_id}/run", trace_run, methods=["GET"]),
        Route("/api/spans", spans_of_traces, methods=["GET"]),
        Route("/api/runs", derived_runs, methods=["GET"]),
    ]


def trace_page(store: SpanStore, live: LiveTraces, query: Any) -> dict[str, Any]:
    """The ``/api/traces`` answer to a query string; ValueError (BadParameter) for a bad one."""
    params = list_params(query)
    if params.pop("open"):
        params["open_ids"] = live.recent_ids()
    if any(params[name] is not None for name in ("session", "task", "text")):
        _label_runs(store, params["start_ns"], params["end_ns"])
    page = store.list_traces(**params)
    return {"traces": [live.to_dict(t) for t in page.traces], "next_cursor": page.next_cursor}


def run_body(store: SpanStore, runs: RunCache, limits: RunLimits, trace_id: str) -> bytes | None:
    """A stored trace's RunTrace JSON: from the cache or the store, else derived now (and kept).

    None when the trace has no spans; RunTooLarge beyond the limits; SpanFormatError when its
    spans cannot be derived (the data, not the server); StoreError when the store fails.
    """
    summary = store.trace(trace_id)
    if summary is None:
        return None
    body = runs.get(trace_id, summary.span_count)
    if body is None:  # derived before (this code, these spans), and no longer in memory
        body = store.run_json([trace_id], derivation_code()).get(trace_id)
        if body is not None:
            runs.put(trace_id, summary.span_count, body)
    if body is not None:
        return body
    try:
        check_span_count(trace_id, summary.span_count, limits)
        derived = derive_run_json(store, trace_id, limits)
    except (RunTooLarge, StoreError):
        raise
    except Exception as exc:  # a span derive() cannot take: the data, not the server
        logger.exception("otel-bridge collector: could not derive trace %s", trace_id)
        raise SpanFormatError(
            f"the spans of trace {trace_id} could not be derived: {exc!r}"
        ) from exc
    if derived is None:
        return None
    runs.put(trace_id, *derived)
    return derived[1]


def _trace_id(request: Request) -> str | JSONResponse:
    """The path's trace id as 32 hex characters, or the 400 answer to a malformed one."""
    try:
        return format_trace_id(str(request.path_params["trace_id"]))
    except TraceIdError as exc:
        return error(400, str(exc))


def _trace_ids(request: Request, route: str = "spans") -> list[str] | JSONResponse:
    """The ``trace_id`` parameters as 32 hex characters, or the 400 answer."""
    given = request.query_params.getlist("trace_id")
    if not given:
        return error(400, f"give the traces to read: /api/{route}?trace_id=ID&trace_id=ID...")
    if len(given) > MAX_BATCH_TRACES:
        return error(
            400, f"at most {MAX_BATCH_TRACES} trace_id parameters per request, got {len(given)}"
        )
    try:
        return list(dict.fromkeys(format_trace_id(trace_id) for trace_id in given))
    except TraceIdError as exc:
        return error(400, str(exc))


def _unknown(trace_id: str) -> JSONResponse:
    return error(404, f"no spans of trace {trace_id}")


def list_params(query: Any) -> dict[str, Any]:
    """The ``/api/traces`` filters of a query string, checked (BadParameter saying which).

    Keyword arguments of ``SpanStore.list_traces``, and ``open`` (``status=open``).
    """
    status = query.get("status") or None
    if status is not None and status not in ("ok", "error", "open"):
        raise BadParameter(f"status must be 'ok', 'error' or 'open', got {status!r}")
    limit_text = query.get("limit") or "50"
    try:
        limit = int(limit_text)
    except ValueError as exc:
        raise BadParameter(f"limit must be an integer, got {limit_text!r}") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter(f"limit must be 1..{MAX_LIMIT}, got {limit}")
    cursor = query.get("cursor") or None  # checked by the store, which decodes it
    trace_status: TraceStatus | None = None if status == "open" else status
    return {
        "service": query.get("service") or None,
        "status": trace_status,
        "start_ns": _time_ns(query.get("start"), "start"),
        "end_ns": _time_ns(query.get("end"), "end"),
        "session": query.get("session") or None,
        "task": query.get("task") or None,
        "agent": query.get("agent") or None,
        "text": query.get("q") or None,
        "open": status == "open",
        "limit": limit,
        "cursor": cursor,
    }


def _label_runs(store: SpanStore, start_ns: int | None, end_ns: int | None) -> None:
    """Read the labels of the traces in the range that have none kept yet (once per trace)."""
    while unlabelled := store.unlabelled(start_ns, end_ns, LABEL_BATCH):
        found = []
        for trace_id in unlabelled:
            otlp = store.trace_request(trace_id)
            spans = from_request(otlp) if otlp is not None else []
            labels = run_labels(spans)
            found.append((trace_id, RunFacts(len(spans), labels["session_id"], labels["task_id"])))
        store.label_runs(found)


def _time_ns(text: str | None, name: str) -> int | None:
    """Unix nanoseconds from an integer or an ISO-8601 time (UTC when it has no zone)."""
    if not text:
        return None
    if text.lstrip("-").isdecimal():
        value = int(text)
    else:
        try:
            value = iso_ns(text)
        except ValueError as exc:
            raise BadParameter(
                f"{name} must be ISO-8601 or Unix nanoseconds, got {text!r}"
            ) from exc
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadParameter(f"{name} is out of range (64-bit Unix nanoseconds): {text!r}")
    return value
