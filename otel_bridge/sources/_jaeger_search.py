"""Jaeger's trace search as a run list: ``GET /api/services`` and ``GET /api/traces?service=``.

The search (the API the Jaeger UI uses; Jaeger v2 serves it too) answers whole traces in
Jaeger's JSON model, so a listed run comes with its spans. It needs a service name: without
one, every service Jaeger knows is searched in turn. It has no cursor: pages are cut by time,
each asking for traces that started before the oldest one seen (duplicates dropped). Without
``since`` the window is Jaeger's usual look back, the last ``DEFAULT_LOOKBACK_S``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from openinference.semconv.trace import SpanAttributes

from ..errors import SourceError, SpanFormatError
from ..spans import SpanRecord
from ._http import client_for, get, json_of
from ._jaeger import read_jaeger, records_from_jaeger_json
from ._source import Listed, RemoteSource, RunQuery, listed_spans, register

__all__ = [
    "DEFAULT_LOOKBACK_S",
    "JaegerLegacySource",
    "JaegerSource",
    "jaeger_services",
    "search_jaeger",
]

DEFAULT_LOOKBACK_S = 7 * 86_400
PAGE_LIMIT = 100


def jaeger_services(
    base_url: str, *, token: str | None = None, client: httpx.Client | None = None
) -> list[str]:
    """The services Jaeger holds traces of (``GET /api/services``)."""
    url = f"{base_url.rstrip('/')}/api/services"
    with client_for(token, client) as http:
        response = get(http, url)
    body = json_of(response) if response.status_code != 404 else None
    if not isinstance(body, dict) or not isinstance(body.get("data") or [], list):
        raise SourceError(f"{url}: not a Jaeger query service (no service list)")
    return sorted(str(name) for name in body.get("data") or ())


def search_jaeger(
    base_url: str,
    *,
    service: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    session: str | None = None,
    limit: int | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[list[SpanRecord]]:
    """The spans of each run Jaeger finds, one trace at a time, newest first per service.

    SourceError naming the services that exist when ``service`` is not one of them.
    """
    url = f"{base_url.rstrip('/')}/api/traces"
    end_ns = end_ns if end_ns is not None else time.time_ns()
    start_ns = start_ns if start_ns is not None else end_ns - DEFAULT_LOOKBACK_S * 10**9
    seen: set[int] = set()
    left = limit
    with client_for(token, client) as http:
        services = jaeger_services(base_url, client=http)
        if service is not None and service not in services:
            known = f"; its services: {', '.join(services)}" if services else " (it has none)"
            raise SourceError(f"{base_url}: no service {service!r} in Jaeger{known}")
        for name in [service] if service is not None else services:
            before = end_ns
            while left is None or left > 0:
                page = _page(http, url, name, start_ns, before, session)
                new = [spans for tid, spans in page if tid not in seen]
                for spans in new:
                    if left is not None and left <= 0:
                        break
                    seen.add(spans[0].trace_id)
                    left = None if left is None else left - 1
                    yield spans
                if len(page) < PAGE_LIMIT or not new:
                    break
                # The next page: traces that started before the oldest of this one (µs).
                before = min(min(s.start_ns for s in spans) for _, spans in page) + 1000


def _page(
    http: httpx.Client,
    url: str,
    service: str | None,
    start_ns: int,
    end_ns: int,
    session: str | None,
) -> list[tuple[int, list[SpanRecord]]]:
    params: dict[str, Any] = {
        "service": service,
        "start": start_ns // 1000,
        "end": end_ns // 1000,
        "limit": PAGE_LIMIT,
    }
    if session is not None:
        params["tags"] = json.dumps({SpanAttributes.SESSION_ID: session})
    response = get(http, url, params=params)
    if response.status_code == 404:
        raise SourceError(f"{url}: not found; is this a Jaeger query service?")
    body = json_of(response)
    traces = body.get("data") if isinstance(body, dict) else None
    if not isinstance(traces, list | type(None)):
        raise SourceError(f"{url}: unexpected answer, 'data' is not a list of traces")
    found: list[tuple[int, list[SpanRecord]]] = []
    for trace in traces or ():
        try:
            spans = records_from_jaeger_json({"data": [trace]})
        except SpanFormatError as exc:
            raise SourceError(f"{url}: {exc}") from exc
        if spans:
            found.append((spans[0].trace_id, spans))
    found.sort(key=lambda item: -min(s.start_ns for s in item[1]))
    return found


@register
class JaegerSource(RemoteSource):
    """Jaeger query: ``jaeger+http://127.0.0.1:16686`` (API v3, else the legacy API)."""

    scheme = "jaeger"
    example = "jaeger+http://127.0.0.1:16686"
    description = "Jaeger query (API v3, else legacy)"
    filters = frozenset({"session", "limit"})
    api = "auto"

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        return read_jaeger(self.location, trace_id, api=self.api, client=self.http)

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        for spans in search_jaeger(
            self.location,
            service=self.service,
            session=query.session,
            limit=query.limit,
            client=self.http,
            start_ns=query.start_ns,
            end_ns=query.end_ns,
        ):
            yield listed_spans(spans)


@register
class JaegerLegacySource(JaegerSource):
    """Jaeger's legacy ``/api/traces`` only: ``jaeger-legacy+http://...``."""

    scheme = "jaeger-legacy"
    example = "jaeger-legacy+http://HOST:16686"
    description = "Jaeger's legacy /api/traces only"
    api = "legacy"
