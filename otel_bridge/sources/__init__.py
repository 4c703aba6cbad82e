"""Span sources: where spans are read back from, and the runs they hold.

``load_spans`` reads one trace (or a whole file) from any source; ``list_runs`` lists the runs
a source holds (``otel-bridge traces``); ``select_runs`` / ``derive_runs`` hand them over one
trace at a time (``derive --all``, ``export``). Every source returns ``SpanRecord``s; the only
attributes read here are a run's labels (``run_labels``: session, MASEval task, repetition),
to filter by session where the backend cannot.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from ..conventions import LABEL_KEYS, RunLabels, run_labels
from ..errors import SourceError
from ..spans import SpanRecord, parse_trace_id
from ._collector import collector_run, list_collector, read_collector, read_collector_many
from ._files import read_otlp_json
from ._jaeger import read_jaeger, records_from_jaeger_json, records_from_jaeger_v3
from ._jaeger_search import jaeger_services, search_jaeger
from ._memory import MemorySource, read_memory
from ._phoenix import (
    list_phoenix,
    phoenix_projects,
    read_phoenix,
    records_from_phoenix_otlpv1,
    records_from_phoenix_spans,
)
from ._runs import Runs, derive_runs, list_runs, read_runs, select_runs
from ._summary import RunStatus, RunSummary, time_bound
from ._syntax import SOURCE_KINDS, SourceKind, parse_source

__all__ = [
    "LABEL_KEYS",
    "SOURCE_KINDS",
    "MemorySource",
    "RunLabels",
    "RunStatus",
    "RunSummary",
    "Runs",
    "SourceKind",
    "collector_run",
    "derive_runs",
    "jaeger_services",
    "list_collector",
    "list_phoenix",
    "list_runs",
    "load_spans",
    "parse_source",
    "phoenix_projects",
    "read_collector",
    "read_collector_many",
    "read_jaeger",
    "read_memory",
    "read_otlp_json",
    "read_phoenix",
    "read_runs",
    "records_from_jaeger_json",
    "records_from_jaeger_v3",
    "records_from_phoenix_otlpv1",
    "records_from_phoenix_spans",
    "run_labels",
    "search_jaeger",
    "select_runs",
    "time_bound",
]


def load_spans(
    source: str | Path | MemorySource,
    trace_id: str | int | None = None,
    *,
    project: str | None = None,
    token: str | None = None,
    kind: str | None = None,
    client: httpx.Client | None = None,
) -> list[SpanRecord]:
    """Spans of one trace (or, for files and memory, of all traces) from any source.

    ``source`` is one of:

    - a ``Telemetry`` or ``SpanCapture``: its in-memory capture;
    - a path (or ``file://path``): an OTLP/JSON file, one body or one body per line;
    - ``http://host:4318`` (or ``collector+http://...``): an otel-bridge collector;
    - ``phoenix+http://host:6006/PROJECT``: Arize Phoenix's REST API (project ``default`` when
      the URL has no path; ``project=`` overrides);
    - ``jaeger+http://host:16686``: Jaeger query, API v3 with a fall back to the legacy API;
      ``jaeger-legacy+http://...`` asks the legacy ``/api/traces`` only.

    ``kind`` (``file``, ``collector``, ``phoenix``, ``jaeger``, ``jaeger-legacy``) names the
    source type of a plain URL instead of a prefix. ``trace_id`` (32 hex characters, or an
    int) is required for URLs. ``token`` is sent as ``Authorization: Bearer <token>``.
    Raises SourceError when the source cannot be read or has no such trace, SpanFormatError
    when it does not hold spans.
    """
    if isinstance(source, MemorySource):
        return read_memory(source, trace_id)
    if not isinstance(source, str | Path):
        raise SourceError(f"cannot read spans from a {type(source).__name__}")
    kind, location, url_project = parse_source(source, kind)
    if kind == "file":
        spans = read_otlp_json(location)
        if trace_id is None:
            return spans
        wanted = parse_trace_id(trace_id)
        found = [span for span in spans if span.trace_id == wanted]
        if not found:
            raise SourceError(f"{location}: no spans of trace {wanted:032x}")
        return found
    if trace_id is None:
        raise SourceError(
            f"{source}: a {kind} source holds many runs: pass a trace id (list them with: "
            f"otel-bridge traces {source}), or derive them all with derive_runs / --all"
        )
    if kind == "collector":
        return read_collector(location, trace_id, token=token, client=client)
    if kind == "phoenix":
        return read_phoenix(
            location, trace_id, project=project or url_project, token=token, client=client
        )
    api = "legacy" if kind == "jaeger-legacy" else "auto"
    return read_jaeger(location, trace_id, api=api, token=token, client=client)
