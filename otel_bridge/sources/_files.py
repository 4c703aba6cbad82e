"""Files as a span source: one OTLP file, or a folder of them (the Collector's file exporter).

A file holds OTLP/JSON (one body, or one per line: what Telemetry writes) or what the
OpenTelemetry Collector's ``file`` exporter writes, in any of its encodings (``_framing``). A
folder is every file under it (hidden ones aside), each rotation chain in order: the exporter
renames a full ``spans.json`` to ``spans-2026-11-23T17-00-00.000.json`` (its timestamp in the
name) and starts a new ``spans.json``, so the backups come first, oldest first, then the file
being written. A trace split across messages and files is joined.

Reading is two passes over the messages, so that memory holds only the traces being read, not
the folder: the listing notes where each trace's spans end (``_file_listing``); reading the
runs then goes through the messages again and hands each trace over at its last message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..conventions import run_labels
from ..errors import SourceError
from ..otlp import from_request
from ..spans import SpanRecord, format_trace_id, parse_trace_id
from ._file_listing import Listing, TraceSeen, list_files
from ._framing import Message, read_messages
from ._source import Listed, RunQuery, SpanSource, register
from ._summary import RunStatus, RunSummary

__all__ = ["FileSource", "read_otlp_json", "span_files"]

# lumberjack's (and timberjack's) backup names: NAME-2006-01-02T15-04-05.000[-reason].EXT
_BACKUP = re.compile(r"^(?P<stem>.*)-(?P<time>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})(?:-[a-z]+)?$")


def read_otlp_json(path: str | Path) -> list[SpanRecord]:
    """Every span in an OTLP file or folder (any encoding the Collector's file exporter writes).

    SourceError when it cannot be read, SpanFormatError when it holds no OTLP.
    """
    return _spans(Path(path), span_files(Path(path)))


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


def _spans(path: Path, files: Iterable[Path]) -> list[SpanRecord]:
    """Every span in the files of ``path`` (a file alone, or a folder's)."""
    alone = not path.is_dir()
    messages = (message for file in files for message in read_messages(file, alone=alone))
    return [span for message in messages for span in _records(message)]


def _records(message: Message) -> list[SpanRecord]:
    return message if isinstance(message, list) else from_request(message)


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
        self._scan: Listing | None = None

    def describe(self) -> str:
        what = "folder" if self.path.is_dir() else "file"
        return f"OTLP {what} {self.location}"

    def spans(self) -> list[SpanRecord]:
        """Every span in the file or folder."""
        return _spans(self.path, self.files)

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

    def scan(self) -> Listing:
        """The listing pass (once): each trace's time range, spans, root and last message."""
        if self._scan is None:
            self._scan = list_files(self.files, alone=not self.path.is_dir())
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


def _summary(raw: bytes, trace: TraceSeen) -> RunSummary:
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
