"""The embedded OTLP collector: OTLP/HTTP and OTLP/gRPC in, SQLite, a query API out.

``Collector`` runs in-process (tests, the demo); ``otel-bridge collector serve`` runs it as a
server. See ``query_api`` for the routes and ``otlp_http``/``otlp_grpc`` for the receivers.
"""

from __future__ import annotations

from ._config import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    TOKEN_ENV,
    CollectorConfig,
    is_loopback,
)
from ._server import Collector, serve
from ._store import SpanStore, TracePage, TraceSummary

__all__ = [
    "DEFAULT_GRPC_PORT",
    "DEFAULT_HOST",
    "DEFAULT_HTTP_PORT",
    "TOKEN_ENV",
    "Collector",
    "CollectorConfig",
    "SpanStore",
    "TracePage",
    "TraceSummary",
    "is_loopback",
    "serve",
]
