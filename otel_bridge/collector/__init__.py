"""The embedded OTLP collector: OTLP/HTTP and OTLP/gRPC in, SQLite, a query API out.

``Collector`` runs in-process (tests, the demo); ``otel-bridge collector serve`` runs it as a
server. See ``_query_api`` for the routes and ``_otlp_http``/``_otlp_grpc`` for the receivers.

The contract: whatever a client sends is answered 2xx or 4xx; 5xx means a fault of the server
itself, never of the request. An export is acknowledged (200 / OK) only once its spans are
committed, and a refused one stored nothing.

- 400 / INVALID_ARGUMENT: not OTLP (bad protobuf, JSON, gzip or UTF-8, ids of the wrong
  size); a request with some invalid spans is a 200 that counts them in ``partial_success``.
  A lone UTF-16 surrogate in OTLP/JSON is stored as U+FFFD and said in ``partial_success``.
- 401 / UNAUTHENTICATED: the bearer token is missing or wrong.
- 404: no such trace; 422: ``/run`` of a trace beyond ``max_run_spans`` or ``max_run_depth``,
  or whose spans cannot be derived (its spans stay readable).
- 408: the body stalled for ``read_timeout_s`` or took longer than ``body_timeout_s``; a
  connection that sends no complete headers within ``header_timeout_s`` is closed.
- 413 / RESOURCE_EXHAUSTED without a retry delay: a body over ``max_body_bytes``, before or
  after gunzip; 415: a content type or encoding other than protobuf/JSON and gzip.
- 429 / RESOURCE_EXHAUSTED with ``Retry-After`` / ``RetryInfo``: the write queue is full, or
  the client has ``max_uploads_per_client`` exports in progress; retry after the delay.
- 503 / UNAVAILABLE: the store cannot commit or serve (closed, disk full, I/O error); with a
  retry delay when the spans could not be written. Never 500, INTERNAL or UNKNOWN.
"""

from __future__ import annotations

from ._auth import COOKIE_NAME, LOGIN_PATH, TokenAuth, cookie_value, token_matches
from ._config import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    TOKEN_ENV,
    CollectorConfig,
    check_token,
    is_loopback,
)
from ._http_app import HEALTH_PATH, AppParts, Extension
from ._live import Changes, LiveTraces
from ._query_api import error, list_params, run_body, trace_page
from ._runs import RunCache, RunLimits
from ._server import Collector, serve
from ._store import SpanStore, TracePage, TraceSummary
from ._traces import decode_cursor, encode_cursor

__all__ = [
    "COOKIE_NAME",
    "DEFAULT_GRPC_PORT",
    "DEFAULT_HOST",
    "DEFAULT_HTTP_PORT",
    "HEALTH_PATH",
    "LOGIN_PATH",
    "TOKEN_ENV",
    "AppParts",
    "Changes",
    "Collector",
    "CollectorConfig",
    "Extension",
    "LiveTraces",
    "RunCache",
    "RunLimits",
    "SpanStore",
    "TokenAuth",
    "TracePage",
    "TraceSummary",
    "check_token",
    "cookie_value",
    "decode_cursor",
    "encode_cursor",
    "error",
    "is_loopback",
    "list_params",
    "run_body",
    "serve",
    "token_matches",
    "trace_page",
]
