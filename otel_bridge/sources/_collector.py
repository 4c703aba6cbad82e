"""The embedded collector's query API as a span source (``GET /api/traces/{id}/spans``)."""

from __future__ import annotations

import httpx

from ..errors import SourceError, SpanFormatError
from ..otlp import PROTOBUF, decode_request, from_request
from ..spans import SpanRecord, format_trace_id
from ._http import client_for, get

__all__ = ["read_collector"]


def read_collector(
    base_url: str,
    trace_id: str | int,
    *,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> list[SpanRecord]:
    """Every span of a trace stored by an otel-bridge collector at ``base_url``."""
    tid = format_trace_id(trace_id)
    url = f"{base_url.rstrip('/')}/api/traces/{tid}/spans"
    with client_for(token, client) as http:
        # Protobuf, not OTLP/JSON: the same request, several times faster to decode.
        response = get(http, url, headers={"Accept": PROTOBUF})
    if response.status_code == 404:
        raise SourceError(f"{base_url}: no trace {tid} in the collector")
    if response.headers.get("content-type", "").split(";")[0] != PROTOBUF:
        raise SourceError(f"{url}: not an otel-bridge collector (no OTLP protobuf answer)")
    try:
        return from_request(decode_request(response.content))
    except SpanFormatError as exc:
        raise SourceError(f"{url}: {exc}") from exc
