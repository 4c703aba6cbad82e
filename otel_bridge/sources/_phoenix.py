"""Arize Phoenix's REST API as a span source, and its two span JSON shapes -> SpanRecord.

``GET {base}/v1/projects/{project}/spans/otlpv1?trace_id=...`` (preferred) returns OTLP-like
spans: snake_case keys, hex ids, every ``AnyValue`` field listed with nulls, no resource or
scope. ``GET {base}/v1/projects/{project}/spans?trace_id=...`` (older servers) returns
Phoenix's own JSON: ISO-8601 times in microseconds, flat attributes, and the OpenInference span
kind moved out of the attributes into ``span_kind``. Both page with ``next_cursor``. The run
list is ``GET {base}/v1/projects/{project}/traces`` (newest first, with each trace's spans
when ``include_spans``); ``GET {base}/v1/projects`` names the projects a wrong name misses.

What Phoenix loses cannot be recovered: the OTel span kind, the resource (the project name is
put back as ``openinference.project.name``), the scope, nanoseconds (microseconds are kept),
and which ``llm.*`` attributes it synthesised from ``gen_ai.*`` on ingest. JSON-string
attributes that Phoenix parses and flattens on ingest (``metadata`` becomes ``metadata.k``) are
folded back into one JSON string. See tests/PHOENIX.md.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from openinference.semconv.resource import ResourceAttributes

from ..errors import SourceError, SpanFormatError
from ..spans import (
    SpanEvent,
    SpanRecord,
    StatusName,
    format_trace_id,
    freeze,
    iso,
    iso_ns,
    parse_span_id,
    parse_trace_id,
    printable,
)
from ._http import client_for, get, json_of
from ._source import Listed, RemoteSource, RunQuery, register
from ._summary import RunStatus, RunSummary

__all__ = [
    "DEFAULT_PROJECT",
    "PhoenixSource",
    "list_phoenix",
    "phoenix_projects",
    "read_phoenix",
    "records_from_phoenix_otlpv1",
    "records_from_phoenix_spans",
]

DEFAULT_PROJECT = "default"
SPAN_KIND = "openinference.span.kind"
PAGE_LIMIT = 1000  # Phoenix's maximum
TRACE_PAGE_LIMIT = 100  # traces come with their span list: keep pages small
# Attributes Phoenix stores as parsed JSON (phoenix.trace.attributes.JSON_STRING_ATTRIBUTES).
JSON_STRING_ATTRIBUTES = ("metadata", "tool.parameters", "llm.prompt_template.variables")
_STATUS: dict[Any, StatusName] = {0: "UNSET", 1: "OK", 2: "ERROR"}
_STATUS.update({name: name for name in ("UNSET", "OK", "ERROR")})


def read_phoenix(
    base_url: str,
    trace_id: str | int,
    *,
    project: str | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> list[SpanRecord]:
    """Every span of a trace in a Phoenix project (``default`` unless given)."""
    tid = format_trace_id(trace_id)
    project = project or DEFAULT_PROJECT
    base = f"{_project_url(base_url, project)}/spans"
    with client_for(token, client) as http:
        pages = _pages(http, f"{base}/otlpv1", {"trace_id": tid}, base_url, project)
        if pages is not None:
            records = records_from_phoenix_otlpv1(pages, project)
        else:  # a Phoenix without the otlpv1 route
            pages = _pages(http, base, {"trace_id": tid}, base_url, project)
            if pages is None:
                raise SourceError(f"{base}: not found; is this a Phoenix server?")
            records = records_from_phoenix_spans(pages, project)
    if not records:
        raise SourceError(
            f"{base_url}: no trace {tid} in Phoenix project {project!r} "
            f"(list its runs with: otel-bridge traces phoenix+{base_url.rstrip('/')}/{project})"
        )
    return records


def list_phoenix(
    base_url: str,
    *,
    project: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    session: str | None = None,
    limit: int | None = None,
    token: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[RunSummary]:
    """A Phoenix project's runs, newest first (``GET /v1/projects/{project}/traces``).

    The session filter is Phoenix's own. Status and the root come from the spans Phoenix lists
    with each trace (``include_spans``): ``error`` when a span failed, ``open`` without a root.
    """
    project = project or DEFAULT_PROJECT
    url = f"{_project_url(base_url, project)}/traces"
    params: dict[str, Any] = {"include_spans": "true"}
    if start_ns is not None:
        params["start_time"] = iso(start_ns)
    if end_ns is not None:
        params["end_time"] = iso(end_ns)
    if session is not None:
        params["session_identifier"] = session
    left = limit
    with client_for(token, client) as http:
        while left is None or left > 0:
            params["limit"] = TRACE_PAGE_LIMIT if left is None else min(TRACE_PAGE_LIMIT, left)
            response = _project_get(http, url, params, base_url, project)
            if response.status_code == 404:
                raise SourceError(f"{url}: not found; is this a Phoenix server (20.x or later)?")
            body = json_of(response)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"{url}: unexpected answer, no 'data' list")
            for item in body["data"]:
                yield _trace_summary(item, url, session)
            if left is not None:
                left -= len(body["data"])
            cursor = body.get("next_cursor")
            if not cursor or not body["data"]:
                return
            params["cursor"] = cursor


def phoenix_projects(
    base_url: str, *, token: str | None = None, client: httpx.Client | None = None
) -> list[str]:
    """The names of the projects a Phoenix server holds (``GET /v1/projects``)."""
    url = f"{base_url.rstrip('/')}/v1/projects"
    names: list[str] = []
    params: dict[str, Any] = {"limit": 100}
    with client_for(token, client) as http:
        while True:
            response = get(http, url, params=params)
            body = json_of(response) if response.status_code != 404 else None
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"{url}: not a Phoenix server (no project list)")
            names += [str(p.get("name")) for p in body["data"] if isinstance(p, dict)]
            if not body.get("next_cursor"):
                return names
            params["cursor"] = body["next_cursor"]


def _project_url(base_url: str, project: str) -> str:
    return f"{base_url.rstrip('/')}/v1/projects/{quote(project, safe='')}"


def _trace_summary(item: Any, url: str, session: str | None) -> RunSummary:
    try:
        spans = item.get("spans") or []
        roots = [s for s in spans if not s.get("parent_id")]
        failed = any(s.get("status_code") == "ERROR" for s in spans)
        status: RunStatus = "open" if not roots else "error" if failed else "ok"
        return RunSummary(
            trace_id=format_trace_id(item["trace_id"]),
            start_ns=iso_ns(item["start_time"]),
            end_ns=iso_ns(item["end_time"]),
            status=status,
            spans=len(spans),
            name=str(roots[0].get("name")) if roots else None,
            session_id=session,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(f"{url}: unexpected trace in the list: {printable(repr(exc))}") from exc


def _pages(
    http: httpx.Client, url: str, filters: dict[str, Any], base_url: str, project: str
) -> list[Any] | None:
    """Every span of every page; None when the route does not exist."""
    spans: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        params = {**filters, "limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        response = _project_get(http, url, params, base_url, project)
        if response.status_code == 404:
            return None
        body = json_of(response)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise SourceError(f"{url}: unexpected answer, no 'data' list")
        spans.extend(body["data"])
        cursor = body.get("next_cursor")
        if not cursor:
            return spans
        if cursor in seen:
            raise SourceError(f"{url}: the server repeats cursor {printable(repr(cursor), 80)}")
        seen.add(cursor)


def _project_get(
    http: httpx.Client, url: str, params: dict[str, Any], base_url: str, project: str
) -> httpx.Response:
    """GET a project's route; SourceError naming the projects that exist if it has none.

    Phoenix creates a project with its first span: one that exists by the time its 404 is
    answered was just created, and is asked again.
    """
    response = get(http, url, params=params)
    if response.status_code != 404 or "project" not in str(_detail(response)).lower():
        return response
    try:
        names = phoenix_projects(base_url, client=http)
    except SourceError:
        names = []
    if project in names:
        response = get(http, url, params=params)
        if response.status_code != 404 or "project" not in str(_detail(response)).lower():
            return response
    known = f"; its projects: {', '.join(names)}" if names else ""
    raise SourceError(f"{base_url}: no project {project!r} in Phoenix{known}")


def _detail(response: httpx.Response) -> Any:
    try:
        return response.json().get("detail", "")
    except (ValueError, AttributeError):
        return response.text[:200]


# ---- /spans/otlpv1 ------------------------------------------------------------------------


def records_from_phoenix_otlpv1(
    spans: Iterable[Mapping[str, Any]], project: str | None = None
) -> list[SpanRecord]:
    """SpanRecords from the ``data`` items of ``/spans/otlpv1``."""
    resource = freeze({ResourceAttributes.PROJECT_NAME: project} if project else None)
    return [_from_otlpv1(span, resource) for span in spans]


def _from_otlpv1(span: Mapping[str, Any], resource: Mapping[str, Any]) -> SpanRecord:
    try:
        status = span.get("status") or {}
        kind = str(span.get("kind") or "SPAN_KIND_INTERNAL")
        start = int(span["start_time_unix_nano"])
        end = span.get("end_time_unix_nano")
        return SpanRecord(
            trace_id=parse_trace_id(span["trace_id"]),
            span_id=parse_span_id(span["span_id"]),
            parent_id=parse_span_id(span["parent_span_id"]) if span.get("parent_span_id") else None,
            name=str(span.get("name") or ""),
            start_ns=start,
            end_ns=int(end) if end is not None else start,
            kind=kind.removeprefix("SPAN_KIND_"),
            status=_STATUS.get(status.get("code") or 0, "UNSET"),
            status_message=status.get("message") or "",
            attributes=_fold(_key_values(span.get("attributes"))),
            events=tuple(
                SpanEvent(
                    str(event.get("name") or ""),
                    int(event.get("time_unix_nano") or 0),
                    freeze(_key_values(event.get("attributes"))),
                )
                for event in span.get("events") or ()
            ),
            resource=resource,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpanFormatError(f"not a Phoenix otlpv1 span: {printable(repr(exc))}") from exc


def _key_values(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _any_value(item.get("value")) for item in items or ()}


def _any_value(value: Mapping[str, Any] | None) -> Any:
    """The one set field of Phoenix's AnyValue JSON (same Python types as ``otlp.value_of``)."""
    if not value:
        return None
    for field, raw in value.items():
        if raw is None:
            continue
        if field == "array_value":
            return tuple(_any_value(v) for v in raw.get("values") or ())
        if field == "int_value":
            return int(raw)
        if field == "double_value":
            return float({"inf": "Infinity", "-inf": "-Infinity"}.get(raw, raw))
        if field == "bytes_value":  # Phoenix writes bytes as hex
            return base64.b64encode(bytes.fromhex(raw)).decode()
        return raw
    return None  # kvlist values come back empty


# ---- /spans (Phoenix's own JSON) ------------------------------------------------------------


def records_from_phoenix_spans(
    spans: Iterable[Mapping[str, Any]], project: str | None = None
) -> list[SpanRecord]:
    """SpanRecords from the ``data`` items of ``/spans`` (Phoenix's span JSON)."""
    resource = freeze({ResourceAttributes.PROJECT_NAME: project} if project else None)
    return [_from_phoenix(span, resource) for span in spans]


def _from_phoenix(span: Mapping[str, Any], resource: Mapping[str, Any]) -> SpanRecord:
    try:
        context = span["context"]
        attributes = {key: _plain(value) for key, value in (span.get("attributes") or {}).items()}
        kind = span.get("span_kind")
        if kind and kind != "UNKNOWN":  # Phoenix moved it out of the attributes
            attributes[SPAN_KIND] = kind
        start = iso_ns(span["start_time"])
        return SpanRecord(
            trace_id=parse_trace_id(context["trace_id"]),
            span_id=parse_span_id(context["span_id"]),
            parent_id=parse_span_id(span["parent_id"]) if span.get("parent_id") else None,
            name=str(span.get("name") or ""),
            start_ns=start,
            end_ns=iso_ns(span["end_time"]) if span.get("end_time") else start,
            status=_STATUS.get(span.get("status_code") or "UNSET", "UNSET"),
            status_message=span.get("status_message") or "",
            attributes=_fold(attributes),
            events=tuple(
                SpanEvent(
                    str(event.get("name") or ""),
                    iso_ns(event["timestamp"]),
                    freeze({k: _plain(v) for k, v in (event.get("attributes") or {}).items()}),
                )
                for event in span.get("events") or ()
            ),
            resource=resource,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpanFormatError(f"not a Phoenix span: {printable(repr(exc))}") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


# ---- shared ----------------------------------------------------------------------------------


def _fold(attributes: dict[str, Any]) -> Mapping[str, Any]:
    """Fold ``metadata.a.b`` style keys back into one ``metadata`` JSON string."""
    for prefix in JSON_STRING_ATTRIBUTES:
        if prefix in attributes:
            continue
        dotted = prefix + "."
        keys = [key for key in attributes if key.startswith(dotted)]
        if not keys:
            continue
        nested: dict[str, Any] = {}
        for key in keys:
            *parents, leaf = key[len(dotted) :].split(".")
            node = nested
            for part in parents:
                child = node.setdefault(part, {})
                node = child if isinstance(child, dict) else node
            value = attributes.pop(key)
            node[leaf] = list(value) if isinstance(value, tuple) else value
        attributes[prefix] = json.dumps(nested)
    return freeze(attributes)


@register
class PhoenixSource(RemoteSource):
    """Arize Phoenix's REST API: ``phoenix+http://127.0.0.1:6006/PROJECT``."""

    scheme = "phoenix"
    example = "phoenix+http://127.0.0.1:6006/PROJ"
    description = "Arize Phoenix REST API, project PROJ"
    filters = frozenset({"session", "limit"})

    @classmethod
    def split_url(cls, url: str) -> tuple[str, str | None]:
        """The last path segment names the project: ``http://h/phoenix/proj`` -> ``proj``."""
        scheme, _, rest = url.partition("://")
        base, _, path = rest.partition("/")
        path = path.strip("/")
        if not path:
            return url, None
        head, _, project = path.rpartition("/")
        return f"{scheme}://{base}" + (f"/{head}" if head else ""), project

    def read_trace(self, trace_id: str) -> list[SpanRecord]:
        return read_phoenix(self.location, trace_id, project=self.project, client=self.http)

    def list_runs(self, query: RunQuery) -> Iterator[Listed]:
        for summary in list_phoenix(
            self.location,
            project=self.project,
            session=query.session,
            limit=query.limit,
            client=self.http,
            start_ns=query.start_ns,
            end_ns=query.end_ns,
        ):
            yield Listed(summary)

    def describe(self) -> str:
        return f"Phoenix project {self.project or DEFAULT_PROJECT!r} at {self.location}"
