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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..errors import SourceError, SpanFormatError
from ..otlp import decode_request, decode_request_json, load_json

__all__ = ["Damage", "read_messages"]

logger = logging.getLogger("otel_bridge.sources")

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_STEP = 1 << 16  # compressed bytes fed at a time (a frame's leftover is copied once)
PREFIX_BYTES = 4
MAX_MESSAGE_BYTES = 1 << 31  # a length beyond this is not a length: the bytes are not framed
_JSON_START = re.compile(rb"\s*[{\[]")
_RESOURCE_SPANS = b'{"resourceSpans"'


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


def read_messages(path: Path, warn: bool = True) -> Iterator[ExportTraceServiceRequest]:
    """Every whole export request in the file, in order; damage skipped with a warning.

    ``warn=False`` for a second pass over the same file: it was said once.
    SourceError when the file cannot be read; SpanFormatError when it holds no OTLP at all.
    """
    data = _read_bytes(path)
    damage = Damage()
    found = 0
    try:
        for request in _messages(data, damage, path):
            found += 1
            yield request
    except SpanFormatError as exc:
        if found or damage:
            raise SpanFormatError(f"{path}: {exc}") from exc
        raise SpanFormatError(f"{path}: {_not_otlp(data, exc)}") from exc
    if damage and warn:
        if not found:
            raise SpanFormatError(f"{path}: no whole OTLP message ({damage.describe()})")
        logger.warning(
            "otel-bridge: warning: %s: skipped %s (a collector stopped mid-write?); "
            "kept %d whole message%s",
            path,
            damage.describe(),
            found,
            "s" if found != 1 else "",
        )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file or directory") from exc
    except IsADirectoryError as exc:
        raise SourceError(f"{path}: is a directory") from exc
    except PermissionError as exc:
        raise SourceError(f"{path}: permission denied") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _not_otlp(data: bytes, exc: SpanFormatError) -> str:
    if _JSON_START.match(data):
        return f"not OTLP/JSON traces ({exc})"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return (
            "not a text file, nor OTLP protobuf as the OpenTelemetry Collector's file "
            "exporter writes it"
        )
    return "a text file, but not OTLP/JSON (it does not start with '{')"


def _messages(data: bytes, damage: Damage, path: Path) -> Iterator[ExportTraceServiceRequest]:
    if not data.strip():
        return
    if data.startswith(ZSTD_MAGIC):
        yield from _messages(_decompress_stream(data, damage), damage, path)
    elif _JSON_START.match(data):
        yield from _json_messages(data, damage)
    else:
        yield from _framed_messages(data, damage)


def _decompress_stream(data: bytes, damage: Damage) -> bytes:
    """Every frame of a zstd stream, one after the other; a cut last frame is counted.

    Frame by frame (a frame per write when the exporter rotates): the stream reader of
    ``zstandard`` would stop at a cut frame without a word.
    """
    dctx = zstandard.ZstdDecompressor()
    out = io.BytesIO()
    frame, fed = dctx.decompressobj(), False
    view = memoryview(data)
    for at in range(0, len(data), ZSTD_STEP):
        chunk = bytes(view[at : at + ZSTD_STEP])
        while chunk:
            try:
                out.write(frame.decompress(chunk))
            except zstandard.ZstdError:
                damage.messages += 1
                damage.tail_bytes += len(data) - at
                return out.getvalue()
            fed = True
            if frame.eof:  # the next frame starts in what this one left
                chunk = frame.unused_data
                frame, fed = dctx.decompressobj(), False
            else:
                chunk = b""
    if fed:
        damage.messages += 1  # a frame cut short: what it held up to the cut is looked at
    return out.getvalue()


def _json_messages(data: bytes, damage: Damage) -> Iterator[ExportTraceServiceRequest]:
    """One OTLP/JSON document, or one per line (the file exporter's and Telemetry's)."""
    whole_error = SpanFormatError("not JSON")
    try:
        whole, _ = load_json(data)
    except SpanFormatError as exc:
        whole_error = exc
        if b"\n" not in data.strip():
            raise
    else:
        yield _request_json(whole)
        return
    lines = data.split(b"\n")
    last = max(i for i, line in enumerate(lines) if line.strip())
    parsed = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            body, _ = load_json(line)
        except SpanFormatError as exc:
            if not parsed and not damage:  # one document over many lines, e.g. indented
                raise whole_error from None
            restart = line.find(_RESOURCE_SPANS, 1)
            if restart < 0 and number - 1 != last:
                raise SpanFormatError(f"line {number} is {exc}") from exc
            damage.lines += 1
            if restart < 0:
                continue
            # The start of a line cut off when the collector stopped, then the first line it
            # wrote after restarting: keep that one.
            try:
                body, _ = load_json(line[restart:])
            except SpanFormatError:
                continue
        parsed += 1
        try:
            yield _request_json(body)
        except SpanFormatError as exc:
            raise SpanFormatError(f"line {number}: {exc}") from exc


def _request_json(body: object) -> ExportTraceServiceRequest:
    return decode_request_json(body, copy=False)


def _framed_messages(data: bytes, damage: Damage) -> Iterator[ExportTraceServiceRequest]:
    """Length-prefixed messages: protobuf or JSON, each possibly a zstd frame."""
    view = memoryview(data)
    position, size = 0, len(data)
    decompressor = zstandard.ZstdDecompressor()
    number = 0
    while position < size:
        number += 1
        if size - position < PREFIX_BYTES:
            damage.messages += 1
            return
        length = int.from_bytes(view[position : position + PREFIX_BYTES], "big")
        start = position + PREFIX_BYTES
        if length > MAX_MESSAGE_BYTES or (number == 1 and start + length > size and length > size):
            raise SpanFormatError("not length-prefixed OTLP messages")
        if start + length > size:
            damage.messages += 1  # cut short: the collector stopped while writing it
            return
        payload = bytes(view[start : start + length])
        position = start + length
        try:
            yield _payload_request(payload, decompressor)
        except (SpanFormatError, zstandard.ZstdError) as exc:
            if number == 1:
                raise SpanFormatError(f"message 1 is not OTLP ({exc})") from exc
            # A message that does not decode after whole ones: the frames are out of step
            # (a cut message the restarted collector wrote after). The rest cannot be read.
            damage.messages += 1
            damage.tail_bytes += size - position
            return


def _payload_request(
    payload: bytes, decompressor: zstandard.ZstdDecompressor
) -> ExportTraceServiceRequest:
    if payload.startswith(ZSTD_MAGIC):
        payload = decompressor.decompressobj().decompress(payload)
    if _JSON_START.match(payload):
        return _request_json(load_json(payload)[0])
    return decode_request(payload)
