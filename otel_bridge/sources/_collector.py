"""The embedded collector's query API as a span source and a run list.

``GET /api/traces/{id}/spans`` (protobuf) for a trace's spans, ``GET /api/spans`` for the
spans of many traces in one request, ``GET /api/traces`` (pages of summaries, newest first) for
the list, ``GET /api/traces/{id}/run`` for a derived run, ``GET /api/runs`` for the runs of
many traces the collector derived already (so an export does not derive them again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from .._derivation_code import derivation_code
from ..errors import SourceError, SpanFormatError
from ..otlp import PROTOBUF, decode_request, from_request
from ..run_json import NDJSON
from ..spans import SpanRecord, format_trace_id, group_by_trace, printable
from ._http import client_for, get, json_of
from ._reading import read_batches
from ._source import Derivable, Listed, RemoteSource, RunQuery, register
from ._summary import RunSummary

__all__ = [
    "MAX_BATCH_TRACES",
    "CollectorSource",
    "collector_run",
    "derived_runs",
    "download_collector_many",
    "list_collector",
    "read_collector",
    "read_collector_many",
]

PAGE_LIMIT = 1000  # the query API's maximum
MAX_BATCH_TRACES = 200  # trace ids per GET /api/spans: the query API's maximum


def read_collector(
    base_url: str,
    trace_id: str | int,
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> list[SpanRecord]:
    """Every span of a trace stored by an otel-bridge collector at ``base_url``."""
    tid = format_trace_id(trace_id)
    url = f"{base_url.rstrip('/')}/api/traces/{tid}/spans"
    with client_for(token, client) as http:
        # Protobuf, not OTLP/JSON: the same request, several times faster to decode.
        response = get(http, url, headers={"Accept": PROTOBUF})
    if response.status_code == 404:
        raise SourceError(f"{base_url}: no trace {tid} in the collector")
    if response.headers.get("content-type", "").split(";")[0] != PROTOBUF:
        raise SourceError(f"{url}: not an otel-bridge collector (no OTLP protobuf answer)")
    try:
        return from_request(decode_request(response.content))
    except SpanFormatError as exc:
        raise SourceError(f"{url}: {exc}") from exc


def read_collector_many(
    base_url: str,
    trace_ids: list[str],
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> list[list[SpanRecord]]:
    """The spans of each of these traces (up to MAX_BATCH_TRACES), in one request.

    Every span of each trace, in the order of ``trace_ids``; the same lists ``read_collector``
    gives one trace at a time. SourceError when a trace has no spans. A collector older than
    ``GET /api/spans`` is read one trace at a time.
    """
    return download_collector_many(base_url, trace_ids, token=token, client=client)()


def download_collector_many(
    base_url: str,
    trace_ids: list[str],
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Callable[[], list[list[SpanRecord]]]:
    """``read_collector_many`` in two steps: the download now, the decoding when called.

    So a thread can download the next traces while the caller decodes and derives these:
    the download mostly waits, the decoding holds the interpreter.
    """
    if len(trace_ids) > MAX_BATCH_TRACES:
        raise SourceError(f"at most {MAX_BATCH_TRACES} traces per request, got {len(trace_ids)}")
    asked = [format_trace_id(trace_id) for trace_id in trace_ids]
    url = f"{base_url.rstrip('/')}/api/spans"
    with client_for(token, client) as http:
        params = httpx.QueryParams([("trace_id", trace_id) for trace_id in dict.fromkeys(asked)])
        response = get(http, url, params=params, headers={"Accept": PROTOBUF})
        if response.status_code == 404:  # no such route: a collector from before it
            found = [read_collector(base_url, tid, token=token, client=http) for tid in asked]
            return lambda: found
    if response.headers.get("content-type", "").split(";")[0] != PROTOBUF:
        raise SourceError(f"{url}: not an otel-bridge collector (no OTLP protobuf answer)")
    body = response.content
    return lambda: _split(body, asked, url, base_url)


def _split(body: bytes, asked: list[str], url: str, base_url: str) -> list[list[SpanRecord]]:
    """The spans of each asked trace in an answer of ``GET /api/spans``."""
    try:
        groups = group_by_trace(from_request(decode_request(body)))
    except SpanFormatError as exc:
        raise SourceError(f"{url}: {exc}") from exc
    found = []
    for trace_id in asked:
        spans = groups.get(int(trace_id, 16))
        if spans is None:
            raise SourceError(f"{base_url}: no trace {trace_id} in the collector")
        found.append(spans)
    return found


def list_collector(
    base_url: str,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    session: str | None = None,
    task: str | None = None,
    limit: int | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[RunSummary]:
    """The collector's runs, newest first, page by page (``GET /api/traces``).

    A trace without a root span yet (its run is still going) is listed as ``open``. The
    session and task filters are the collector's own (``?session=``, ``?task=``).
    """
    url = f"{base_url.rstrip('/')}/api/traces"
    params: dict[str, Any] = {}
    for name, value in (("start", start_ns), ("end", end_ns), ("session", session), ("task", task)):
        if value is not None:
            params[name] = value
    left = limit
    with client_for(token, client) as http:
        while left is None or left > 0:
            params["limit"] = PAGE_LIMIT if left is None else min(PAGE_LIMIT, left)
            body = json_of(_found(get(http, url, params=params), url))
            if not isinstance(body, dict) or not isinstance(body.get("traces"), list):
                raise SourceError(f"{url}: not an otel-bridge collector (no 'traces' list)")
            for item in body["traces"]:
                yield _summary(item, url)
            if left is not None:
                left -= len(body["traces"])
            cursor = body.get("next_cursor")
            if not cursor or not body["traces"]:
                return
            params["cursor"] = cursor


def collector_run(
    base_url: str,
    trace_id: str | int,
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """The RunTrace JSON the collector derives for a trace (``GET /api/traces/{id}/run``)."""
    tid = format_trace_id(trace_id)
    url = f"{base_url.rstrip('/')}/api/traces/{tid}/run"
    with client_for(token, client) as http:
        response = get(http, url)
    if response.status_code == 404:
        raise SourceError(f"{base_url}: no trace {tid} in the collector")
    body = json_of(response)
    if not isinstance(body, dict) or "agents" not in body:
        raise SourceError(f"{url}: not an otel-bridge collector (no RunTrace JSON)")
    return body


def derived_runs(
    base_url: str,
    trace_ids: list[str],
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> dict[str, dict[str, Any]]:
    """The RunTrace JSON the collector kept for these traces (up to MAX_BATCH_TRACES), by
    trace id, of those it derived with this very code from the spans they have now
    (``GET /api/runs``). A collector of another version, or from before that route, has none.
    """
    if len(trace_ids) > MAX_BATCH_TRACES:
        raise SourceError(f"at most {MAX_BATCH_TRACES} traces per request, got {len(trace_ids)}")
    url = f"{base_url.rstrip('/')}/api/runs"
    params = httpx.QueryParams(
        [("code", derivation_code()), *(("trace_id", format_trace_id(t)) for t in trace_ids)]
    )
    with client_for(token, client) as http:
        response = get(http, url, params=params)
    if response.status_code == 404:  # no such route: a collector from before it
        return {}
    if response.headers.get("content-type", "").split(";")[0] != NDJSON:
        raise SourceError(f"{url}: not an otel-bridge collector (no RunTrace JSON lines)")
    found: dict[str, dict[str, Any]] = {}
    for line in response.content.splitlines():
        try:
            run = json.loads(line)
            found[str(run["trace_id"])] = run
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"{url}: not RunTrace JSON: {printable(repr(exc))}") from exc
    return found


def _found(response: httpx.Response, url: str) -> httpx.Response:
    if response.status_code == 404:
        raise SourceError(f"{url}: not found; is this an otel-bridge collector?")
    return response


def _summary(item: Any, url: str) -> RunSummary:
    """A summary of the trace list; agents, tokens and cost once the collector derived the run."""
    try:
        run = item.get("run")  # absent until the run is derived
        agents = None if run is None else tuple(str(name) for name in run["agents"])
        return RunSummary(
            trace_id=str(item["trace_id"]),
            start_ns=int(item["start_ns"]),
            end_ns=int(item["end_ns"]),
            status="open" if item.get("root_name") is None else item["status"],
            spans=int(item["span_count"]),
            name=item.get("root_name"),
            service=item.get("service"),
            session_id=item.get("session_id"),
            task_id=item.get("task_id"),
            agents=agents,
            total_tokens=None if run is None else run.get("total_tokens"),
            tokens_complete=None if run is None else run.get("tokens_complete"),
            cost_usd=None if run is None else run.get("cost_usd"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{url}: unexpected trace summary: {printable(repr(exc))}") from exc


@register
class CollectorSource(RemoteSource):
    """An otel-bridge collector's query API: ``http://127.0.0.1:4318``."""

    scheme = "collector"
    example = "http://127.0.0.1:4318"
    description = "otel-bridge collector"
    plain_url = True
    filters = frozenset({"session", "task", "limit"})
    batch_traces = MAX_BATCH_TRACES

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        return read_collector(self.location, trace_id, client=self.http)

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        for summary in list_collector(
            self.location,
            start_ns=query.start_ns,
            end_ns=query.end_ns,
            session=query.session,
            task=query.task,
            limit=query.limit,
            client=self.http,
        ):
            yield Listed(summary)

    def read_traces(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[list[SpanRecord]]:
        http = self.http
        return read_batches(
            lambda batch: download_collector_many(self.location, batch, client=http),
            trace_ids,
            prefetch > 0,
            MAX_BATCH_TRACES,
        )

    def run_json(self, trace_id: str) -> dict[str, Any] | None:
        return collector_run(self.location, trace_id, client=self.http)

    def read_derived(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[Derivable]:
        """The runs the collector derived already as RunTrace JSON (``GET /api/runs``), the
        others' spans read in batches as ``read_traces`` reads them; in the order asked."""
        for at in range(0, len(trace_ids), MAX_BATCH_TRACES):
            batch = trace_ids[at : at + MAX_BATCH_TRACES]
            derived = derived_runs(self.location, batch, client=self.http)
            missing = [trace_id for trace_id in batch if trace_id not in derived]
            spans = iter(self.read_traces(missing, prefetch) if missing else ())
            for trace_id in batch:
                yield derived.pop(trace_id) if trace_id in derived else next(spans)
            next(spans, None)  # every run handed over: this ends the reader (and its thread)
