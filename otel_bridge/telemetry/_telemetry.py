"""Telemetry: a TracerProvider of its own, LlamaIndex instrumented, capture and exporters."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from .. import frameworks as fw
from ..derivation import PriceTable, derive, derive_all, preload_prices
from ..errors import SourceError
from ..run_trace import RunTrace
from ..spans import SpanRecord, format_trace_id
from . import _routing as routing
from ._capture import CapturedTrace, SpanCapture
from ._config import Protocol, Semconv, TelemetryConfig, mask_patterns
from ._enrichment import DerivedRuns
from ._exporters import FanOut, OTLPJsonFileExporter, ReportingExporter
from ._trace_buffer import EnrichingSpanProcessor

__all__ = ["Telemetry"]

logger = logging.getLogger(__name__)


class Telemetry:
    """Runs agents under OpenTelemetry: in-memory capture always, OTLP and file optionally.

    It never replaces the global tracer provider unless ``set_global=True``. Each agent
    framework (``frameworks``: every supported one that is installed, or the names given) is
    instrumented once per process; each trace goes to the Telemetry that owns it (see
    ``_routing``), so several Telemetry objects can live side by side. A run started outside
    ``start_run``/``activate`` goes to the most recently opened Telemetry that claims such
    runs (``claim_unscoped=True``, the default). ``semconv`` says what the exported spans
    speak (``openinference``, ``genai`` or ``both``; see ``_export_view``), ``genai_content``
    whether GenAI message content is exported (default: where OpenInference records content).
    ``prices`` (model -> ``ModelPrice``)
    overrides genai-prices' prices in the RunTraces it derives. ``export_wait_s`` bounds how
    long ``run_trace`` waits for a run's spans to be exported (see there). ``hide_inputs``,
    ``hide_outputs`` (OpenInference's ``TraceConfig`` rules, GenAI names too) and ``mask``
    (True: ``SECRET_PATTERNS``; or a list of regular expressions) apply to everything this
    Telemetry captures and exports (see ``_redaction``).
    """

    def __init__(
        self,
        otlp_endpoint: str | None = None,
        protocol: Protocol = "http/protobuf",
        *,
        headers: Mapping[str, str] | None = None,
        service_name: str = "otel-bridge",
        resource_attributes: Mapping[str, str] | None = None,
        project_name: str | None = None,
        otlp_json_file: str | Path | None = None,
        max_traces: int = 1000,
        max_spans_per_trace: int = 20_000,
        export_timeout_s: float = 5.0,
        export_wait_s: float | None = None,
        max_span_attributes: int = 100_000,
        set_global: bool = False,
        claim_unscoped: bool = True,
        semconv: Semconv = "openinference",
        genai_content: bool | None = None,
        prices: PriceTable | None = None,
        hide_inputs: bool = False,
        hide_outputs: bool = False,
        mask: bool | Sequence[str | re.Pattern[str]] = False,
        config: TelemetryConfig | None = None,
        frameworks: Sequence[str] | None = None,
    ) -> None:
        self.config = config or TelemetryConfig(
            otlp_endpoint=otlp_endpoint,
            protocol=protocol,
            headers=dict(headers or {}),
            service_name=service_name,
            resource_attributes=dict(resource_attributes or {}),
            project_name=project_name,
            otlp_json_file=str(otlp_json_file) if otlp_json_file else None,
            max_traces=max_traces,
            max_spans_per_trace=max_spans_per_trace,
            export_timeout_s=export_timeout_s,
            export_wait_s=export_wait_s,
            max_span_attributes=max_span_attributes,
            semconv=semconv,
            genai_content=genai_content,
            prices=prices,
            hide_inputs=hide_inputs,
            hide_outputs=hide_outputs,
            mask=mask_patterns(mask),
        )
        self.closed = False
        # What this Telemetry hides and masks; callers that keep text of a run themselves (a
        # query, an answer) can keep it the same way (``input_text`` / ``output_text``).
        self.redaction = self.config.redaction
        self.capture = SpanCapture(
            self.config.max_traces, self.config.max_spans_per_trace, self.redaction
        )
        self.provider = TracerProvider(
            resource=Resource.create(self.config.resource()),
            span_limits=SpanLimits(max_span_attributes=self.config.max_span_attributes),
        )
        self.provider.add_span_processor(routing.OwnerRegistrar(self))
        self.provider.add_span_processor(self.capture)
        self.exporters = [ReportingExporter(e, target) for target, e in self._build_exporters()]
        self._exporting: EnrichingSpanProcessor | None = None
        self.derived = DerivedRuns()  # runs run_trace derived, reused by their export
        if self.exporters:
            # One enriching processor for all exporters: each trace is enriched once.
            self._exporting = self._export_processor(FanOut(self.exporters))
            self.provider.add_span_processor(self._exporting)
        self.tracer = self.provider.get_tracer("otel_bridge")
        if set_global:
            trace_api.set_tracer_provider(self.provider)
        # The frameworks this Telemetry captures: every supported one installed, or the ones
        # named (each must be installed: FrameworkNotInstalled names the extra otherwise).
        chosen = fw.select(frameworks)
        if frameworks is None:
            chosen = tuple(f for f in chosen if f.installed())
        self.frameworks = chosen
        routing.ensure_instrumented(chosen)
        preload_prices()  # before agents run on threads: see preload_prices
        if claim_unscoped:
            routing.register_live(self)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Telemetry:
        """A Telemetry configured by the OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME and
        OTEL_RESOURCE_ATTRIBUTES variables."""
        set_global = bool(overrides.pop("set_global", False))
        claim = bool(overrides.pop("claim_unscoped", True))
        return cls(
            config=TelemetryConfig.from_env(env, **overrides),
            set_global=set_global,
            claim_unscoped=claim,
        )

    def _build_exporters(self) -> list[tuple[str, SpanExporter]]:
        cfg = self.config
        exporters: list[tuple[str, SpanExporter]] = []
        if cfg.otlp_json_file:  # first: a slow or unreachable endpoint must not delay the file
            exporters.append((cfg.otlp_json_file, OTLPJsonFileExporter(cfg.otlp_json_file)))
        url = cfg.traces_url
        if url is not None:
            if cfg.protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                    OTLPSpanExporter as GrpcExporter,
                )

                exporters.append(
                    (
                        f"{url} (OTLP/gRPC)",
                        GrpcExporter(
                            endpoint=url,
                            insecure=url.startswith("http://"),
                            headers=dict(cfg.headers) or None,
                            timeout=cfg.export_timeout_s,
                        ),
                    )
                )
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter as HttpExporter,
                )

                exporters.append(
                    (
                        f"{url} (OTLP/HTTP)",
                        HttpExporter(
                            endpoint=url,
                            headers=dict(cfg.headers) or None,
                            timeout=cfg.export_timeout_s,
                        ),
                    )
                )
        return exporters

    def _export_processor(self, exporter: SpanExporter) -> EnrichingSpanProcessor:
        """Export off the agent's thread, in batches, each trace enriched with its agents."""
        content = self.config.genai_content
        return EnrichingSpanProcessor(
            exporter,
            schedule_delay_millis=500,
            max_spans=self.config.max_spans_per_trace,
            semconv=self.config.semconv,
            content=_openinference_content() if content is None else content,
            redaction=self.redaction,
            derived=self.derived,
        )

    # ---- reading what was captured ------------------------------------------------------

    def spans(self, trace_id: str | int | None = None) -> list[SpanRecord]:
        """Captured spans of one trace, or of all traces kept."""
        return self.capture.spans(trace_id)

    def run_trace(self, trace_id: str | int, captured: CapturedTrace | None = None) -> RunTrace:
        """The RunTrace of one captured trace, with capture and export problems in ``issues``.

        ``captured``: the trace as ``capture.snapshot`` read it earlier (to derive a run after
        its spans left the capture); by default, what the capture holds now. With exporters,
        the trace's spans not exported yet are exported at once, and the call waits for that
        at most ``export_wait_s`` (default: the export timeout + 1 s): ``export_failed`` says
        some of them failed to export, ``export_pending`` that some were not through when the
        wait ended (a later ``run_trace`` tells). ``SourceError`` when no span of that trace
        was captured (or all were evicted).
        """
        tid = format_trace_id(trace_id)
        spans, evicted = self.capture.snapshot(tid) if captured is None else captured
        if not spans:
            raise SourceError(f"no captured spans for trace {tid}")
        trace = derive(spans, evicted_spans=evicted, prices=self.config.prices)
        if self._exporting is not None:  # its export plans with it rather than derive again
            self.derived.put(spans, trace)
        return self._with_export_issues([trace], {int(tid, 16): len(spans) + evicted})[0]

    def run_traces(self) -> list[RunTrace]:
        """RunTraces of every captured trace, oldest first (export awaited as in ``run_trace``)."""
        spans = self.capture.spans()
        evicted = self.capture.evicted_counts()
        traces = derive_all(spans, evicted, prices=self.config.prices)
        ended = Counter(s.trace_id for s in spans)
        ended.update({t: n for t, n in evicted.items() if t in ended})
        return self._with_export_issues(traces, ended)

    def _with_export_issues(
        self, traces: list[RunTrace], ended: Mapping[int, int]
    ) -> list[RunTrace]:
        """``export_failed`` / ``export_pending`` on the traces, after a bounded wait.

        ``ended``: how many spans of each trace ended (captured or evicted); each went to the
        export processor, which counts those it handed to the exporters.
        """
        exporting = self._exporting
        if exporting is None or not traces:
            return traces
        ids = [int(t.trace_id, 16) for t in traces]
        behind = [t for t in ids if exporting.sent(t) < ended.get(t, 0)]
        if behind and not self.closed:
            exporting.flush_traces(behind, self.config.export_wait)
        for trace, trace_id in zip(traces, ids, strict=True):
            if any(e.lost(trace_id) for e in self.exporters):
                trace.issues.append("export_failed")
            elif exporting.sent(trace_id) < ended.get(trace_id, 0):
                trace.issues.append("export_pending")
        return traces

    def export_errors(self) -> dict[str, str]:
        """Target -> last error, for exporters that failed."""
        return {e.target: e.last_error or "" for e in self.exporters if e.failed_batches}

    # ---- scoping runs ---------------------------------------------------------------------

    @contextmanager
    def activate(self) -> Iterator[Telemetry]:
        """Send traces started in this context (thread or task) to this Telemetry."""
        with routing.activated(self):
            yield self

    @contextmanager
    def start_run(
        self, name: str, attributes: Mapping[str, Any] | None = None
    ) -> Iterator[trace_api.Span]:
        """A root span of our own around one run: its trace id identifies the run.

        It roots a new trace even inside another run (an agent used as a tool of another).
        """
        with (
            routing.activated(self),
            fw.fresh_span_tree(self.frameworks),
            self.tracer.start_as_current_span(
                name,
                context=trace_api.set_span_in_context(trace_api.INVALID_SPAN),
                attributes=dict(attributes or {}),
            ) as span,
        ):
            yield span

    # ---- lifecycle ------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Push every pending span to the exporters."""
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop the exporters; the captured spans stay readable."""
        if self.closed:
            return
        self.closed = True
        routing.unregister(self)
        try:
            self.provider.force_flush(int(self.config.export_timeout_s * 1000) + 1000)
        finally:
            self.provider.shutdown()

    def __enter__(self) -> Telemetry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _openinference_content() -> bool:
    """Whether OpenInference records message content (its OPENINFERENCE_HIDE_* settings)."""
    from openinference.instrumentation import TraceConfig

    config = TraceConfig()
    return not (
        config.hide_inputs
        or config.hide_outputs
        or config.hide_input_messages
        or config.hide_output_messages
        or config.hide_input_text
        or config.hide_output_text
    )
