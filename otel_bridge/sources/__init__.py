"""Span sources: where spans are read back from, and the runs they hold.

Each kind of source is one ``SpanSource`` (``_source``: read a trace, list runs, read many
traces, describe itself), registered under its scheme: ``file`` (an OTLP file, or a folder of
the OpenTelemetry Collector's file exporter output), ``collector``, ``phoenix``, ``jaeger``,
``jaeger-legacy``; a ``Telemetry`` or ``SpanCapture`` is read as ``CaptureSource``.
``load_spans`` reads one trace (or a whole file) from any of them; ``list_runs`` lists the runs
a source holds (``otel-bridge traces``); ``select_runs`` / ``derive_runs`` hand them over one
trace at a time (``derive --all``, ``export``). Every source returns ``SpanRecord``s; the only
attributes read here are a run's labels (``run_labels``: session, MASEval task, repetition),
to filter by them where the backend cannot.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from ..conventions import LABEL_KEYS, RunLabels, run_labels
from ..spans import SpanRecord, format_trace_id
from ._collector import (
    CollectorSource,
    collector_run,
    derived_runs,
    list_collector,
    read_collector,
    read_collector_many,
)
from ._files import FileSource, read_otlp_json
from ._jaeger import read_jaeger, records_from_jaeger_json, records_from_jaeger_v3
from ._jaeger_search import JaegerLegacySource, JaegerSource, jaeger_services, search_jaeger
from ._memory import CaptureSource, MemorySource, read_memory
from ._phoenix import (
    PhoenixSource,
    list_phoenix,
    phoenix_projects,
    read_phoenix,
    records_from_phoenix_otlpv1,
    records_from_phoenix_spans,
)
from ._runs import (
    Runs,
    derive_runs,
    list_runs,
    only_run,
    open_source,
    read_runs,
    run_json_of,
    select_runs,
)
from ._source import (
    Derivable,
    Listed,
    RunQuery,
    SpanSource,
    listed_spans,
    register,
    registered,
    sources_help,
)
from ._summary import RunStatus, RunSummary, time_bound
from ._syntax import SourceKind, parse_source, source_kinds

SOURCE_KINDS: tuple[str, ...] = source_kinds()

__all__ = [
    "LABEL_KEYS",
    "SOURCE_KINDS",
    "CaptureSource",
    "CollectorSource",
    "Derivable",
    "FileSource",
    "JaegerLegacySource",
    "JaegerSource",
    "Listed",
    "MemorySource",
    "PhoenixSource",
    "RunLabels",
    "RunQuery",
    "RunStatus",
    "RunSummary",
    "Runs",
    "SourceKind",
    "SpanSource",
    "collector_run",
    "derive_runs",
    "derived_runs",
    "jaeger_services",
    "list_collector",
    "list_phoenix",
    "list_runs",
    "listed_spans",
    "load_spans",
    "only_run",
    "open_source",
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
    "register",
    "registered",
    "run_json_of",
    "run_labels",
    "search_jaeger",
    "select_runs",
    "source_kinds",
    "sources_help",
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
    - a path (or ``file://path``): an OTLP file (OTLP/JSON, one body or one per line, or the
      OpenTelemetry Collector's file exporter output: JSON lines or length-prefixed protobuf,
      zstd-compressed or not), or a folder of them (rotated files in order);
    - ``http://host:4318`` (or ``collector+http://...``): an otel-bridge collector;
    - ``phoenix+http://host:6006/PROJECT``: Arize Phoenix's REST API (project ``default`` when
      the URL has no path; ``project=`` overrides);
    - ``jaeger+http://host:16686``: Jaeger query, API v3 with a fall back to the legacy API;
      ``jaeger-legacy+http://...`` asks the legacy ``/api/traces`` only.

    ``kind`` (a registered scheme: ``file``, ``collector``, ``phoenix``, ``jaeger``,
    ``jaeger-legacy``) names the source type of a plain URL instead of a prefix. Without
    ``trace_id`` (32 hex characters, or an int) a server must hold exactly one run: it is
    asked, and SourceError says how many it holds otherwise. ``token`` is sent as
    ``Authorization: Bearer <token>``. Raises SourceError when the source cannot be read or
    has no such trace, SpanFormatError when it does not hold spans.
    """
    if isinstance(source, MemorySource):
        return read_memory(source, trace_id)
    with open_source(source, kind=kind, project=project, token=token, client=client) as opened:
        if trace_id is None:
            if isinstance(opened, FileSource):
                return opened.spans()
            trace_id = only_run(opened, name=str(source))
        return opened.read_trace(format_trace_id(trace_id))
