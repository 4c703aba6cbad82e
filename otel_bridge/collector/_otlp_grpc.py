"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

The servicer implements ``TraceServiceServicer`` from ``opentelemetry-proto``. It is registered
with a raw request deserializer so that a malformed request gets INVALID_ARGUMENT with the
parse error (grpc's own deserializer would answer INTERNAL "Exception deserializing
request!"); the same decoding and validation as OTLP/HTTP follow. Codes: UNAUTHENTICATED (token),
INVALID_ARGUMENT (bad data, not retryable), RESOURCE_EXHAUSTED with ``RetryInfo`` (writer
behind, or too many uploads of the client in progress: retryable per the OTLP spec; without
``RetryInfo`` for a message over the size limit, which is not), UNAVAILABLE (store cannot
commit). A connection has ``header_timeout_s`` for its handshake; one idle for 5 minutes is
closed. A message is handed to ``Export`` only once complete, so a stalled upload holds no
worker thread and no upload slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from .._threaded_server import tcp_socket
from ..errors import QueueFull, SpanFormatError, StoreError
from ..otlp import decode_request
from ..spans import printable
from ._auth import bearer_matches
from ._config import CollectorConfig
from ._ingest import batch_from_request, export_response
from ._store import SpanStore
from ._uploads import ClientSlots

__all__ = ["TraceReceiver", "start_grpc_server"]

SERVICE = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
GRPC_IDLE_MS = 300_000


@dataclass(frozen=True)
class _Status(grpc.Status):
    """A status with details in ``grpc-status-details-bin`` (what ``abort_with_status`` sends)."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: Sequence[tuple[str, bytes]]


def _retry_status(message: str, retry_after_s: int) -> _Status:
    retry = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=retry_after_s))
    status = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message=message)
    status.details.add().Pack(retry)
    return _Status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        (
            ("grpc-status-details-bin", status.SerializeToString()),
            # What the OTel Python exporter reads to honour the delay.
            ("google.rpc.retryinfo-bin", retry.SerializeToString()),
        ),
    )


def _peer_host(peer: str) -> str:
    """The address of a gRPC peer (``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``), no port."""
    address = peer.split(":", 1)[-1]
    return address.rsplit(":", 1)[0].strip("[]") if ":" in address else address


class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """``Export`` over a store: acknowledged once the spans are committed."""

    def __init__(self, store: SpanStore, config: CollectorConfig, slots: ClientSlots) -> None:
        self.store = store
        self.config = config
        self.slots = slots

    def Export(self, request: Any, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        """Store the spans of one request (raw bytes, or an already parsed request)."""
        metadata = dict(context.invocation_metadata() or ())
        if not bearer_matches(metadata.get("authorization"), self.config.token):
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong bearer token (metadata authorization: Bearer <token>)",
            )
        client = _peer_host(context.peer() or "")
        if not self.slots.acquire(client):
            context.abort_with_status(
                _retry_status(
                    f"{self.slots.limit} uploads from {client} are in progress already; "
                    "retry later",
                    self.config.retry_after_s,
                )
            )
        try:
            return self._export(request, context)
        finally:
            self.slots.release(client)

    def _export(self, request: Any, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        if isinstance(request, bytes):
            if len(request) > self.config.max_body_bytes:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"the request is {len(request)} bytes; the limit is "
                    f"{self.config.max_body_bytes}",
                )
            try:
                request = decode_request(request)
            except SpanFormatError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, printable(str(exc), 1000))
        batch = batch_from_request(request)
        if batch.rows:
            try:
                future = self.store.submit(batch)
            except QueueFull as exc:
                context.abort_with_status(_retry_status(str(exc), self.config.retry_after_s))
            except StoreError as exc:
                context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            try:
                future.result()
            except StoreError as exc:
                context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return export_response(batch.rejected, batch.error_message)


def start_grpc_server(
    store: SpanStore, config: CollectorConfig, host: str, port: int, slots: ClientSlots
) -> tuple[grpc.Server, int]:
    """A started gRPC server with the receiver, and the port it bound."""
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=config.grpc_workers, thread_name_prefix="otel-bridge-grpc"
        ),
        options=[
            ("grpc.max_receive_message_length", config.max_body_bytes),
            ("grpc.so_reuseport", 0),
            # A connection must complete its handshake within the header timeout, and one
            # without calls for 5 minutes is closed (an exporter reconnects on its next export;
            # sooner, every idle exporter would log grpc's GOAWAY notice every few seconds).
            ("grpc.server_handshake_timeout_ms", int(config.header_timeout_s * 1000)),
            ("grpc.max_connection_idle_ms", GRPC_IDLE_MS),
        ],
    )
    receiver = TraceReceiver(store, config, slots)
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                receiver.Export,
                request_deserializer=None,  # raw bytes: we parse and report errors ourselves
                response_serializer=ExportTraceServiceResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if port:
        # Try the port first: gRPC's C core would log its own error line before failing.
        try:
            tcp_socket(host, port).close()
        except OSError as exc:
            raise OSError(
                f"cannot listen for OTLP/gRPC on {address}: {exc.__cause__ or exc}"
            ) from exc
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: {exc}") from exc
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}")
    server.start()
    return server, bound
