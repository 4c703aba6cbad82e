"""The listing pass over OTLP files: where each trace's spans begin and end, without keeping them.

What ``FileSource`` lists runs from and reads them by: each trace's time range, span and error
counts, root span, and the first and last message holding its spans (messages numbered across
the files in reading order), and how many messages each file holds.

Large inputs are listed by forked processes side by side, in parts of about ``PART_BYTES``: a
file of length-prefixed messages in stretches of its messages (found from their lengths alone),
any other file whole (JSON lines are known to be messages only once parsed). The parts'
listings, joined in reading order, are the listing of the files read in turn.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby, islice
from multiprocessing.connection import Connection
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from .._fork import fork_safe
from ..errors import SourceError
from ..otlp import from_request
from ..spans import SpanRecord
from ._framing import ListedMessage, frame_offsets, read_messages

__all__ = ["Listing", "TraceSeen", "list_files"]

MAX_WORKERS = 4
PART_BYTES = 8 * 2**20  # a part's size: below two of them, a process costs more than it saves


@dataclass(slots=True)
class TraceSeen:
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
class Listing:
    """Every trace in the files, by trace id bytes, and how many messages there are."""

    traces: dict[bytes, TraceSeen] = field(default_factory=dict)
    messages: int = 0
    per_file: list[int] = field(default_factory=list)  # messages in each file, in order


@dataclass(frozen=True, slots=True)
class _Part:
    """A part of the files listed on its own: a file, or a stretch of its messages."""

    file: int  # its index among the files
    path: Path
    skip: int = 0  # messages before the stretch
    count: int | None = None  # messages in the stretch (None: the whole file)


def list_files(files: list[Path], alone: bool = True) -> Listing:
    """The listing of the files in reading order (by processes side by side when large).

    ``alone``: one file, not a folder's, so that holding no whole message is an error (in a
    folder, a warning: the collector stopped while writing the first message of a new file).
    """
    parts, workers = _plan(files)
    if workers > 1:
        listed = _side_by_side(parts, workers, alone)
    else:
        listed = [_list_part(part, alone) for part in parts]
    joined: list[tuple[int, Listing]] = []
    for file, group in groupby(zip(parts, listed, strict=True), key=lambda done: done[0].file):
        done = list(group)
        if any(listing is None for _, listing in done):  # a stretch that did not read whole
            joined.append((file, _list_whole(done[0][0].path, alone)))  # again, in turn
        else:
            joined += [(file, listing) for _, listing in done if listing is not None]
    return _joined(joined)


def _plan(files: list[Path]) -> tuple[list[_Part], int]:
    """The files as parts listed on their own, and how many processes list them.

    A large file of length-prefixed messages is cut into stretches of its messages, any other
    file is a part whole. One process per CPU (up to MAX_WORKERS) for two parts or more of
    PART_BYTES in all; one where this process cannot be forked safely (``fork_safe``).
    """
    cpus = min(MAX_WORKERS, os.cpu_count() or 1) if fork_safe() else 1
    if cpus == 1:
        return [_Part(index, path) for index, path in enumerate(files)], 1
    sizes = [path.stat().st_size for path in files]
    parts = []
    for index, (path, size) in enumerate(zip(files, sizes, strict=True)):
        offsets = frame_offsets(path) if size >= 2 * PART_BYTES else None
        if offsets is None or len(offsets) < 2:
            parts.append(_Part(index, path))
            continue
        # As many stretches for each process (of about PART_BYTES or more), so none waits.
        stretches = min(len(offsets), cpus * max(1, size // (cpus * PART_BYTES)))
        # Stretches of about equal bytes: each begins at the first message past its share.
        shares = (size * k // stretches for k in range(stretches))
        firsts = {next((n for n, at in enumerate(offsets) if at >= share), 0) for share in shares}
        starts = sorted(firsts)
        ends = [*starts[1:], len(offsets)]
        parts += [_Part(index, path, a, b - a) for a, b in zip(starts, ends, strict=True)]
    return parts, max(1, min(cpus, len(parts), sum(sizes) // PART_BYTES))


def _side_by_side(parts: list[_Part], workers: int, alone: bool) -> list[Listing | None]:
    """Each part's listing, by ``workers`` forked processes, each every ``workers``-th part.

    Plain processes and pipes: a pool would leave this process a thread for a moment after,
    and a process running threads is not forked again (the export's workers would be spawned).
    """
    context = multiprocessing.get_context("fork")
    shares = [list(range(first, len(parts), workers)) for first in range(workers)]
    pipes, processes = [], []
    try:
        for share in shares:
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_list_share, args=([parts[n] for n in share], alone, send), daemon=True
            )
            process.start()
            send.close()
            pipes.append(receive)
            processes.append(process)
        listed: list[Listing | None] = [None] * len(parts)
        for share, receive, process in zip(shares, pipes, processes, strict=True):
            try:
                result = receive.recv()
            except EOFError:
                process.join()
                raise SourceError(
                    f"the process listing {parts[share[0]].path} and other files stopped "
                    f"(exit code {process.exitcode})"
                ) from None
            if isinstance(result, BaseException):
                raise result
            for n, listing in zip(share, result, strict=True):
                listed[n] = listing
        return listed
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _list_share(parts: list[_Part], alone: bool, send: Connection) -> None:
    """In a forked process: the parts' listings, or what stopped them, sent back."""
    # What it reads makes no reference cycles, and the process ends with its parts: the cycle
    # collector's passes over every parsed message are spared.
    gc.disable()
    result: list[Listing | None] | BaseException
    try:
        result = [_list_part(part, alone) for part in parts]
    except BaseException as exc:  # handed to the parent, which raises it
        result = exc
    send.send(result)
    send.close()


def _list_part(part: _Part, alone: bool) -> Listing | None:
    """A part's listing, its messages numbered from 0; None for a stretch that did not read
    whole (a message that does not decode: the file is listed in turn, as it reads)."""
    if part.count is None:
        return _list_whole(part.path, alone)
    listing = Listing()
    messages = read_messages(part.path, warn=False, skip=part.skip, listing=True)
    _scan(listing, islice(messages, part.count))
    return listing if listing.messages == part.count else None


def _list_whole(path: Path, alone: bool) -> Listing:
    listing = Listing()
    _scan(listing, read_messages(path, alone=alone, listing=True))
    return listing


def _joined(parts: Iterable[tuple[int, Listing]]) -> Listing:
    """The parts' listings, in reading order, as one: what listing the files in turn gives."""
    joined = Listing()
    traces = joined.traces
    last_file = -1
    for file, part in parts:
        offset = joined.messages
        for raw, trace in part.traces.items():
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
        joined.messages += part.messages
        if file == last_file:
            joined.per_file[-1] += part.messages
        else:
            joined.per_file.append(part.messages)
            last_file = file
    return joined


def _scan(listing: Listing, messages: Iterable[ListedMessage]) -> None:
    """Add the messages of one file (or of a stretch of it) to the listing."""
    traces = listing.traces
    for number, request in enumerate(messages, listing.messages):
        listing.messages = number + 1
        if isinstance(request, list):  # JSON: what ``spans_seen_in_json_body`` read of it
            for raw, start, end, error, root in request:
                trace = _count(traces, raw, start, end, error, number)
                if root is not None and trace.root is None:
                    trace.root = root
            continue
        for rs in request.resource_spans:
            roots = None
            for ss in rs.scope_spans:
                for span in ss.spans:
                    start = span.start_time_unix_nano
                    end = span.end_time_unix_nano or start
                    error = span.status.code == 2
                    trace = _count(traces, span.trace_id, start, end, error, number)
                    if not span.parent_span_id and trace.root is None:
                        if roots is None:
                            roots = _roots_of(rs)
                        trace.root = roots.get(span.span_id)


def _count(
    traces: dict[bytes, TraceSeen], raw: bytes, start: int, end: int, error: bool, number: int
) -> TraceSeen:
    """One span of message ``number`` counted in its trace (seen first: added)."""
    trace = traces.get(raw)
    if trace is None:
        trace = traces[raw] = TraceSeen(len(traces), start, end, number)
    else:
        trace.start_ns = min(trace.start_ns, start)
        trace.end_ns = max(trace.end_ns, end)
    trace.spans += 1
    trace.last_message = number
    if error:
        trace.errors += 1
    return trace


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
