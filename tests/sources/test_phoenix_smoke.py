"""Smoke test against a real Phoenix: spans sent with the OTel SDK's OTLP exporters come back
over Phoenix's REST API with their names, parents, attributes, statuses and events intact.

Needs an interpreter with arize-phoenix (see tests/support/phoenix_server.py); skipped only when
there is none. Run ``pytest -m phoenix -s`` to see the timings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import MessageAttributes, OpenInferenceSpanKindValues
from openinference.semconv.trace import SpanAttributes as SA
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, format_span_id, format_trace_id

# tests/ is a plain directory: pytest puts it on sys.path (rootdir-relative "prepend" mode).
from support.phoenix_server import DEFAULT_PROJECT, PhoenixServer, is_loopback

pytestmark = pytest.mark.phoenix

PROJECT = DEFAULT_PROJECT
STATUS_NAMES = {StatusCode.UNSET: "UNSET", StatusCode.OK: "OK", StatusCode.ERROR: "ERROR"}
OTLP_STATUS_CODES = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


def record_trace(service: str) -> list[ReadableSpan]:
    """One small agent-like trace (CHAIN > LLM, CHAIN > TOOL failing), finished in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {ResourceAttributes.PROJECT_NAME: PROJECT, "service.name": service}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel-bridge-tests")
    message = f"{SA.LLM_INPUT_MESSAGES}.0.{MessageAttributes.MESSAGE_ROLE}"
    content = f"{SA.LLM_INPUT_MESSAGES}.0.{MessageAttributes.MESSAGE_CONTENT}"
    answer = f"{SA.LLM_OUTPUT_MESSAGES}.0.{MessageAttributes.MESSAGE_CONTENT}"
    with tracer.start_as_current_span(
        "FunctionAgent.run",
        attributes={
            SA.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.CHAIN.value,
            SA.INPUT_VALUE: "What is 2 + 3?",
            SA.SESSION_ID: "session-1",
            SA.TAG_TAGS: ["smoke", service],
        },
    ) as root:
        with tracer.start_as_current_span(
            "OpenAI.achat",
            attributes={
                SA.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.LLM.value,
                SA.LLM_MODEL_NAME: "gpt-4o-mini",
                message: "user",
                content: "What is 2 + 3?",
                answer: "5",
                SA.LLM_TOKEN_COUNT_PROMPT: 12,
                SA.LLM_TOKEN_COUNT_COMPLETION: 1,
                SA.LLM_TOKEN_COUNT_TOTAL: 13,
            },
        ) as llm:
            llm.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span(
            "FunctionTool.acall",
            attributes={
                SA.OPENINFERENCE_SPAN_KIND: OpenInferenceSpanKindValues.TOOL.value,
                SA.TOOL_NAME: "add",
                SA.INPUT_VALUE: json.dumps({"kwargs": {"a": 2, "b": 3}}),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as tool:
            tool.record_exception(ValueError("no adding today"))
            tool.set_status(Status(StatusCode.ERROR, "ValueError: no adding today"))
        root.set_attribute(SA.OUTPUT_VALUE, "5")
    provider.shutdown()
    return list(memory.get_finished_spans())


def otlp_value(value: dict[str, Any]) -> Any:
    """The one set field of Phoenix's OTLP AnyValue JSON (every other field is null)."""
    if value.get("array_value") is not None:
        return [otlp_value(v) for v in value["array_value"]["values"]]
    set_fields = [v for k, v in value.items() if v is not None]
    assert len(set_fields) == 1, value
    return set_fields[0]


def by_span_id(spans: Sequence[dict[str, Any]], key: Any) -> dict[str, dict[str, Any]]:
    return {key(span): span for span in spans}


def plain(attributes: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()}


def assert_phoenix_json(sent: Sequence[ReadableSpan], got: Sequence[dict[str, Any]]) -> None:
    """``GET /v1/projects/{p}/spans``: Phoenix's own JSON."""
    got_by_id = by_span_id(got, lambda span: span["context"]["span_id"])
    assert set(got_by_id) == {format_span_id(s.context.span_id) for s in sent}
    for span in sent:
        received = got_by_id[format_span_id(span.context.span_id)]
        attributes = plain(span.attributes)
        kind = attributes.pop(SA.OPENINFERENCE_SPAN_KIND)
        assert received["name"] == span.name
        assert received["context"]["trace_id"] == format_trace_id(span.context.trace_id)
        assert received["parent_id"] == (span.parent and format_span_id(span.parent.span_id))
        assert received["span_kind"] == kind  # moved out of "attributes"
        assert received["attributes"] == attributes
        assert received["status_code"] == STATUS_NAMES[span.status.status_code]
        assert received["status_message"] == (span.status.description or "")
        assert [e["name"] for e in received["events"]] == [e.name for e in span.events]
        for event, received_event in zip(span.events, received["events"], strict=True):
            assert received_event["attributes"] == plain(event.attributes)
        # ISO-8601 with microseconds: nanoseconds are truncated on the way in.
        assert received["start_time"].endswith("+00:00")
        assert abs(_iso_to_ns(received["start_time"]) - nanos(span.start_time)) < 1_000
        assert abs(_iso_to_ns(received["end_time"]) - nanos(span.end_time)) < 1_000


def assert_otlpv1_json(sent: Sequence[ReadableSpan], got: Sequence[dict[str, Any]]) -> None:
    """``GET /v1/projects/{p}/spans/otlpv1``: OTLP-like JSON (snake_case, hex ids)."""
    got_by_id = by_span_id(got, lambda span: span["span_id"])
    assert set(got_by_id) == {format_span_id(s.context.span_id) for s in sent}
    for span in sent:
        received = got_by_id[format_span_id(span.context.span_id)]
        assert received["name"] == span.name
        assert received["trace_id"] == format_trace_id(span.context.trace_id)
        assert received["parent_span_id"] == (span.parent and format_span_id(span.parent.span_id))
        attributes = {kv["key"]: otlp_value(kv["value"]) for kv in received["attributes"]}
        assert attributes == plain(span.attributes)  # the span kind stays in the attributes
        assert received["status"]["code"] == OTLP_STATUS_CODES[span.status.status_code]
        assert received["status"]["message"] == span.status.description
        assert [e["name"] for e in received["events"] or []] == [e.name for e in span.events]
        # Microseconds turned back into float nanoseconds: off by a few hundred ns.
        assert abs(int(received["start_time_unix_nano"]) - nanos(span.start_time)) < 2_000
        assert abs(int(received["end_time_unix_nano"]) - nanos(span.end_time)) < 2_000


def nanos(timestamp: int | None) -> int:
    assert timestamp is not None, "span not finished"
    return timestamp


def _iso_to_ns(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def export(exporter: SpanExporter, spans: Sequence[ReadableSpan]) -> None:
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def test_listens_on_loopback_only(phoenix: PhoenixServer) -> None:
    sockets = phoenix.listening_sockets()
    assert {port for _, port in sockets} >= {phoenix.port, phoenix.grpc_port}, sockets
    assert all(is_loopback(host) for host, _ in sockets), sockets


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_spans_survive_the_round_trip(phoenix: PhoenixServer, protocol: str) -> None:
    sent = record_trace(service=f"smoke-{protocol.replace('/', '-')}")
    trace_id = format_trace_id(sent[0].context.trace_id)
    exporter: SpanExporter = (
        HttpSpanExporter(endpoint=phoenix.otlp_http_traces_url)
        if protocol == "http/protobuf"
        else GrpcSpanExporter(endpoint=phoenix.grpc_endpoint, insecure=True)
    )
    started = time.monotonic()
    export(exporter, sent)
    got = phoenix.fetch_spans(trace_id, min_spans=len(sent))
    print(
        f"\n{protocol}: {len(sent)} spans visible {time.monotonic() - started:.2f} s after export"
    )

    assert_phoenix_json(sent, got)
    assert_otlpv1_json(sent, phoenix.fetch_spans(trace_id, variant="otlpv1", min_spans=len(sent)))
    # Pages of 2 follow next_cursor to the same spans (newest first, both variants).
    for variant in ("phoenix", "otlpv1"):
        paged = phoenix.fetch_spans(trace_id, variant=variant, page_size=2)
        full = phoenix.fetch_spans(trace_id, variant=variant)
        assert paged == full and len(paged) == len(sent)


def test_phoenix_adds_openinference_attributes_to_genai_spans(phoenix: PhoenixServer) -> None:
    """Phoenix 20.x synthesises llm.* (and the LLM span kind) from gen_ai.* on ingest: a reader
    of Phoenix spans sees both conventions on one span and must not count tokens twice."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({ResourceAttributes.PROJECT_NAME: PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("otel-bridge-tests").start_as_current_span(
        "chat gpt-4o-mini",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 7,
            "gen_ai.usage.output_tokens": 3,
        },
    ) as span:
        pass
    provider.shutdown()
    export(HttpSpanExporter(endpoint=phoenix.otlp_http_traces_url), memory.get_finished_spans())

    (got,) = phoenix.fetch_spans(format_trace_id(span.get_span_context().trace_id))
    assert got["span_kind"] == OpenInferenceSpanKindValues.LLM.value
    assert got["attributes"]["gen_ai.usage.input_tokens"] == 7
    assert got["attributes"][SA.LLM_TOKEN_COUNT_PROMPT] == 7
    assert got["attributes"][SA.LLM_TOKEN_COUNT_COMPLETION] == 3
    assert got["attributes"][SA.LLM_TOKEN_COUNT_TOTAL] == 10  # never sent
    assert got["attributes"][SA.LLM_MODEL_NAME] == "gpt-4o-mini"
