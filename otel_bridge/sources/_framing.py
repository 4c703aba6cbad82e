"""The messages in an OTLP file: OTLP/JSON, JSON Lines, or the Collector's ``file`` exporter output.

The OpenTelemetry Collector's ``file`` exporter (and the S3 exporter, same encodings) writes
each export request as one message:

- ``format: json``: one OTLP/JSON request per line;
- ``format: proto``: each request's protobuf bytes after their length (4 bytes, big-endian);
- ``compression: zstd``: each message compressed as its own zstd frame, length-prefixed as
  above (JSON too); or, behind the exporter's native compression feature gate, the whole file
  one zstd stream of JSON lines or length-prefixed protobuf.

So a file is told by its first bytes: the zstd magic (a zstd stream: decompressed, then
looked at again), ``{`` (JSON: one document or one per line), else length-prefixed messages,
each of which may itself be a zstd frame, then protobuf or JSON. Damage a collector stopped
mid-write leaves (a cut last line or message, or one cut line the restarted collector wrote
on) is skipped with a warning naming the file and how many were skipped; every whole message
is kept.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

import zstandard
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..errors import SourceError, SpanFormatError
from ..otlp import decode_request
from ..spans import SpanRecord
from ._otlp_json import SpanSeen, parse_request, records_from_json_body, spans_seen_in_json_body

__all__ = ["Damage", "ListedMessage", "Message", "frame_offsets", "read_messages"]

# An export request: protobuf as read, or JSON already converted (``_otlp_json``).
Message = ExportTraceServiceRequest | list[SpanRecord]
# The same for a listing: of JSON, only what a listing reads (``_otlp_json.SpanSeen``).
ListedMessage = ExportTraceServiceRequest | list[SpanSeen]
_JsonReader = Callable[[Any], list[SpanRecord]] | Callable[[Any], list[SpanSeen]]

logger = logging.getLogger("otel_bridge.sources")

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_STEP = 1 << 16  # compressed bytes fed at a time (a frame's leftover is copied once)
PREFIX_BYTES = 4
MAX_MESSAGE_BYTES = 1 << 31  # a length beyond this is not a length: the bytes are not framed
_JSON_START = re.compile(rb"\s*[{\[]")
_RESOURCE_SPANS = b'{"resourceSpans"'
# How a message the exporter writes begins: a zstd frame, protobuf's first field
# (resource_spans: field 1, length-delimited), or JSON. A first message cut short that begins
# so is the collector's, stopped while writing it; anything else is not its output.
_MESSAGE_STARTS = (ZSTD_MAGIC, b"\x0a", b"{")


@dataclass(slots=True)
class Damage:
    """What was skipped in one file: cut lines or messages, bytes that could not be read."""

    lines: int = 0
    messages: int = 0
    tail_bytes: int = 0

    def __bool__(self) -> bool:
        return bool(self.lines or self.messages or self.tail_bytes)

    def describe(self) -> str:
        """``1 truncated line``, ``2 truncated messages and 13 bytes``."""
        parts = []
        if self.lines:
            parts.append(f"{self.lines} truncated line{'s' if self.lines != 1 else ''}")
        if self.messages:
            plural = "s" if self.messages != 1 else ""
            parts.append(f"{self.messages} truncated message{plural}")
        if self.tail_bytes:
            parts.append(f"{self.tail_bytes:,} unreadable trailing bytes")
        return " and ".join(parts)


@overload
def read_messages(
    path: Path,
    warn: bool = ...,
    skip: int = ...,
    alone: bool = ...,
    *,
    listing: Literal[False] = ...,
) -> Iterator[Message]: ...


@overload
def read_messages(
    path: Path, warn: bool = ..., skip: int = ..., alone: bool = ..., *, listing: Literal[True]
) -> Iterator[ListedMessage]: ...


def read_messages(
    path: Path, warn: bool = True, skip: int = 0, alone: bool = True, *, listing: bool = False
) -> Iterator[Message] | Iterator[ListedMessage]:
    """Every whole export request in the file, in order; damage skipped with a warning.

    Protobuf requests as they are (a listing reads a few of their fields); JSON ones as
    SpanRecords, or (``listing``) as what a listing reads of their spans (``SpanSeen``).
    Read as a stream, a message at a time: memory holds one message, whatever the file's size.
    ``warn=False`` for a second pass over the same file: it was said once; ``skip`` passes
    over its first messages, length-prefixed ones without decoding them (a second pass read
    them whole before). SourceError when the file cannot be read; SpanFormatError when it
    holds no OTLP at all, or (``alone``: not one of a folder's files) no whole message.
    """
    damage = Damage()
    found = 0
    with _open(path) as raw:
        head = _peek(raw, 4)
        stream: BinaryIO = raw
        if head == ZSTD_MAGIC:  # one zstd stream (the exporter's native compression)
            stream = io.BufferedReader(_ZstdFrames(raw, damage), ZSTD_STEP)
        start = _peek(stream, 4096)  # to say what the file is, if it is not OTLP
        try:
            reader = spans_seen_in_json_body if listing else records_from_json_body
            for request in _messages(stream, damage, skip, reader):
                found += 1
                yield request
        except SpanFormatError as exc:
            if found or damage:
                raise SpanFormatError(f"{path}: {exc}") from exc
            raise SpanFormatError(f"{path}: {_not_otlp(start, exc)}") from exc
    if damage and warn:
        if not found and alone:
            raise SpanFormatError(f"{path}: no whole OTLP message ({damage.describe()})")
        logger.warning(
            "otel-bridge: warning: %s: skipped %s (a collector stopped mid-write?); "
            "kept %d whole message%s",
            path,
            damage.describe(),
            found,
            "s" if found != 1 else "",
        )


def frame_offsets(path: Path) -> list[int] | None:
    """Where each message of a file of length-prefixed messages begins, read from their
    lengths alone (nothing is decompressed or decoded); None for any other file (JSON, one zstd
    stream) and for one whose last message is cut (its damage is told when it is read).

    SourceError when the file cannot be read.
    """
    offsets: list[int] = []
    with _open(path) as raw:
        head = _peek(raw, 64)
        if head.startswith(ZSTD_MAGIC) or not head.strip() or _JSON_START.match(head):
            return None
        size = raw.seek(0, io.SEEK_END)
        at = 0
        while at < size:
            raw.seek(at)
            prefix = raw.read(PREFIX_BYTES)
            length = int.from_bytes(prefix, "big")
            if len(prefix) < PREFIX_BYTES or length > MAX_MESSAGE_BYTES:
                return None
            offsets.append(at)
            at += PREFIX_BYTES + length
        return offsets if at == size else None


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb", buffering=1 << 16)  # the caller closes it
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file or directory") from exc
    except IsADirectoryError as exc:
        raise SourceError(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise SourceError(f"{path}: permission denied") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _not_otlp(head: bytes, exc: SpanFormatError) -> str:
    if _JSON_START.match(head):
        return f"not OTLP/JSON traces ({exc})"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as undecodable:
        if undecodable.start < len(head) - 4:  # not merely a character cut at the edge
            return (
                "not a text file, nor OTLP protobuf as the OpenTelemetry Collector's file "
                "exporter writes it"
            )
    return "a text file, but not OTLP/JSON (it does not start with '{')"


def _peek(stream: BinaryIO, size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    return bytes(peek(size)[:size]) if peek is not None else b""


def _messages(
    stream: BinaryIO, damage: Damage, skip: int, reader: _JsonReader
) -> Iterator[Message | list[SpanSeen]]:
    head = _peek(stream, 64)
    if not head.strip():
        if not stream.read(1 << 16).strip():  # empty, or whitespace only
            return
        raise SpanFormatError("not OTLP: it starts with blank space, then something else")
    if _JSON_START.match(head):
        yield from _json_messages(stream, damage, reader, skip)
    else:
        yield from _framed_messages(stream, damage, skip, reader)


class _ZstdFrames(io.RawIOBase):
    """A zstd stream decompressed frame by frame; a cut last frame is counted as damage.

    Frame by frame (a frame per write when the exporter rotates): the stream reader of
    ``zstandard`` would stop at a cut frame without a word.
    """

    def __init__(self, raw: BinaryIO, damage: Damage) -> None:
        self._raw, self._damage = raw, damage
        self._dctx = zstandard.ZstdDecompressor()
        self._frame, self._fed = self._dctx.decompressobj(), False
        self._out = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._done:
            self._fill()
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        del self._out[:size]
        return size

    def _fill(self) -> None:
        chunk = self._raw.read(ZSTD_STEP)
        if not chunk:
            self._done = True
            if self._fed:
                self._damage.messages += 1  # a frame cut short: what it held is kept
            return
        while chunk:
            try:
                self._out += self._frame.decompress(chunk)
            except zstandard.ZstdError:
                self._damage.messages += 1
                self._done = True
                return
            self._fed = True
            if self._frame.eof:  # the next frame starts in what this one left
                chunk = self._frame.unused_data
                self._frame, self._fed = self._dctx.decompressobj(), False
            else:
                chunk = b""


def _json_messages(
    stream: BinaryIO, damage: Damage, reader: _JsonReader, skip: int = 0
) -> Iterator[list[SpanRecord] | list[SpanSeen]]:
    """One OTLP/JSON document, or one per line (the file exporter's and Telemetry's); the
    first ``skip`` parsed (to be counted: a cut line is no message) and not read."""
    parsed = 0
    pending: bytes | None = None  # the line before, checked once the next is known
    number = 0
    lines = iter(stream)
    for line in lines:
        number += 1
        if line.isspace() or not line:  # (not strip(): it copies the line)
            continue
        try:
            body = parse_request(line)
        except SpanFormatError as exc:
            if not parsed and not damage:  # one document over many lines, e.g. indented
                rest = b"".join(lines)
                if not rest and _cut_line(line):  # the collector stopped writing its first
                    damage.lines += 1
                    return
                document = parse_request(line + rest)
                if not skip:
                    yield reader(document)
                return
            restart = line.find(_RESOURCE_SPANS, 1)
            if restart < 0 and line.endswith(b"\n"):
                if pending is not None:
                    raise SpanFormatError(f"line {number} is {exc}") from exc
                pending = line
                continue
            damage.lines += 1
            if restart < 0:
                continue
            # The start of a line cut off when the collector stopped, then the first line it
            # wrote after restarting: keep that one.
            try:
                body = parse_request(line[restart:])
            except SpanFormatError:
                continue
        if pending is not None:  # a bad line with lines after it: not a cut last line
            raise SpanFormatError(f"line {number - 1} is not JSON")
        parsed += 1
        if parsed <= skip:
            continue
        try:
            yield reader(body)
        except SpanFormatError as exc:
            if number == 1:
                raise
            raise SpanFormatError(f"line {number}: {exc}") from exc
    if pending is not None:  # the last line, complete with its newline, but not JSON: cut
        damage.lines += 1


def _cut_line(line: bytes) -> bool:
    """A line the file exporter began (OTLP/JSON) and did not finish (no newline)."""
    return line.startswith(_RESOURCE_SPANS) and not line.endswith(b"\n")


def _framed_messages(
    stream: BinaryIO, damage: Damage, skip: int, reader: _JsonReader
) -> Iterator[Message | list[SpanSeen]]:
    """Length-prefixed messages: protobuf or JSON, each possibly a zstd frame; the first
    ``skip`` passed over undecoded."""
    decompressor = zstandard.ZstdDecompressor()
    number = 0
    while prefix := stream.read(PREFIX_BYTES):
        number += 1
        if len(prefix) < PREFIX_BYTES:
            damage.messages += 1
            return
        length = int.from_bytes(prefix, "big")
        if length > MAX_MESSAGE_BYTES:
            raise SpanFormatError("not length-prefixed OTLP messages")
        payload = stream.read(length)
        if len(payload) < length:
            if number == 1 and not payload.startswith(_MESSAGE_STARTS):
                raise SpanFormatError("not length-prefixed OTLP messages")
            damage.messages += 1  # cut short: the collector stopped while writing it
            return
        if number <= skip:
            continue
        try:
            yield _payload_request(payload, decompressor, reader)
        except (SpanFormatError, zstandard.ZstdError) as exc:
            if number == 1:
                raise SpanFormatError(f"message 1 is not OTLP ({exc})") from exc
            # A message that does not decode after whole ones: the frames are out of step
            # (a cut message the restarted collector wrote after). The rest cannot be read.
            damage.messages += 1
            damage.tail_bytes += len(stream.read())
            return


def _payload_request(
    payload: bytes, decompressor: zstandard.ZstdDecompressor, reader: _JsonReader
) -> Message | list[SpanSeen]:
    if payload.startswith(ZSTD_MAGIC):
        payload = decompressor.decompressobj().decompress(payload)
    if _JSON_START.match(payload):
        return reader(parse_request(payload))
    return decode_request(payload)
