"""OTLP/HTTP receiver: ``POST /v1/traces`` with protobuf or JSON bodies, optionally gzipped.

Follows the OTLP/HTTP specification: the response uses the request's encoding; failures carry
a ``google.rpc.Status``; 400 for bad data (not retryable), 408 for a body that stalls or takes
too long (the connection is closed), 413 for a body over the limit (checked again after
gunzip), 415 for an unsupported content type or encoding, 429 with ``Retry-After`` when the
writer is behind or the client has too many uploads in progress, 503 when the store cannot
commit. Spans with invalid ids are rejected one by one and reported in ``partial_success``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..errors import BodyTimeout, BodyTooLarge, QueueFull, SpanFormatError, StoreError
from ..otlp import JSON, PROTOBUF, PROTOBUF_TYPES
from ..spans import printable
from ._config import CollectorConfig
from ._ingest import GzipReader, IngestBatch, batch_from_request, decode_body
from ._ingest import export_response as build_response
from ._store import SpanStore
from ._uploads import ClientSlots

__all__ = ["BodyTimeout", "OtlpHttpReceiver", "media_type", "status_response"]

_HTTP_TO_RPC = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    408: code_pb2.DEADLINE_EXCEEDED,
    413: code_pb2.INVALID_ARGUMENT,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    503: code_pb2.UNAVAILABLE,
}


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lowercased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def status_response(
    http_status: int,
    message: str,
    *,
    json_body: bool,
    retry_after_s: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An OTLP failure: a ``google.rpc.Status`` in the request's encoding."""
    message = printable(message, limit=1000)  # whatever it quotes, it can be encoded
    code = _HTTP_TO_RPC.get(http_status, code_pb2.UNKNOWN)
    status = status_pb2.Status(code=code, message=message)
    if http_status == 400:
        violation = error_details_pb2.BadRequest.FieldViolation(field="body", description=message)
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    headers = dict(headers or {})
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
        status.details.add().Pack(
            error_details_pb2.RetryInfo(retry_delay=Duration(seconds=retry_after_s))
        )
    if json_body:
        return Response(json_format.MessageToJson(status), http_status, headers, JSON)
    return Response(status.SerializeToString(), http_status, headers, PROTOBUF)


# Answers after which the connection is closed: the client may still be sending its body.
_CLOSE = {"Connection": "close"}


class OtlpHttpReceiver:
    """The ``POST /v1/traces`` endpoint over a store."""

    def __init__(self, store: SpanStore, config: CollectorConfig, slots: ClientSlots) -> None:
        self.store = store
        self.config = config
        self.slots = slots

    async def export(self, request: Request) -> Response:
        """Handle one export request; never raises."""
        ctype = media_type(request.headers.get("content-type"))
        json_body = ctype == JSON
        if not json_body and ctype not in PROTOBUF_TYPES:
            return status_response(
                415,
                f"unsupported Content-Type {ctype or '(none)'!r}: send {PROTOBUF} or {JSON}",
                json_body=False,
                headers=_CLOSE,
            )
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", ""):
            return status_response(
                415,
                f"unsupported Content-Encoding {encoding!r}: use gzip",
                json_body=json_body,
                headers=_CLOSE,
            )
        client = request.client.host if request.client else ""
        if not self.slots.acquire(client):
            return status_response(
                429,
                f"{self.slots.limit} uploads from {client} are in progress already; retry later",
                json_body=json_body,
                retry_after_s=self.config.retry_after_s,
                headers=_CLOSE,
            )
        try:
            return await self._export(request, json_body, gzip=encoding == "gzip")
        finally:
            self.slots.release(client)

    async def _export(self, request: Request, json_body: bool, *, gzip: bool) -> Response:
        try:
            body = await self._read_body(request, gzip=gzip)
            batch, warning = await run_in_threadpool(_decode, body, json_body)
        except BodyTooLarge as exc:
            return status_response(413, str(exc), json_body=json_body, headers=_CLOSE)
        except BodyTimeout as exc:
            return status_response(408, str(exc), json_body=json_body, headers=_CLOSE)
        except ClientDisconnect:  # nobody will read the answer; nothing was stored
            return status_response(400, "the client went away", json_body=json_body)
        except SpanFormatError as exc:
            return status_response(400, str(exc), json_body=json_body)
        if batch.rows:
            try:
                future = self.store.submit(batch)
            except QueueFull as exc:
                return status_response(
                    429, str(exc), json_body=json_body, retry_after_s=self.config.retry_after_s
                )
            except StoreError as exc:
                return status_response(503, str(exc), json_body=json_body)
            try:
                await asyncio.wrap_future(future)
            except StoreError as exc:
                return status_response(
                    503, str(exc), json_body=json_body, retry_after_s=self.config.retry_after_s
                )
        message = "; ".join(m for m in (batch.error_message, warning) if m)
        response = build_response(batch.rejected, message)
        if json_body:
            return Response(json_format.MessageToJson(response, indent=None), 200, media_type=JSON)
        return Response(response.SerializeToString(), 200, media_type=PROTOBUF)

    async def _read_body(self, request: Request, *, gzip: bool) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"the body is {declared} bytes; the limit is {limit}")
        inflater = GzipReader(limit) if gzip else None
        parts: list[bytes] = []
        size = 0
        async for chunk in self._chunks(request):
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the body is more than {limit} bytes")
            if inflater is not None:
                inflater.feed(chunk)
            else:
                parts.append(chunk)
        return inflater.finish() if inflater is not None else b"".join(parts)

    async def _chunks(self, request: Request) -> AsyncIterator[bytes]:
        """The body's chunks, each within the read timeout, all within the body timeout."""
        pause, whole = self.config.read_timeout_s, self.config.body_timeout_s
        deadline = time.monotonic() + whole
        stream = request.stream().__aiter__()
        while True:
            left = deadline - time.monotonic()
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), min(pause, max(left, 0)))
            except StopAsyncIteration:
                return
            except TimeoutError:
                if left <= pause:
                    raise BodyTimeout(f"the body took longer than {whole:g} s") from None
                raise BodyTimeout(f"the body stalled for more than {pause:g} s") from None
            yield chunk


def _decode(body: bytes, json_body: bool) -> tuple[IngestBatch, str]:
    request, warning = decode_body(body, json_body=json_body)
    return batch_from_request(request), warning
