"""Files as a span source: one OTLP file, or a folder of them (the Collector's file exporter).

A file holds OTLP/JSON (one body, or one per line: what Telemetry writes) or what the
OpenTelemetry Collector's ``file`` exporter writes, in any of its encodings (``_framing``). A
folder is every file under it (hidden ones aside), each rotation chain in order: the exporter
renames a full ``spans.json`` to ``spans-2026-11-23T17-00-00.000.json`` (its timestamp in the
name) and starts a new ``spans.json``, so the backups come first, oldest first, then the file
being written. A trace split across messages and files is joined.

Reading is two passes over the messages, so that memory holds only the traces being read, not
the folder: the listing notes where each trace's spans end (``_Scan``); reading the runs then
goes through the messages again and hands each trace over at its last message.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from ..conventions import run_labels
from ..errors import SourceError
from ..otlp import from_request
from ..spans import SpanRecord, format_trace_id, parse_trace_id
from ._framing import Message, read_messages
from ._source import Listed, RunQuery, SpanSource, register
from ._summary import RunStatus, RunSummary

__all__ = ["FileSource", "read_otlp_json", "span_files"]

MAX_LISTING_WORKERS = 4
LISTING_BYTES_PER_WORKER = 64 * 2**20  # below this, a process costs more than it saves

# lumberjack's (and timberjack's) backup names: NAME-2006-01-02T15-04-05.000[-reason].EXT
_BACKUP = re.compile(r"^(?P<stem>.*)-(?P<time>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})(?:-[a-z]+)?$")


def read_otlp_json(path: str | Path) -> list[SpanRecord]:
    """Every span in an OTLP file or folder (any encoding the Collector's file exporter writes).

    SourceError when it cannot be read, SpanFormatError when it holds no OTLP.
    """
    return [span for message in _requests(span_files(Path(path))) for span in _records(message)]


def span_files(path: Path) -> list[Path]:
    """The file, or the files under a folder in reading order (rotation chains in order)."""
    if path.is_dir():
        found = [
            item
            for item in path.rglob("*")
            if item.is_file()
            and not any(part.startswith(".") for part in item.relative_to(path).parts)
        ]
        if not found:
            raise SourceError(
                f"{path}: is a directory holding no files: pass an OTLP file, or a directory "
                "of the OpenTelemetry Collector's file exporter output"
            )
        return sorted(found, key=_reading_order)
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    return [path]


def _reading_order(path: Path) -> tuple[str, str, int, str]:
    """Folder, rotation chain (the live file's name), then backups by time, the live file last."""
    stem = path.name[: len(path.name) - len(path.suffix)] if path.suffix else path.name
    backup = _BACKUP.match(stem)
    if backup is None:
        return str(path.parent), path.name, 1, ""
    return str(path.parent), backup.group("stem") + path.suffix, 0, backup.group("time")


def _requests(files: Iterable[Path], warn: bool = True) -> Iterator[Message]:
    for path in files:
        yield from read_messages(path, warn)


def _records(message: Message) -> list[SpanRecord]:
    return message if isinstance(message, list) else from_request(message)


@dataclass(slots=True)
class _Trace:
    """What the listing pass learns of one trace."""

    order: int  # first seen
    start_ns: int
    end_ns: int
    first_message: int = 0
    spans: int = 0
    last_message: int = 0
    root: SpanRecord | None = None
    errors: int = 0


@dataclass(slots=True)
class _Scan:
    """Every trace in the files, by trace id bytes, and how many messages there are."""

    traces: dict[bytes, _Trace] = field(default_factory=dict)
    messages: int = 0
    per_file: list[int] = field(default_factory=list)  # messages in each file, in order


@register
class FileSource(SpanSource):
    """An OTLP file, or a folder of the Collector's file exporter output."""

    scheme = "file"
    example = "run.otlp.json, DIR/"
    description = "OTLP file, or a file exporter's folder"
    remote = False
    filters = frozenset({"session", "task", "limit"})

    def __init__(self, location: str, **options: object) -> None:
        super().__init__(location)
        self.path = Path(location)
        self.files = span_files(self.path)
        self._scan: _Scan | None = None

    def describe(self) -> str:
        what = "folder" if self.path.is_dir() else "file"
        return f"OTLP {what} {self.location}"

    def spans(self) -> list[SpanRecord]:
        """Every span in the file or folder."""
        return [span for message in _requests(self.files) for span in _records(message)]

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        wanted = parse_trace_id(trace_id)
        found = next(self.read_traces([f"{wanted:032x}"]), [])
        if not found:
            raise SourceError(f"{self.location}: no spans of trace {wanted:032x}")
        return found

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        """The runs in the order they end in the files (a single body: its own order)."""
        scan = self.scan()
        listed = []
        for raw, trace in scan.traces.items():
            if query.start_ns is not None and trace.start_ns < query.start_ns:
                continue
            if query.end_ns is not None and trace.start_ns >= query.end_ns:
                continue
            listed.append((trace.last_message, trace.order, _summary(raw, trace)))
        listed.sort(key=lambda item: (item[0], item[1]))
        runs = [summary for _, _, summary in listed]
        for name in ("session", "task"):
            value = getattr(query, name)
            if value is not None:
                runs = [run for run in runs if getattr(run, f"{name}_id") == value]
        if query.limit is not None and len(runs) > query.limit:
            keep = {id(s) for s in sorted(runs, key=lambda s: -s.start_ns)[: query.limit]}
            runs = [run for run in runs if id(run) in keep]
        return (Listed(run) for run in runs)

    def read_traces(self, trace_ids: list[str], prefetch: int = 0) -> Iterator[list[SpanRecord]]:
        """The spans of these traces, each handed over at its last message, in this order.

        Only the messages from the first that holds one of them to the last are read. In the
        order ``list_runs`` gives them, memory holds only the traces that have begun and not
        yet ended in the files; any other order holds the ones waiting their turn.
        """
        scan = self.scan()
        wanted = [bytes.fromhex(format_trace_id(tid)) for tid in trace_ids]
        missing = [raw for raw in wanted if raw not in scan.traces]
        if missing:
            raise SourceError(f"{self.location}: no spans of trace {missing[0].hex()}")
        if not wanted:
            return
        keys = {int.from_bytes(raw, "big") for raw in wanted}
        ends_at: dict[int, list[int]] = {}
        for raw in wanted:
            ends_at.setdefault(scan.traces[raw].last_message, []).append(int.from_bytes(raw, "big"))
        first = min(scan.traces[raw].first_message for raw in wanted)
        last = max(ends_at)
        order = [int.from_bytes(raw, "big") for raw in wanted]
        pending: dict[int, list[SpanRecord]] = {}
        done: dict[int, list[SpanRecord]] = {}
        turn = 0
        for number, request in self._messages_from(first):
            for span in _records(request):
                if span.trace_id in keys:
                    group = pending.get(span.trace_id)
                    if group is None:
                        group = pending[span.trace_id] = []
                    group.append(span)
            for key in ends_at.get(number, ()):
                done[key] = pending.pop(key, [])
            while turn < len(order) and order[turn] in done:
                yield done.pop(order[turn])
                turn += 1
            if number >= last:
                return

    def scan(self) -> _Scan:
        """The listing pass (once): each trace's time range, spans, root and last message.

        The files of a large folder are listed side by side by forked processes, one file at a
        time each, and their listings joined in reading order: the same listing, sooner.
        """
        if self._scan is None:
            workers = _listing_workers(self.files)
            if workers > 1:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(workers, mp_context=context) as pool:
                    self._scan = _joined(pool.map(_scan_file, self.files))
            else:
                self._scan = _joined(map(_scan_file, self.files))
        return self._scan

    def _messages_from(self, first: int) -> Iterator[tuple[int, Message]]:
        """The messages from number ``first`` on, numbered as the listing numbered them.

        The files before it are not opened, and the messages before it in its file are not
        decoded (length-prefixed ones: JSON lines are parsed to be counted). A file read no
        further than the listing did: what a collector appended since waits for a new listing.
        """
        start = 0
        for path, count in zip(self.files, self.scan().per_file, strict=True):
            if start + count > first:
                skip = max(0, first - start)
                numbered = enumerate(read_messages(path, warn=False, skip=skip), start + skip)
                for number, message in numbered:
                    if number >= start + count:
                        break
                    yield number, message
            start += count


def _listing_workers(files: list[Path]) -> int:
    """Processes to list the files with: one per CPU (up to MAX_LISTING_WORKERS) for folders
    of LISTING_BYTES_PER_WORKER or more a process; one where forking is not safe (a process
    running threads: a fork copies no other thread, so what one held locked stays locked)."""
    if len(files) < 2 or sys.platform != "linux" or len(os.listdir("/proc/self/task")) > 1:
        return 1
    size = sum(path.stat().st_size for path in files)
    by_size = size // LISTING_BYTES_PER_WORKER
    return max(1, min(MAX_LISTING_WORKERS, os.cpu_count() or 1, len(files), by_size))


def _scan_file(path: Path) -> _Scan:
    """The listing pass over one file, its messages numbered from 0."""
    scan = _Scan()
    _scan(scan, read_messages(path))
    scan.per_file.append(scan.messages)
    return scan


def _joined(scans: Iterable[_Scan]) -> _Scan:
    """The listings of files, in reading order, as one: what listing them in turn gives."""
    joined = _Scan()
    traces = joined.traces
    for scan in scans:
        offset = joined.messages
        for raw, trace in scan.traces.items():
            seen = traces.get(raw)
            if seen is None:
                trace.order = len(traces)
                trace.first_message += offset
                trace.last_message += offset
                traces[raw] = trace
                continue
            seen.start_ns = min(seen.start_ns, trace.start_ns)
            seen.end_ns = max(seen.end_ns, trace.end_ns)
            seen.spans += trace.spans
            seen.errors += trace.errors
            seen.last_message = trace.last_message + offset
            if seen.root is None:
                seen.root = trace.root
        joined.messages += scan.messages
        joined.per_file += scan.per_file
    return joined


def _scan(scan: _Scan, messages: Iterable[Message]) -> None:
    """Add the messages of one file to the listing pass."""
    traces = scan.traces
    for number, request in enumerate(messages, scan.messages):
        scan.messages = number + 1
        if isinstance(request, list):
            _scan_records(traces, request, number)
            continue
        for rs in request.resource_spans:
            roots = None
            for ss in rs.scope_spans:
                for span in ss.spans:
                    raw = span.trace_id
                    start = span.start_time_unix_nano
                    end = span.end_time_unix_nano or start
                    trace = traces.get(raw)
                    if trace is None:
                        trace = traces[raw] = _Trace(len(traces), start, end, number)
                    else:
                        trace.start_ns = min(trace.start_ns, start)
                        trace.end_ns = max(trace.end_ns, end)
                    trace.spans += 1
                    trace.last_message = number
                    if span.status.code == 2:
                        trace.errors += 1
                    if not span.parent_span_id and trace.root is None:
                        if roots is None:
                            roots = _roots_of(rs)
                        trace.root = roots.get(span.span_id)


def _scan_records(traces: dict[bytes, _Trace], records: list[SpanRecord], number: int) -> None:
    """The listing pass over a message read as records (JSON)."""
    for span in records:
        raw = span.trace_id.to_bytes(16, "big")
        trace = traces.get(raw)
        if trace is None:
            trace = traces[raw] = _Trace(len(traces), span.start_ns, span.end_ns, number)
        else:
            trace.start_ns = min(trace.start_ns, span.start_ns)
            trace.end_ns = max(trace.end_ns, span.end_ns)
        trace.spans += 1
        trace.last_message = number
        if span.status == "ERROR":
            trace.errors += 1
        if span.parent_id is None and trace.root is None:
            trace.root = span


def _roots_of(rs: ResourceSpans) -> dict[bytes, SpanRecord]:
    """The root spans of one resource's spans, as records (their attributes carry the labels)."""
    request = ExportTraceServiceRequest()
    kept = request.resource_spans.add()
    kept.CopyFrom(rs)
    for ss in kept.scope_spans:
        roots = [span for span in ss.spans if not span.parent_span_id]
        del ss.spans[:]
        ss.spans.extend(roots)
    return {record.span_id.to_bytes(8, "big"): record for record in from_request(request)}


def _summary(raw: bytes, trace: _Trace) -> RunSummary:
    root = trace.root
    status: RunStatus = "open" if root is None else "error" if root.status == "ERROR" else "ok"
    labels = run_labels([root]) if root is not None else None
    service = root.resource.get("service.name") if root is not None else None
    return RunSummary(
        trace_id=raw.hex(),
        start_ns=trace.start_ns,
        end_ns=trace.end_ns,
        status=status,
        spans=trace.spans,
        name=root.name if root else None,
        service=None if service is None else str(service),
        session_id=labels["session_id"] if labels else None,
        task_id=labels["task_id"] if labels else None,
    )
