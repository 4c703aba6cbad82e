"""Many runs from one source: list them, and hand over their spans one trace at a time.

``list_runs`` is ``otel-bridge traces``; ``select_runs`` (and ``derive_runs`` over it) is
``derive --all`` and ``export``. A selection lists the runs first (small summaries, so the
count is known and a progress bar can show it), then reads each run's spans when it is its
turn, a few ahead on threads, so memory holds a handful of traces whatever their number. The
collector hands over many traces per request (``GET /api/spans``), about ``BATCH_SPANS`` spans
at a time, the next batch read on a thread while this one is derived.

Order: a file's (or a capture's) own order; newest first for servers. ``limit`` keeps the
newest runs. Runs without a root span yet (``open``: still running, or a root that was never
exported) are listed but not selected unless ``include_open``: deriving half a run would give
wrong totals. The session filter is the backend's own for Phoenix and Jaeger; for files,
captures and the collector (whose query API has no session filter yet) it reads each run's
spans here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ..conventions import run_labels
from ..derivation import derive
from ..errors import SourceError
from ..run_trace import RunTrace
from ..spans import SpanRecord, group_by_trace
from ._collector import (
    MAX_BATCH_TRACES,
    collector_run,
    download_collector_many,
    list_collector,
    read_collector,
)
from ._files import read_otlp_json
from ._http import client_for
from ._jaeger import read_jaeger
from ._jaeger_search import search_jaeger
from ._memory import MemorySource
from ._phoenix import list_phoenix, read_phoenix
from ._reading import drain, read_ahead, read_batches
from ._summary import RunStatus, RunSummary, time_bound
from ._syntax import parse_source

__all__ = ["Runs", "derive_runs", "list_runs", "read_runs", "select_runs"]

Source = str | Path | MemorySource
TimeBound = str | datetime | int | None
PREFETCH = 4  # traces read ahead of the one being derived
# Downloads the spans of many traces; what it returns decodes them (see ``read_batches``).
Downloader = Callable[[list[str], httpx.Client | None], Callable[[], list[list[SpanRecord]]]]


@dataclass(slots=True)
class _Listed:
    """A listed run, with its spans when the listing brought them (files, captures)."""

    summary: RunSummary
    spans: list[SpanRecord] | None = None


@dataclass(slots=True)
class _Plan:
    """How to list and read one source."""

    listing: Callable[[httpx.Client | None], Iterator[_Listed]]
    fetch: Callable[[str, httpx.Client | None], list[SpanRecord]] | None
    run_json: Callable[[str, httpx.Client | None], dict[str, Any]] | None = None
    # many traces per request (the collector): what reading them all goes through
    download_many: Downloader | None = None
    remote: bool = True
    session_filtered: bool = False  # by the backend
    limit: int | None = None  # applied here, after the session filter, when the backend cannot


def list_runs(
    source: Source,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session: str | None = None,
    limit: int | None = None,
    details: bool = True,
    kind: str | None = None,
    project: str | None = None,
    service: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[RunSummary]:
    """The runs a source holds, as ``RunSummary``s (see the module doc for order and filters).

    ``details`` fills ``agents`` and ``total_tokens``, which costs one derivation (or, for a
    collector, one ``/run`` request) per run; without it a listing of thousands of runs from a
    collector takes a few requests. ``since``/``until`` bound the run's start (datetime, Unix
    ns, ISO-8601 or an age such as ``2h``; ``until`` exclusive).
    """
    plan = _plan(source, since, until, session, limit, kind, project, service, token)
    with _http(plan, token, client) as http:
        for listed in _filtered(plan, session, http):
            summary = listed.summary
            if details:
                summary = _detailed(plan, listed, http)
            yield summary


@dataclass(slots=True)
class Runs:
    """Runs selected from a source: their summaries now, their spans one trace at a time."""

    summaries: list[RunSummary]
    skipped_open: list[str] = field(default_factory=list)
    _read: Callable[[], Iterator[list[SpanRecord]]] | None = None

    def __len__(self) -> int:
        return len(self.summaries)

    def __iter__(self) -> Iterator[list[SpanRecord]]:
        """The spans of each selected run, in the order of ``summaries``."""
        return self._read() if self._read is not None else iter(())


def select_runs(
    source: Source,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session: str | None = None,
    limit: int | None = None,
    include_open: bool = False,
    kind: str | None = None,
    project: str | None = None,
    service: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
    prefetch: int = PREFETCH,
) -> Runs:
    """The runs to derive from a source: listed now, read when iterated (one trace at a time).

    Open runs are left out (their ids in ``skipped_open``) unless ``include_open``.
    """
    plan = _plan(source, since, until, session, limit, kind, project, service, token)
    kept: list[_Listed] = []
    skipped: list[str] = []
    with _http(plan, token, client) as http:
        for listed in _filtered(plan, session, http):
            if listed.summary.status == "open" and not include_open:
                skipped.append(listed.summary.trace_id)
            else:
                kept.append(listed)
    summaries = [listed.summary for listed in kept]
    fetch = plan.fetch
    if fetch is None or not plan.remote:
        local = [listed.spans or [] for listed in kept]
        return Runs(summaries, skipped, lambda: drain(local))

    def read() -> Iterator[list[SpanRecord]]:
        with _http(plan, token, client) as http:
            yield from _reader(plan, http, [s.trace_id for s in summaries], prefetch)

    return Runs(summaries, skipped, read)


def read_runs(
    source: str | Path,
    trace_ids: list[str],
    *,
    kind: str | None = None,
    project: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
    prefetch: int = PREFETCH,
) -> Iterator[list[SpanRecord]]:
    """The spans of these runs of a server source, one trace at a time, in this order.

    What a worker process of a parallel export reads: its share of ``select_runs``' ids.
    """
    plan = _plan(source, None, None, None, None, kind, project, None, token)
    fetch = plan.fetch
    if fetch is None or not plan.remote:
        raise SourceError(f"{source}: read_runs reads servers; a file is read whole")
    with _http(plan, token, client) as http:
        yield from _reader(plan, http, trace_ids, prefetch)


def derive_runs(source: Source, **options: Any) -> Iterator[RunTrace]:
    """One RunTrace per selected run, derived one at a time (options of ``select_runs``)."""
    for spans in select_runs(source, **options):
        yield derive(spans)


# ---- per source ---------------------------------------------------------------------------------


def _plan(
    source: Source,
    since: TimeBound,
    until: TimeBound,
    session: str | None,
    limit: int | None,
    kind: str | None,
    project: str | None,
    service: str | None,
    token: str | None,
) -> _Plan:
    if limit is not None and limit < 1:
        raise SourceError(f"limit must be at least 1, got {limit}")
    start_ns, end_ns = time_bound(since, "since"), time_bound(until, "until")
    if isinstance(source, MemorySource):
        spans = source.spans()
        return _Plan(lambda _: _local(spans, start_ns, end_ns, limit), None, remote=False)
    if not isinstance(source, str | Path):
        raise SourceError(f"cannot read spans from a {type(source).__name__}")
    kind, location, url_project = parse_source(source, kind)
    if kind == "file":
        return _Plan(
            lambda _: _local(read_otlp_json(location), start_ns, end_ns, limit), None, remote=False
        )
    if kind == "collector":
        # No session filter in the query API: the limit applies after filtering, here.
        cut = None if session else limit
        return _Plan(
            lambda http: _wrap(
                list_collector(location, limit=cut, client=http, start_ns=start_ns, end_ns=end_ns)
            ),
            lambda tid, http: read_collector(location, tid, client=http),
            lambda tid, http: collector_run(location, tid, client=http),
            limit=limit if session else None,
            download_many=lambda ids, http: download_collector_many(location, ids, client=http),
        )
    if kind == "phoenix":
        name = project or url_project
        return _Plan(
            lambda http: _wrap(
                list_phoenix(
                    location,
                    project=name,
                    session=session,
                    limit=limit,
                    client=http,
                    start_ns=start_ns,
                    end_ns=end_ns,
                )
            ),
            lambda tid, http: read_phoenix(location, tid, project=name, client=http),
            session_filtered=True,
        )
    api = "legacy" if kind == "jaeger-legacy" else "auto"
    return _Plan(
        lambda http: (
            _listed_spans(spans)
            for spans in search_jaeger(
                location,
                service=service,
                session=session,
                limit=limit,
                client=http,
                start_ns=start_ns,
                end_ns=end_ns,
            )
        ),
        lambda tid, http: read_jaeger(location, tid, api=api, client=http),
        session_filtered=True,
    )


def _wrap(summaries: Iterable[RunSummary]) -> Iterator[_Listed]:
    return (_Listed(summary) for summary in summaries)


def _local(
    spans: list[SpanRecord], start_ns: int | None, end_ns: int | None, limit: int | None
) -> Iterator[_Listed]:
    """Runs of spans held in memory, in their order; ``limit`` keeps the newest."""
    listed = [
        item
        for item in (_listed_spans(members) for members in group_by_trace(spans).values())
        if (start_ns is None or item.summary.start_ns >= start_ns)
        and (end_ns is None or item.summary.start_ns < end_ns)
    ]
    if limit is not None and len(listed) > limit:
        newest = sorted(listed, key=lambda item: -item.summary.start_ns)[:limit]
        keep = {id(item) for item in newest}
        listed = [item for item in listed if id(item) in keep]
    return iter(listed)


def _listed_spans(spans: list[SpanRecord]) -> _Listed:
    """A run's summary read off its spans (no derivation)."""
    roots = [s for s in spans if s.parent_id is None]
    root = roots[0] if roots else None
    status: RunStatus = "open" if root is None else "error" if root.status == "ERROR" else "ok"
    service = (root or spans[0]).resource.get("service.name")
    summary = RunSummary(
        trace_id=spans[0].trace_id_hex,
        start_ns=min(s.start_ns for s in spans),
        end_ns=max(s.end_ns for s in spans),
        status=status,
        spans=len(spans),
        name=root.name if root else None,
        service=None if service is None else str(service),
        session_id=run_labels(spans)["session_id"],
    )
    return _Listed(summary, spans)


def _filtered(plan: _Plan, session: str | None, http: httpx.Client | None) -> Iterator[_Listed]:
    """The listing, with the session filter applied here where the backend has none."""
    if session is None or plan.session_filtered:
        yield from plan.listing(http)
        return
    found = 0
    for listed in plan.listing(http):
        if plan.limit is not None and found >= plan.limit:
            return
        if listed.spans is None and plan.fetch is not None:
            labels = run_labels(plan.fetch(listed.summary.trace_id, http))
            listed.summary = replace(listed.summary, session_id=labels["session_id"])
        if listed.summary.session_id == session:
            found += 1
            yield listed


def _detailed(plan: _Plan, listed: _Listed, http: httpx.Client | None) -> RunSummary:
    """The summary with agents and tokens: from the collector's derived run, else derived here."""
    if plan.run_json is not None:
        return listed.summary.with_trace(plan.run_json(listed.summary.trace_id, http))
    spans = listed.spans
    if spans is None and plan.fetch is not None:
        spans = plan.fetch(listed.summary.trace_id, http)
    return listed.summary.with_trace(derive(spans or []))


def _http(plan: _Plan, token: str | None, client: httpx.Client | None) -> Any:
    """One client for every request of a listing or a read (none for local sources)."""
    if not plan.remote:
        return _Null()
    return client_for(token, client)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _reader(
    plan: _Plan, http: httpx.Client | None, ids: list[str], prefetch: int
) -> Iterator[list[SpanRecord]]:
    """The spans of each run, many per request where the source can, else one by one."""
    fetch, download_many = plan.fetch, plan.download_many
    if download_many is not None:
        return read_batches(
            lambda batch: download_many(batch, http), ids, prefetch > 0, MAX_BATCH_TRACES
        )
    assert fetch is not None  # a remote plan reads traces one way or the other
    return read_ahead(lambda tid: fetch(tid, http), ids, prefetch)
