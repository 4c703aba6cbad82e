"""The span source interface, and the registry of sources by scheme.

A source is one class behind ``SpanSource`` (four methods, in the manner of OpenTelemetry's
``SpanExporter``): read a trace's spans, list the runs it holds with filters, read many
traces in batches, and say what it is. Each kind registers itself under its scheme
(``register``); the source syntax (``_syntax``), ``load_spans``, the run planning (``_runs``)
and the CLI's help all ask the registry, so adding a source is one module and its tests.
A source that derives runs itself (the collector) also hands over their RunTrace JSON
(``run_json``, ``read_derived``), so that they are not derived twice.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx

from ..conventions import run_labels
from ..errors import ConfigError, SourceError
from ..spans import SpanRecord, group_by_trace
from ._http import DEFAULT_TIMEOUT_S
from ._reading import read_ahead
from ._summary import RunStatus, RunSummary

__all__ = [
    "Derivable",
    "Listed",
    "RemoteSource",
    "RunQuery",
    "SpanSource",
    "listed_spans",
    "local_runs",
    "register",
    "registered",
    "source_class",
    "sources_help",
]

Filter = Literal["session", "task", "limit"]
Derivable = list[SpanRecord] | dict[str, Any]
"""A run to export: its spans, or its RunTrace JSON when its source derived it already."""


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs to list: start bounds (Unix ns; ``end_ns`` exclusive), labels, how many."""

    start_ns: int | None = None
    end_ns: int | None = None
    session: str | None = None
    task: str | None = None
    limit: int | None = None  # the newest ones


@dataclass(slots=True)
class Listed:
    """A listed run, with its spans when the listing brought them (files, captures, Jaeger)."""

    summary: RunSummary
    spans: list[SpanRecord] | None = None


class SpanSource(ABC):
    """Where spans are read back from: a file, a capture, a collector, Phoenix, Jaeger.

    ``filters`` names what ``list_runs`` filters by itself; the rest (session, task, then the
    limit) is applied by the caller over the listing, reading each run's labels.
    """

    scheme: ClassVar[str]  # how the syntax names it: ``phoenix`` in ``phoenix+http://...``
    example: ClassVar[str]  # a source of this kind, for the help
    description: ClassVar[str]  # what it is, in a few words
    remote: ClassVar[bool] = True  # read over HTTP: a run list first, each run's spans later
    plain_url: ClassVar[bool] = False  # the kind of an http(s):// URL without a prefix
    filters: ClassVar[frozenset[Filter]] = frozenset()
    batch_traces: ClassVar[int] = 1  # traces read in one request

    def __init__(
        self,
        location: str,
        *,
        project: str | None = None,
        service: str | None = None,
        token: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.location = location
        self.project, self.service = project, service
        self._token, self._client, self._own = token, client, client is None

    @classmethod
    def split_url(cls, url: str) -> tuple[str, str | None]:
        """``(base URL, project)`` of a URL of this kind (a project only where it has them)."""
        return url, None

    @abstractmethod
    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        """Every span of one trace (32 hex characters); SourceError when it has none."""

    @abstractmethod
    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        """The runs the source holds: a file's own order, newest first for servers."""

    def read_traces(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[list[SpanRecord]]:
        """The spans of these traces in this order, ``prefetch`` of them read ahead."""
        return read_ahead(self.read_trace, trace_ids, prefetch)

    def run_json(self, trace_id: str) -> dict[str, Any] | None:
        """The RunTrace JSON the source derives itself, if it does (a collector)."""
        return None

    def read_derived(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[Derivable]:
        """Each of these runs in this order: its RunTrace JSON where the source has derived it
        already, by this very code (``derivation_code()``: a collector), else its spans."""
        return self.read_traces(trace_ids, prefetch)

    def describe(self) -> str:
        """What this source is, for messages: ``otel-bridge collector at http://...``."""
        return f"{self.description} at {self.location}"

    def close(self) -> None:  # noqa: B027  (most sources hold nothing)
        """Release what the source holds (a connection)."""

    def __enter__(self) -> SpanSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteSource(SpanSource):
    """A source read over HTTP, through one client for all its requests."""

    remote = True

    @property
    def http(self) -> httpx.Client:
        """The caller's client, or one of this source's own (closed with it)."""
        with _CLIENT_LOCK:  # read-ahead threads may ask first
            if self._client is None:
                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                self._client = httpx.Client(headers=headers, timeout=DEFAULT_TIMEOUT_S)
            return self._client

    def close(self) -> None:
        if self._own and self._client is not None:
            self._client.close()
            self._client = None


_CLIENT_LOCK = threading.Lock()
_REGISTRY: dict[str, type[SpanSource]] = {}


def register(cls: type[SpanSource]) -> type[SpanSource]:
    """Class decorator: make a source kind known under its ``scheme``."""
    if cls.scheme in _REGISTRY and _REGISTRY[cls.scheme] is not cls:
        raise ConfigError(f"a source is already registered as {cls.scheme!r}")
    _REGISTRY[cls.scheme] = cls
    return cls


def registered() -> dict[str, type[SpanSource]]:
    """The source kinds by scheme: files first, then the plain URL's kind, then by name."""
    ranked = sorted(_REGISTRY.items(), key=lambda item: (item[1].remote, not item[1].plain_url))
    return dict(ranked)


def source_class(scheme: str) -> type[SpanSource]:
    """The source kind registered as ``scheme``; SourceError naming the known ones."""
    found = _REGISTRY.get(scheme)
    if found is None:
        raise SourceError(f"unknown source kind {scheme!r}; use one of {', '.join(_REGISTRY)}")
    return found


def sources_help() -> str:
    """The CLI's list of sources (a click epilog: ``\\b`` keeps its lines)."""
    width = max(len(cls.example) for cls in _REGISTRY.values()) + 2
    lines = [f"{cls.example:<{width}} {cls.description}" for cls in registered().values()]
    return "\b\nSOURCE is one of:\n" + "\n".join(lines) + "\n"


def listed_spans(spans: list[SpanRecord]) -> Listed:
    """A run's summary read off its spans (no derivation), with the spans."""
    roots = [s for s in spans if s.parent_id is None]
    root = roots[0] if roots else None
    status: RunStatus = "open" if root is None else "error" if root.status == "ERROR" else "ok"
    service = (root or spans[0]).resource.get("service.name")
    labels = run_labels(spans)
    summary = RunSummary(
        trace_id=spans[0].trace_id_hex,
        start_ns=min(s.start_ns for s in spans),
        end_ns=max(s.end_ns for s in spans),
        status=status,
        spans=len(spans),
        name=root.name if root else None,
        service=None if service is None else str(service),
        session_id=labels["session_id"],
        task_id=labels["task_id"],
    )
    return Listed(summary, spans)


def local_runs(spans: list[SpanRecord], query: RunQuery) -> Iterator[Listed]:
    """The runs of spans held in memory, in their order, filtered; ``limit`` keeps the newest."""
    listed = [listed_spans(members) for members in group_by_trace(spans).values()]
    kept = [
        item
        for item in listed
        if (query.start_ns is None or item.summary.start_ns >= query.start_ns)
        and (query.end_ns is None or item.summary.start_ns < query.end_ns)
        and (query.session is None or item.summary.session_id == query.session)
        and (query.task is None or item.summary.task_id == query.task)
    ]
    if query.limit is not None and len(kept) > query.limit:
        newest = sorted(kept, key=lambda item: -item.summary.start_ns)[: query.limit]
        keep = {id(item) for item in newest}
        kept = [item for item in kept if id(item) in keep]
    return iter(kept)
