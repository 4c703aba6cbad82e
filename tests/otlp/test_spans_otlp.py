"""Converters: SDK span -> SpanRecord -> OTLP protobuf/JSON -> SpanRecord, every field kept."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from otel_bridge import SourceError, SpanFormatError, load_spans
from otel_bridge.otlp import (
    decode_request,
    decode_request_json,
    from_request,
    request_to_json,
    to_request,
)
from otel_bridge.spans import SpanRecord
from otel_bridge.telemetry import from_readable_span
from otel_bridge.telemetry._exporters import OTLPJsonFileExporter


def _sdk_spans() -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "team": "evals"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope.name")
    with tracer.start_as_current_span("root", attributes={"a.str": "x", "a.int": 3}) as root:
        with tracer.start_as_current_span("child") as child:
            child.set_attributes(
                {"a.float": 1.5, "a.bool": True, "a.list": ["p", "q"], "a.ints": [1, 2]}
            )
            child.add_event("First Token Stream Event", {"n": 1})
            child.set_status(Status(StatusCode.ERROR, "it broke"))
        root.set_status(Status(StatusCode.OK))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def test_readable_span_conversion_accounts_for_every_attribute() -> None:
    child_sdk, root_sdk = _sdk_spans()
    child, root = from_readable_span(child_sdk), from_readable_span(root_sdk)
    attrs = dict(child.attributes)
    assert attrs.pop("a.float") == 1.5
    assert attrs.pop("a.bool") is True
    assert attrs.pop("a.list") == ("p", "q")
    assert attrs.pop("a.ints") == (1, 2)
    assert attrs == {}
    assert dict(root.attributes) == {"a.str": "x", "a.int": 3}
    assert child.parent_id == root.span_id and root.parent_id is None
    assert child.trace_id == root.trace_id == child_sdk.context.trace_id
    assert (child.status, child.status_message, root.status) == ("ERROR", "it broke", "OK")
    assert [(e.name, dict(e.attributes)) for e in child.events] == [
        ("First Token Stream Event", {"n": 1})
    ]
    assert child.resource["service.name"] == "svc" and child.resource["team"] == "evals"
    assert child.scope == "scope.name" and child.kind == "INTERNAL"
    assert child.start_ns == child_sdk.start_time and child.end_ns == child_sdk.end_time
    assert len(child.trace_id_hex) == 32 and len(child.span_id_hex) == 16


def test_protobuf_and_json_round_trips_are_lossless() -> None:
    records = [from_readable_span(s) for s in _sdk_spans()]
    request = to_request(records)
    assert from_request(decode_request(request.SerializeToString())) == records
    body = request_to_json(request)
    span_json = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span_json["traceId"] == records[0].trace_id_hex, "OTLP/JSON ids are hex"
    assert span_json["parentSpanId"] == records[0].parent_id_hex
    assert from_request(decode_request_json(json.dumps(body))) == records


GOOD_IDS = {"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708"}


def _body(span: dict[str, str]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not JSON"),
        ('{"resource": 1}', "no 'resourceSpans'"),
        ('{"resourceSpans": {}}', "must be a list"),
        (_body({"traceId": "zz", "spanId": "01"}), "not hex"),
        (_body({"traceId": "0102", "spanId": "0102030405060708"}), "traceId must be 16 bytes"),
        (_body({**GOOD_IDS, "startTimeUnixNano": "soon"}), "malformed OTLP/JSON"),
        (_body({**GOOD_IDS, "spanId": "0000000000000000"}), "spanId is all zeros"),
    ],
)
def test_malformed_otlp_json_says_what_is_wrong(body: str, message: str) -> None:
    with pytest.raises(SpanFormatError, match=message):
        from_request(decode_request_json(body))


def test_malformed_protobuf() -> None:
    with pytest.raises(SpanFormatError, match="malformed OTLP protobuf"):
        decode_request(b"\xff\xff\xff garbage")


def test_file_exporter_lines_and_load_spans(tmp_path: Path) -> None:
    path = tmp_path / "out.otlp.json"
    sdk = _sdk_spans()
    exporter = OTLPJsonFileExporter(path)
    exporter.export(sdk[:1])
    exporter.export(sdk[1:])
    exporter.shutdown()
    assert len(path.read_text().splitlines()) == 2, "one OTLP/JSON body per export batch"
    assert load_spans(path) == [from_readable_span(s) for s in sdk]
    single = tmp_path / "single.json"
    single.write_text(json.dumps(request_to_json(to_request(load_spans(path))), indent=2))
    assert load_spans(single) == load_spans(path)


def test_load_spans_bad_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_spans(tmp_path / "missing.json")
    wrong = tmp_path / "notes.txt"
    wrong.write_text("hello\nworld\n")
    with pytest.raises(SpanFormatError, match=r"notes\.txt: a text file, but not OTLP/JSON"):
        load_spans(wrong)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x89PNG\x00\xff")
    with pytest.raises(SpanFormatError, match=r"blob\.bin: not a text file, nor OTLP protobuf"):
        load_spans(binary)


def test_record_is_frozen() -> None:
    record = SpanRecord(trace_id=1, span_id=2, parent_id=None, name="n", start_ns=1, end_ns=2)
    with pytest.raises(AttributeError):
        record.name = "m"  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.attributes["x"] = 1  # type: ignore[index]


def _attribute_changes() -> list:
    return [
        lambda a: a.__setitem__("x", 1),
        lambda a: a.__delitem__("a.str"),
        lambda a: a.update({"x": 1}),
        lambda a: a.setdefault("x", 1),
        lambda a: a.pop("a.str"),
        lambda a: a.popitem(),
        lambda a: a.clear(),
        lambda a: a.__ior__({"x": 1}),
    ]


def test_attributes_from_every_converter_refuse_changes_and_copy_whole() -> None:
    records = [from_readable_span(s) for s in _sdk_spans()]
    request = to_request(records)
    converted = {
        "SDK span": records,
        "OTLP protobuf": from_request(decode_request(request.SerializeToString())),
        "OTLP/JSON": from_request(decode_request_json(json.dumps(request_to_json(request)))),
    }
    for source, spans in converted.items():
        root = next(s for s in spans if s.name == "root")
        for change in _attribute_changes():
            with pytest.raises(TypeError, match="read-only"):
                change(root.attributes)
        assert dict(root.attributes) == {"a.str": "x", "a.int": 3}, source
        for kept in (copy.copy(root), copy.deepcopy(root), pickle.loads(pickle.dumps(root))):
            assert kept == root and type(kept.attributes) is type(root.attributes), source
            with pytest.raises(TypeError, match="read-only"):
                kept.attributes["x"] = 1  # type: ignore[index]
        assert json.loads(json.dumps(root.attributes)) == {"a.str": "x", "a.int": 3}


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": [1, 2.5, -3e-7, 18446744073709551615, true, null, "x\\u00e9\\ud83d\\ude00"]}',
        '{"a": "caf\u00e9"}',  # text, not bytes
        b'{"a": 1, "a": 2}',  # the last of a repeated key
        b'{"d": NaN, "i": Infinity}',  # json's extension, which orjson refuses
        b'{"lone": "\\ud800 and \\udfff"}',  # lone surrogates, which orjson refuses
        b"\xef\xbb\xbf{}",  # a BOM, which orjson refuses
    ],
)
def test_load_json_reads_what_json_reads(text: bytes | str) -> None:
    """orjson reads what it can, json the rest: the values are json's (lone surrogates as
    U+FFFD, counted) wherever orjson would refuse the text or read it otherwise."""
    from otel_bridge.otlp import REPLACEMENT, load_json

    value, replaced = load_json(text)
    expected = json.loads(text)
    if b"\\ud800" in (text if isinstance(text, bytes) else b""):
        expected = {"lone": f"{REPLACEMENT} and {REPLACEMENT}"}
        assert replaced == 2
    else:
        assert replaced == 0
    assert repr(value) == repr(expected)  # (repr: NaN is not equal to itself)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"a": 1', "not JSON: Expecting ',' delimiter at column 8"),
        (b'{"a": "\xff"}', "not JSON: not UTF-8 text"),
        (b"[" * 5000 + b"]" * 5000, "not JSON: nested too deeply"),
    ],
)
def test_load_json_says_what_is_wrong_as_json_would(text: bytes, message: str) -> None:
    from otel_bridge.otlp import load_json

    with pytest.raises(SpanFormatError, match=message):
        load_json(text)
