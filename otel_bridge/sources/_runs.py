"""Many runs from one source: list them, and hand over their spans one trace at a time.

``list_runs`` is ``otel-bridge traces``; ``select_runs`` (and ``derive_runs`` over it) is
``derive --all`` and ``export``. A selection lists the runs first (small summaries, so the
count is known and a progress bar can show it), then reads each run's spans when it is its
turn (``SpanSource.read_traces``: a few ahead on threads, or many per request from a
collector, or streamed from files), so memory holds a handful of traces whatever their number.

Order: a file's (or a capture's) own order; newest first for servers. ``limit`` keeps the
newest runs. Runs without a root span yet (``open``: still running, or a root that was never
exported) are listed but not selected unless ``include_open``: deriving half a run would give
wrong totals. A filter the source cannot apply itself (``SpanSource.filters``) is applied
here, reading each run's labels off its spans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ..conventions import run_labels
from ..derivation import derive
from ..errors import SourceError
from ..run_json import RunTraceJSON, as_run_json
from ..run_trace import RunTrace
from ..spans import SpanRecord, format_trace_id
from ._memory import CaptureSource, MemorySource
from ._reading import drain
from ._source import Derivable, Listed, RunQuery, SpanSource, source_class
from ._summary import RunSummary, time_bound
from ._syntax import parse_source

__all__ = [
    "Runs",
    "derive_runs",
    "list_runs",
    "only_run",
    "open_source",
    "read_runs",
    "run_json_of",
    "select_runs",
]

Source = str | Path | MemorySource
TimeBound = str | datetime | int | None
PREFETCH = 4  # traces read ahead of the one being derived


def open_source(
    source: Source | SpanSource,
    *,
    kind: str | None = None,
    project: str | None = None,
    service: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> SpanSource:
    """The ``SpanSource`` a source names (a path, a URL) or wraps (a Telemetry, a capture)."""
    if isinstance(source, SpanSource):
        return source
    if isinstance(source, MemorySource):
        return CaptureSource(source)
    if not isinstance(source, str | Path):
        raise SourceError(f"cannot read spans from a {type(source).__name__}")
    kind, location, url_project = parse_source(source, kind)
    return source_class(kind)(
        location, project=project or url_project, service=service, token=token, client=client
    )


def list_runs(
    source: Source,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session: str | None = None,
    task: str | None = None,
    limit: int | None = None,
    details: bool = True,
    kind: str | None = None,
    project: str | None = None,
    service: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[RunSummary]:
    """The runs a source holds, as ``RunSummary``s (see the module doc for order and filters).

    ``details`` fills ``agents``, ``total_tokens`` and ``cost_usd`` where the listing lacks
    them, which costs one derivation (or, for a collector that has not derived the run yet,
    one ``/run`` request) per run. ``since``/``until`` bound the run's start (datetime, Unix
    ns, ISO-8601 or an age such as ``2h``; ``until`` exclusive).
    """
    query = _query(since, until, session, task, limit)
    with open_source(
        source, kind=kind, project=project, service=service, token=token, client=client
    ) as opened:
        listing = _filtered(opened, query)
        if details and not opened.remote:  # one pass over the files for the spans of all
            listing = _with_spans(opened, list(listing))
        for listed in listing:
            summary = listed.summary
            if details and summary.agents is None:
                summary = _detailed(opened, listed)
            yield summary


@dataclass(slots=True)
class Runs:
    """Runs selected from a source: their summaries now, their spans one trace at a time."""

    summaries: list[RunSummary]
    skipped_open: list[str] = field(default_factory=list)
    source: SpanSource | None = None
    prefetch: int = PREFETCH
    _local: list[list[SpanRecord]] | None = None

    def __len__(self) -> int:
        return len(self.summaries)

    def __iter__(self) -> Iterator[list[SpanRecord]]:
        """The spans of each selected run, in the order of ``summaries``."""
        if self._local is not None:
            local, self._local = self._local, []
            return drain(local)
        if self.source is None:
            return iter(())
        return self._read(self.source)

    def _read(self, source: SpanSource) -> Iterator[list[SpanRecord]]:
        with source:
            yield from source.read_traces([s.trace_id for s in self.summaries], self.prefetch)

    def derivable(self) -> Iterator[Derivable]:
        """Each selected run in the order of ``summaries``: its RunTrace JSON where the source
        derived it already (``SpanSource.read_derived``), else its spans."""
        if self._local is not None or self.source is None:
            return iter(self)
        return self._read_derived(self.source)

    def _read_derived(self, source: SpanSource) -> Iterator[Derivable]:
        with source:
            yield from source.read_derived([s.trace_id for s in self.summaries], self.prefetch)


def select_runs(
    source: Source,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session: str | None = None,
    task: str | None = None,
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
    query = _query(since, until, session, task, limit)
    opened = open_source(
        source, kind=kind, project=project, service=service, token=token, client=client
    )
    kept: list[Listed] = []
    skipped: list[str] = []
    try:
        for listed in _filtered(opened, query):
            if listed.summary.status == "open" and not include_open:
                skipped.append(listed.summary.trace_id)
            else:
                kept.append(listed)
    except BaseException:
        opened.close()
        raise
    summaries = [listed.summary for listed in kept]
    if kept and all(listed.spans is not None for listed in kept):  # the listing brought them
        opened.close()
        return Runs(summaries, skipped, _local=[listed.spans or [] for listed in kept])
    return Runs(summaries, skipped, opened, prefetch)


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
    """The spans of these runs, one trace at a time, in this order.

    What a worker process of a parallel export reads: its share of ``select_runs``' ids.
    """
    opened = open_source(source, kind=kind, project=project, token=token, client=client)
    with opened:
        yield from opened.read_traces([format_trace_id(t) for t in trace_ids], prefetch)


def run_json_of(run: Derivable) -> RunTraceJSON:
    """A run's RunTrace JSON: as its source derived it already, else derived from its spans
    (with the bundled prices, as the source derives)."""
    return as_run_json(run) if isinstance(run, dict) else derive(run).to_dict()


def derive_runs(source: Source, **options: Any) -> Iterator[RunTrace]:
    """One RunTrace per selected run, derived one at a time (options of ``select_runs``)."""
    for spans in select_runs(source, **options):
        yield derive(spans)


def only_run(
    source: Source | SpanSource,
    *,
    kind: str | None = None,
    project: str | None = None,
    service: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
    name: str | None = None,
    every_run: str = "--all",
) -> str:
    """The trace id of the one run a source holds; SourceError saying how many it holds else.

    Asks the source (so an unreachable one says so), at most ``COUNT_UP_TO`` runs deep.
    ``name`` is how messages name the source (default: as given); ``every_run`` how to take
    them all.
    """
    if name is None:
        name = source.location if isinstance(source, SpanSource) else str(source)
    with open_source(
        source, kind=kind, project=project, service=service, token=token, client=client
    ) as opened:
        listing = opened.list_runs(RunQuery(limit=COUNT_UP_TO))
        found = [listed.summary.trace_id for listed in listing]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SourceError(f"{name}: holds no runs")
    many = f"{len(found)}" if len(found) < COUNT_UP_TO else f"{COUNT_UP_TO:,} or more"
    raise SourceError(
        f"{name} holds {many} runs: pass --trace-id ID (list them with: otel-bridge traces "
        f"{name}) or {every_run}"
    )


COUNT_UP_TO = 1000  # one page of a collector's list


# ---- filters ------------------------------------------------------------------------------------


def _query(
    since: TimeBound, until: TimeBound, session: str | None, task: str | None, limit: int | None
) -> RunQuery:
    if limit is not None and limit < 1:
        raise SourceError(f"limit must be at least 1, got {limit}")
    return RunQuery(time_bound(since, "since"), time_bound(until, "until"), session, task, limit)


def _filtered(source: SpanSource, query: RunQuery) -> Iterator[Listed]:
    """The listing, with the label filters the source has not applied itself applied here."""
    wanted = {
        name: value
        for name, value in (("session", query.session), ("task", query.task))
        if value is not None and name not in source.filters
    }
    if not wanted:
        yield from source.list_runs(query)
        return
    # The source cannot filter: it lists every run, and the limit applies after the filter.
    limit = query.limit
    if "limit" in source.filters:
        query = replace(query, limit=None)
    found = 0
    for listed in source.list_runs(query):
        if limit is not None and found >= limit:
            return
        summary = listed.summary
        if any(getattr(summary, f"{name}_id") is None for name in wanted):
            spans = (
                listed.spans if listed.spans is not None else source.read_trace(summary.trace_id)
            )
            labels = run_labels(spans)
            summary = listed.summary = replace(
                summary, session_id=labels["session_id"], task_id=labels["task_id"]
            )
        if all(getattr(summary, f"{name}_id") == value for name, value in wanted.items()):
            found += 1
            yield listed


def _with_spans(source: SpanSource, listed: list[Listed]) -> Iterator[Listed]:
    """The runs, each with its spans (read in one pass where the listing did not bring them)."""
    unread = [item for item in listed if item.spans is None]
    spans = source.read_traces([item.summary.trace_id for item in unread])
    for item in listed:
        if item.spans is None:
            item.spans = next(spans)
        yield item
        item.spans = None  # let the spans go once summarised


def _detailed(source: SpanSource, listed: Listed) -> RunSummary:
    """The summary with agents, tokens and cost: the source's own derived run, else derived here."""
    run = source.run_json(listed.summary.trace_id)
    if run is not None:
        return listed.summary.with_trace(run)
    spans = listed.spans
    if spans is None:
        spans = source.read_trace(listed.summary.trace_id)
    return listed.summary.with_trace(derive(spans))
