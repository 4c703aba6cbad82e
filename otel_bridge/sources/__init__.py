"""Span sources: where spans are read back from. ``load_spans`` picks one by its argument.

Every source returns ``SpanRecord``s and nothing else; none of them interprets attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import httpx

from ..errors import SourceError
from ..spans import SpanRecord, parse_trace_id
from ._collector import read_collector
from ._files import read_otlp_json
from ._jaeger import read_jaeger, records_from_jaeger_json, records_from_jaeger_v3
from ._memory import MemorySource, read_memory
from ._phoenix import read_phoenix, records_from_phoenix_otlpv1, records_from_phoenix_spans

__all__ = [
    "SOURCE_KINDS",
    "MemorySource",
    "SourceKind",
    "load_spans",
    "parse_source",
    "read_collector",
    "read_jaeger",
    "read_memory",
    "read_otlp_json",
    "read_phoenix",
    "records_from_jaeger_json",
    "records_from_jaeger_v3",
    "records_from_phoenix_otlpv1",
    "records_from_phoenix_spans",
]

SourceKind = Literal["file", "collector", "phoenix", "jaeger", "jaeger-legacy"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
_REMOTE = ("collector", "phoenix", "jaeger", "jaeger-legacy")


def parse_source(source: str | Path, kind: str | None = None) -> tuple[str, str, str | None]:
    """``(kind, location, project)`` of a source string (see ``load_spans`` for the syntax)."""
    text = str(source)
    prefix, plus, rest = text.partition("+")
    if plus and prefix in _REMOTE and rest.startswith(("http://", "https://")):
        if kind is not None and kind != prefix:
            raise SourceError(f"{text}: the URL says {prefix!r} but kind={kind!r}")
        kind, text = prefix, rest
    elif text.startswith("file://"):
        kind, text = kind or "file", text.removeprefix("file://")
    if kind is None:
        kind = "collector" if text.startswith(("http://", "https://")) else "file"
    if kind not in SOURCE_KINDS:
        raise SourceError(f"unknown source kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    if kind == "file":
        return kind, text, None
    if not text.startswith(("http://", "https://")):
        raise SourceError(f"a {kind} source must be an http(s):// URL, got {text!r}")
    project = None
    if kind == "phoenix":
        base, _, path = text.partition("://")[2].partition("/")
        scheme = text.partition("://")[0]
        path = path.strip("/")
        if path:  # the last path segment names the project
            head, _, project = path.rpartition("/")
            text = f"{scheme}://{base}" + (f"/{head}" if head else "")
    return kind, text, project


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
        raise SourceError(f"{source}: pass a trace id (--trace-id) to read from a {kind} source")
    if kind == "collector":
        return read_collector(location, trace_id, token=token, client=client)
    if kind == "phoenix":
        return read_phoenix(
            location, trace_id, project=project or url_project, token=token, client=client
        )
    api = "legacy" if kind == "jaeger-legacy" else "auto"
    return read_jaeger(location, trace_id, api=api, token=token, client=client)
