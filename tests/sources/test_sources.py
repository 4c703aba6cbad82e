"""load_spans: the source syntax, every source's errors, and the Phoenix and Jaeger converters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from support.collector_fixtures import (
    ServedApp,
    collector,  # noqa: F401  (fixture)
)
from support.phoenix_server import free_port

from otel_bridge import (
    SourceError,
    SpanCapture,
    SpanFormatError,
    SpanRecord,
    TraceIdError,
    load_spans,
)
from otel_bridge.collector import Collector
from otel_bridge.otlp import request_to_json, to_request
from otel_bridge.sources import (
    parse_source,
    read_phoenix,
    records_from_jaeger_json,
    records_from_phoenix_otlpv1,
    records_from_phoenix_spans,
)
from otel_bridge.spans import SpanEvent

TID = 0x22CDA3AD6A3CBD29F4815623CFF77B08
TID_HEX = f"{TID:032x}"


@pytest.mark.parametrize(
    ("source", "parsed"),
    [
        ("run.otlp.json", ("file", "run.otlp.json", None)),
        ("file:///tmp/run.json", ("file", "/tmp/run.json", None)),
        ("http://127.0.0.1:4318", ("collector", "http://127.0.0.1:4318", None)),
        ("collector+https://h:4318/", ("collector", "https://h:4318/", None)),
        ("phoenix+http://h:6006", ("phoenix", "http://h:6006", None)),
        ("phoenix+http://h:6006/my-project", ("phoenix", "http://h:6006", "my-project")),
        ("phoenix+http://h/phoenix/proj/", ("phoenix", "http://h/phoenix", "proj")),
        ("jaeger+http://h:16686", ("jaeger", "http://h:16686", None)),
        ("jaeger-legacy+http://h:16686", ("jaeger-legacy", "http://h:16686", None)),
    ],
)
def test_source_syntax(source: str, parsed: tuple[str, str, str | None]) -> None:
    assert parse_source(source) == parsed


def test_source_syntax_errors() -> None:
    assert parse_source("http://h:16686", "jaeger") == ("jaeger", "http://h:16686", None)
    with pytest.raises(SourceError, match="unknown source kind 'zipkin'"):
        parse_source("http://h", "zipkin")
    with pytest.raises(SourceError, match="the URL says 'phoenix' but kind='jaeger'"):
        parse_source("phoenix+http://h", "jaeger")
    with pytest.raises(SourceError, match="must be an http"):
        parse_source("run.json", "collector")
    with pytest.raises(SourceError, match=r"^http://127.0.0.1:1/api/traces: cannot connect"):
        load_spans("http://127.0.0.1:1")  # asked for its one run: it is not there
    with pytest.raises(SourceError, match="unsupported scheme 'ftp'"):
        parse_source("ftp://host/run.json")
    assert parse_source("C:/runs/run.json") == ("file", "C:/runs/run.json", None)
    with pytest.raises(TraceIdError, match="invalid trace id 'xyz'"):
        load_spans("http://127.0.0.1:1", "xyz")
    with pytest.raises(SourceError, match="cannot read spans from a dict"):
        load_spans({"spans": []})  # type: ignore[arg-type]


def records() -> list[SpanRecord]:
    return [
        SpanRecord(TID, 1, None, "root", 10, 20),
        SpanRecord(TID, 2, 1, "child", 11, 12),
        SpanRecord(0x99, 3, None, "other", 30, 40),
    ]


def test_file_and_memory_sources_filter_by_trace(tmp_path: Path) -> None:
    path = tmp_path / "run.otlp.json"
    path.write_text(json.dumps(request_to_json(to_request(records()))))
    assert len(load_spans(path)) == 3
    assert [s.name for s in load_spans(path, TID_HEX.upper())] == ["root", "child"]
    assert [s.name for s in load_spans(f"file://{path}", 0x99)] == ["other"]
    with pytest.raises(SourceError, match=f"no spans of trace {0x42:032x}"):
        load_spans(path, 0x42)
    capture = SpanCapture()
    for record in records():
        capture.add(record)
    assert [s.name for s in load_spans(capture, TID)] == ["root", "child"]
    assert len(load_spans(capture)) == 3
    with pytest.raises(SourceError, match="no captured spans of trace"):
        load_spans(capture, 0x42)


# ---- the collector source: errors ---------------------------------------------------------------


def test_collector_source_errors(collector: Collector) -> None:  # noqa: F811
    with pytest.raises(SourceError, match=f"no trace {TID_HEX} in the collector"):
        load_spans(collector.http_url, TID)
    with pytest.raises(SourceError, match=r"cannot connect .*; is it running\?"):
        load_spans(f"http://127.0.0.1:{free_port()}", TID)

    def page(request: Any) -> HTMLResponse:
        return HTMLResponse("<html>hello</html>")

    def boom(request: Any) -> PlainTextResponse:
        return PlainTextResponse("database is on fire", 500)

    app = Starlette(
        routes=[Route("/api/traces/{tid}/spans", page), Route("/x/api/traces/{tid}/spans", boom)]
    )
    with ServedApp(app) as other:
        with pytest.raises(SourceError, match="not an otel-bridge collector"):
            load_spans(other.url, TID)
        with pytest.raises(SourceError, match="500 Internal Server Error: database is on fire"):
            load_spans(f"{other.url}/x", TID)


# ---- Phoenix ------------------------------------------------------------------------------------


def _any(**value: Any) -> dict[str, Any]:
    """An AnyValue the way Phoenix writes it: every field, null when unset."""
    fields = ("array_value", "bool_value", "bytes_value", "double_value", "int_value")
    base: dict[str, Any] = dict.fromkeys((*fields, "kvlist_value", "string_value"))
    return base | value


PHOENIX_OTLPV1_SPAN = {
    "trace_id": TID_HEX,
    "span_id": "6df35c69bf880ffa",
    "parent_span_id": "715956670dd480b7",
    "name": "child",
    "kind": "SPAN_KIND_INTERNAL",
    "start_time_unix_nano": 1795453758437805056,
    "end_time_unix_nano": 1795453758437840896,
    "attributes": [
        {"key": "llm.token_count.prompt", "value": _any(int_value=10)},
        {"key": "openinference.span.kind", "value": _any(string_value="LLM")},
        {"key": "f", "value": _any(double_value=1.5)},
        {"key": "b", "value": _any(bool_value=True)},
        {"key": "tags", "value": _any(array_value={"values": [_any(string_value="a")]})},
        {"key": "metadata.k", "value": _any(int_value=1)},
        {"key": "metadata.nested.x", "value": _any(string_value="y")},
        {"key": "gone", "value": _any()},
    ],
    "events": [
        {
            "name": "ev",
            "time_unix_nano": 1795453758437819904,
            "dropped_attributes_count": None,
            "attributes": [{"key": "x", "value": _any(int_value="1")}],
        }
    ],
    "status": {"code": 2, "message": "boom"},
    "dropped_attributes_count": None,
    "dropped_events_count": None,
    "dropped_links_count": None,
    "flags": None,
    "links": None,
    "trace_state": None,
}
PHOENIX_SPAN = {
    "id": "U3Bhbjox",
    "name": "child",
    "context": {"trace_id": TID_HEX, "span_id": "6df35c69bf880ffa"},
    "span_kind": "LLM",
    "parent_id": "715956670dd480b7",
    "start_time": "2026-11-23T17:09:18.437805+00:00",
    "end_time": "2026-11-23T17:09:18.437841+00:00",
    "status_code": "ERROR",
    "status_message": "boom",
    "attributes": {
        "llm.token_count.prompt": 10,
        "f": 1.5,
        "b": True,
        "tags": ["a"],
        "metadata.k": 1,
        "metadata.nested.x": "y",
        "gone": None,
    },
    "events": [
        {"name": "ev", "timestamp": "2026-11-23T17:09:18.437820+00:00", "attributes": {"x": 1}}
    ],
}


def test_phoenix_converters_account_for_every_field() -> None:
    (otlp,) = records_from_phoenix_otlpv1([PHOENIX_OTLPV1_SPAN], "proj")
    (own,) = records_from_phoenix_spans([PHOENIX_SPAN], "proj")
    for record in (otlp, own):
        assert (record.trace_id, record.span_id, record.parent_id) == (
            TID,
            0x6DF35C69BF880FFA,
            0x715956670DD480B7,
        )
        assert record.name == "child"
        assert (record.status, record.status_message) == ("ERROR", "boom")
        assert dict(record.resource) == {"openinference.project.name": "proj"}
        attributes = dict(record.attributes)
        assert json.loads(attributes.pop("metadata")) == {"k": 1, "nested": {"x": "y"}}
        assert attributes == {
            "llm.token_count.prompt": 10,
            "openinference.span.kind": "LLM",  # back in the attributes for /spans too
            "f": 1.5,
            "b": True,
            "tags": ("a",),
            "gone": None,
        }
        assert [(e.name, dict(e.attributes)) for e in record.events] == [("ev", {"x": 1})]
    # otlpv1: Phoenix's float nanoseconds; /spans: exact microseconds.
    assert (otlp.start_ns, otlp.end_ns) == (1795453758437805056, 1795453758437840896)
    assert (own.start_ns, own.end_ns) == (1795453758437805000, 1795453758437841000)
    assert own.events == (SpanEvent("ev", 1795453758437820000, own.events[0].attributes),)
    with pytest.raises(SpanFormatError, match="not a Phoenix otlpv1 span"):
        records_from_phoenix_otlpv1([{"trace_id": "00"}])
    with pytest.raises(SpanFormatError, match="not a Phoenix span"):
        records_from_phoenix_spans([{"context": {}}])


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_read_phoenix_pages_through_the_otlpv1_route() -> None:
    seen: list[str] = []
    second = PHOENIX_OTLPV1_SPAN | {"span_id": "715956670dd480b7", "parent_span_id": None}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.url.raw_path.startswith(b"/v1/projects/my%20proj/spans/otlpv1?")
        assert request.url.params["trace_id"] == TID_HEX
        if request.url.params.get("cursor") == "page-2":
            return httpx.Response(200, json={"data": [second], "next_cursor": None})
        return httpx.Response(200, json={"data": [PHOENIX_OTLPV1_SPAN], "next_cursor": "page-2"})

    spans = read_phoenix("http://phoenix", TID, project="my proj", client=_mock(handler))
    assert [s.span_id for s in spans] == [0x6DF35C69BF880FFA, 0x715956670DD480B7]
    assert len(seen) == 2 and "limit=1000" in seen[0]


def test_read_phoenix_falls_back_to_the_spans_route_and_reports_errors() -> None:
    def old_phoenix(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/otlpv1"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json={"data": [PHOENIX_SPAN], "next_cursor": None})

    (span,) = read_phoenix("http://phoenix", TID, client=_mock(old_phoenix))
    assert span.attributes["openinference.span.kind"] == "LLM"

    def no_project(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/projects":  # the projects that do exist, in two pages
            if request.url.params.get("cursor") == "p2":
                return httpx.Response(200, json={"data": [{"name": "b"}], "next_cursor": None})
            return httpx.Response(200, json={"data": [{"name": "a"}], "next_cursor": "p2"})
        return httpx.Response(404, json={"detail": "Project with name default not found"})

    with pytest.raises(SourceError) as error:
        read_phoenix("http://phoenix", TID, client=_mock(no_project))
    assert str(error.value) == "http://phoenix: no project 'default' in Phoenix; its projects: a, b"

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    with pytest.raises(SourceError) as error:  # not there: no advice to retry
        read_phoenix("http://phoenix", TID, project="p", client=_mock(empty))
    assert str(error.value) == (
        f"http://phoenix: no trace {TID_HEX} in Phoenix project 'p' (list its runs with: "
        "otel-bridge traces phoenix+http://phoenix/p)"
    )

    def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [], "next_cursor": "same"})

    with pytest.raises(SourceError, match="repeats cursor"):
        read_phoenix("http://phoenix", TID, client=_mock(loop))


# ---- Jaeger -------------------------------------------------------------------------------------


def test_jaeger_legacy_model_where_the_recordings_do_not_go() -> None:
    """A FOLLOWS_FROM reference, an array tag (Jaeger keeps it as a JSON string), ``error=true``
    without ``otel.status_code``, a status description; a trace that is not one."""

    def tag(key: str, kind: str, value: Any) -> dict[str, Any]:
        return {"key": key, "type": kind, "value": value}

    def span(span_id: str, references: list[dict[str, str]], tags: list[Any]) -> dict[str, Any]:
        return {
            "traceID": TID_HEX,
            "spanID": span_id,
            "operationName": f"span-{span_id[-1]}",
            "references": references,
            "startTime": 1_000,
            "duration": 8_000,
            "tags": tags,
            "logs": [],
            "processID": "p1",
        }

    failed = [
        tag("list", "string", '["a", "b"]'),
        tag("error", "bool", True),
        tag("otel.status_description", "string", "it failed"),
    ]
    references = [
        {"refType": "FOLLOWS_FROM", "traceID": TID_HEX, "spanID": "0000000000000009"},
        {"refType": "CHILD_OF", "traceID": TID_HEX, "spanID": "0000000000000001"},
    ]
    trace = {
        "traceID": TID_HEX,
        "processes": {"p1": {"serviceName": "agent", "tags": []}},
        "spans": [span("0000000000000001", [], failed), span("0000000000000002", references, [])],
    }
    root, child = records_from_jaeger_json({"data": [trace]})
    assert dict(root.attributes) == {"list": '["a", "b"]'}
    assert (root.status, root.status_message) == ("ERROR", "it failed")
    assert (child.parent_id, child.status) == (1, "UNSET")  # the CHILD_OF reference
    with pytest.raises(SpanFormatError, match="not a Jaeger trace"):
        records_from_jaeger_json({"data": [{"spans": [{"traceID": "zz"}]}]})
