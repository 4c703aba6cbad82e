"""OTLP export requests -> rows for the store: decoding, bounded gunzip and span validation.

Shared by the HTTP and gRPC receivers. Parsing is protobuf's (``opentelemetry-proto``); this
module only checks what the store relies on and counts what it rejects, so that one bad span
costs a partial success, never the whole request.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME

from ..errors import BodyTooLarge, SpanFormatError
from ..otlp import decode_request, decode_request_json, load_json

__all__ = [
    "BodyTooLarge",
    "GzipReader",
    "IngestBatch",
    "Origin",
    "SpanRow",
    "batch_from_request",
    "decode_body",
    "export_response",
]

INT64_MAX = 2**63 - 1  # SQLite integers are signed 64-bit
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)

# trace_id, span_id, parent_id | None, origin index, start_ns, end_ns, status code, name, Span bytes
SpanRow = tuple[bytes, bytes, bytes | None, int, int, int, int, str, bytes]


@dataclass(frozen=True, slots=True)
class Origin:
    """A resource and an instrumentation scope, stored once and shared by their spans."""

    digest: bytes
    resource: bytes
    resource_schema_url: str
    scope: bytes
    scope_schema_url: str
    service: str | None


@dataclass(slots=True)
class IngestBatch:
    """The valid spans of one request, ready for the writer, and what was rejected."""

    origins: list[Origin] = field(default_factory=list)
    rows: list[SpanRow] = field(default_factory=list)
    rejected: int = 0
    error_message: str = ""

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the batch (span bytes plus a per-row overhead)."""
        return sum(len(row[8]) for row in self.rows) + 200 * len(self.rows)


class GzipReader:
    """Incremental gunzip that stops as soon as the output would exceed ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        """Decompress one chunk; BodyTooLarge past the limit, SpanFormatError if not gzip."""
        if self._inflater.eof:
            if chunk:
                raise SpanFormatError("malformed gzip body: data after the end of the stream")
            return
        left = self.limit - self._size
        try:
            # At most left + 1 bytes: one more than allowed is enough to know it is too much.
            out = self._inflater.decompress(chunk, left + 1)
        except zlib.error as exc:
            raise SpanFormatError(f"malformed gzip body: {exc}") from exc
        if len(out) > left:
            raise BodyTooLarge(f"the body decompresses to more than {self.limit} bytes")
        self._size += len(out)
        self._parts.append(out)
        if self._inflater.unused_data:
            raise SpanFormatError("malformed gzip body: data after the end of the stream")

    def finish(self) -> bytes:
        """The whole decompressed body; SpanFormatError when the stream is cut short."""
        if not self._inflater.eof:
            raise SpanFormatError("malformed gzip body: the stream is truncated")
        return b"".join(self._parts)


def decode_body(body: bytes, *, json_body: bool) -> tuple[ExportTraceServiceRequest, str]:
    """Parse an OTLP/HTTP body; also a warning (no ``resourceSpans``, replaced surrogates)."""
    if not json_body:
        return decode_request(body), ""
    try:
        data, replaced = load_json(body)
    except SpanFormatError as exc:
        raise SpanFormatError(f"malformed OTLP/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SpanFormatError(
            f"malformed OTLP/JSON: the body must be an object, got {type(data).__name__}"
        )
    if "resourceSpans" not in data:
        # Unknown fields must be ignored (OTLP/JSON): a valid, empty request. Say so anyway.
        return ExportTraceServiceRequest(), "no 'resourceSpans' in the body: nothing was stored"
    warning = (
        f"{replaced} lone UTF-16 surrogate(s) in strings were stored as U+FFFD" if replaced else ""
    )
    return decode_request_json(data, copy=False), warning


def batch_from_request(request: ExportTraceServiceRequest) -> IngestBatch:
    """Rows for every valid span; invalid ones are counted with the reason in the message."""
    batch = IngestBatch()
    reasons: Counter[str] = Counter()
    rows = batch.rows
    for rs in request.resource_spans:
        resource = rs.resource.SerializeToString(deterministic=True)
        service = next(
            (kv.value.string_value for kv in rs.resource.attributes if kv.key == SERVICE_NAME),
            None,
        )
        for ss in rs.scope_spans:
            scope = ss.scope.SerializeToString(deterministic=True)
            digest = hashlib.blake2b(
                b"\0".join((resource, rs.schema_url.encode(), scope, ss.schema_url.encode())),
                digest_size=16,
            ).digest()
            origin = len(batch.origins)
            batch.origins.append(
                Origin(digest, resource, rs.schema_url, scope, ss.schema_url, service)
            )
            for span in ss.spans:
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    reasons["an invalid trace id (must be 16 bytes, not all zero)"] += 1
                elif len(span_id) != 8 or span_id == _ZERO_SPAN:
                    reasons["an invalid span id (must be 8 bytes, not all zero)"] += 1
                elif len(parent) not in (0, 8):
                    reasons["an invalid parent span id (must be empty or 8 bytes)"] += 1
                elif start > INT64_MAX or end > INT64_MAX:
                    reasons["a timestamp after the year 2262"] += 1
                else:
                    rows.append(
                        (
                            trace_id,
                            span_id,
                            parent if parent and parent != _ZERO_SPAN else None,
                            origin,
                            start,
                            end,
                            span.status.code,
                            span.name,
                            span.SerializeToString(),
                        )
                    )
    if reasons:
        batch.rejected = sum(reasons.values())
        details = "; ".join(f"{n} with {reason}" for reason, n in reasons.items())
        batch.error_message = f"rejected {batch.rejected} span(s): {details}"
    return batch


def export_response(rejected: int, message: str) -> ExportTraceServiceResponse:
    """The OTLP response: ``partial_success`` only when something was rejected or said."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    return response
