"""SpanCapture bounds, Telemetry configuration, routing between Telemetry objects."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from support.runs import traced

from otel_bridge import ConfigError, SpanCapture, Telemetry, derive, load_spans
from otel_bridge.scripted import Reply, ScriptedLLMServer, Usage, scripted_openai_llm
from otel_bridge.spans import SpanRecord
from otel_bridge.telemetry import TelemetryConfig


def rec(trace: int, span: int) -> SpanRecord:
    return SpanRecord(
        trace_id=trace, span_id=span, parent_id=None, name="s", start_ns=span, end_ns=span + 1
    )


def test_capture_bounds_are_counted_not_silent() -> None:
    capture = SpanCapture(max_traces=2, max_spans_per_trace=3)
    for span in range(1, 6):
        capture.add(rec(1, span))
    assert len(capture.spans(1)) == 3 and capture.evicted(1) == 2
    capture.add(rec(2, 1))
    capture.add(rec(3, 1))  # evicts trace 1 (oldest)
    assert capture.spans(1) == [] and capture.evicted(1) == 5
    assert capture.trace_ids() == [f"{2:032x}", f"{3:032x}"]
    capture.add(rec(1, 9))  # a late span of an evicted trace is counted, not resurrected
    assert capture.spans(1) == [] and capture.evicted(1) == 6
    for span in (2, 3, 4):
        capture.add(rec(3, span))  # the fourth span of trace 3 is over the bound
    assert (len(capture.spans(3)), capture.evicted(3)) == (3, 1)
    assert derive(capture.spans(3), evicted_spans=capture.evicted(3)).issues == [
        "multiple_roots",
        "evicted_spans",
        "no_llm_calls",
    ]


def test_capture_is_thread_safe() -> None:
    capture = SpanCapture(max_traces=100, max_spans_per_trace=100_000)

    def work(trace: int) -> None:
        for span in range(1, 2001):
            capture.add(rec(trace, span))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(capture.spans(t)) for t in range(1, 9)) == 16_000


def test_config_from_env() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cret,x-team=evals",
        "OTEL_SERVICE_NAME": "evals",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,service.name=ignored",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
    }
    cfg = TelemetryConfig.from_env(env)
    assert cfg.traces_url == "http://collector:4318/v1/traces"
    assert cfg.headers == {"authorization": "Bearer s3cret", "x-team": "evals"}
    assert cfg.service_name == "evals"
    assert cfg.resource() == {"service.name": "evals", "deployment.environment": "ci"}
    assert cfg.export_timeout_s == 2.5
    described = cfg.describe()
    assert "s3cret" not in str(described) and described["headers"] == ["authorization", "x-team"]
    grpc = TelemetryConfig.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    assert (grpc.protocol, grpc.traces_url) == ("grpc", "http://c:4317")
    traces_only = TelemetryConfig.from_env(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9/custom"}
    )
    assert traces_only.traces_url == "http://c:9/custom"
    assert TelemetryConfig.from_env({}).otlp_endpoint is None
    creds = TelemetryConfig(otlp_endpoint="https://user:pw@host:4318?token=abc")
    assert creds.describe()["otlp_endpoint"] == "https://host:4318/v1/traces"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            },
            "unsupported OTLP protocol",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "must be an http"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "expected key=value"),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, "not a number"),
    ],
)
def test_config_errors_are_clear(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TelemetryConfig.from_env(env)


async def test_two_telemetries_each_get_their_own_runs(llm: ScriptedLLMServer) -> None:
    """The instrumentation is a process-wide singleton; routing keeps runs apart."""
    llm.set_script(
        [
            Reply(content="one", usage=Usage(5, 1)),
            Reply(content="two", usage=Usage(6, 2)),
            Reply(content="three", usage=Usage(7, 3)),
        ]
    )
    agent = FunctionAgent(name="solo", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    first, second = Telemetry(), Telemetry()
    try:
        _, id_one = await traced(first, lambda: agent.run(user_msg="hi"))
        _, id_two = await traced(second, lambda: agent.run(user_msg="hi again"))
        # Outside any run scope, the most recently opened Telemetry receives the trace.
        assert str(await agent.run(user_msg="unscoped")) == "three"
    finally:
        first.shutdown()
        second.shutdown()
    assert first.capture.trace_ids() == [id_one]
    assert second.capture.trace_ids()[0] == id_two
    assert [(t.input, t.output) for t in first.run_traces()] == [("hi", "one")]
    assert [(t.input, t.output) for t in second.run_traces()] == [
        ("hi again", "two"),
        ("unscoped", "three"),
    ]


def test_unreachable_endpoint_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    telemetry = Telemetry(otlp_endpoint="http://127.0.0.1:9", export_timeout_s=0.5)
    with telemetry.start_run("lonely") as span:
        pass
    telemetry.shutdown()
    errors = telemetry.export_errors()
    assert list(errors) == ["http://127.0.0.1:9/v1/traces (OTLP/HTTP)"]
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert telemetry.run_trace(trace_id).issues == ["no_llm_calls", "export_failed"]
    assert telemetry.run_traces()[0].issues == ["no_llm_calls", "export_failed"]
    warnings = [r for r in caplog.records if "export to" in r.getMessage()]
    assert len(warnings) == 1
    assert len(telemetry.spans()) == 1, "the run is still captured in memory"


async def test_context_manager_flushes_the_file(llm: ScriptedLLMServer, tmp_path: Path) -> None:
    llm.set_script([Reply(content="flushed", usage=Usage(9, 1))])
    agent = FunctionAgent(name="solo", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    path = tmp_path / "spans.otlp.json"
    with Telemetry(otlp_json_file=path) as telemetry:
        _, trace_id = await traced(telemetry, lambda: agent.run(user_msg="hi"))
        in_memory = derive(telemetry.spans(trace_id))
    from_file = derive(load_spans(path))
    assert from_file.to_dict() == in_memory.to_dict()
    assert from_file.output == "flushed" and from_file.usage.total_tokens == 10


def test_span_attribute_limit_from_env() -> None:
    assert TelemetryConfig().max_span_attributes == 100_000
    env = {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "5000"}
    assert TelemetryConfig.from_env(env).max_span_attributes == 5000
    with pytest.raises(ConfigError, match="not an integer"):
        TelemetryConfig.from_env({"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "many"})


async def test_a_telemetry_that_claims_no_unscoped_runs_gets_only_its_own(
    llm: ScriptedLLMServer,
) -> None:
    llm.set_script(
        [Reply(content="mine", usage=Usage(5, 1)), Reply(content="yours", usage=Usage(6, 2))]
    )
    agent = FunctionAgent(name="solo", tools=[], llm=scripted_openai_llm(llm, include_usage=True))
    user_telemetry = Telemetry()
    scoped_only = Telemetry(claim_unscoped=False)  # opened last, as an adapter's default would be
    try:
        _, own_id = await traced(scoped_only, lambda: agent.run(user_msg="scoped"))
        await agent.run(user_msg="unscoped")
        assert scoped_only.capture.trace_ids() == [own_id]
        [unscoped] = user_telemetry.run_traces()
        assert unscoped.output == "yours"
    finally:
        scoped_only.shutdown()
        user_telemetry.shutdown()


def test_export_failures_are_flagged_on_their_own_traces_only() -> None:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from otel_bridge.telemetry._exporters import ReportingExporter

    class FlakyExporter(SpanExporter):
        def __init__(self) -> None:
            self.calls = 0

        def export(self, spans: object) -> SpanExportResult:
            self.calls += 1
            return SpanExportResult.FAILURE if self.calls == 1 else SpanExportResult.SUCCESS

    tracer = TracerProvider().get_tracer("t")
    first, second = tracer.start_span("a"), tracer.start_span("b")
    first.end()
    second.end()
    assert isinstance(first, ReadableSpan) and isinstance(second, ReadableSpan)  # SDK spans
    reporting = ReportingExporter(FlakyExporter(), "flaky")
    reporting.export([first])
    reporting.export([second])
    assert reporting.lost(first.get_span_context().trace_id)
    assert not reporting.lost(second.get_span_context().trace_id)
    assert (reporting.failed_batches, reporting.failed_spans) == (1, 1)
