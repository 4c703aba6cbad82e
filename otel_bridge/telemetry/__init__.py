"""Telemetry: a TracerProvider of its own, LlamaIndex instrumented once, capture and export.

``Telemetry`` (``_telemetry``) owns the provider and its settings (``_config``, read once from
arguments or the OTEL_* environment). LlamaIndex is instrumented once per process and each trace
is routed to the Telemetry that owns it (``_routing``). Finished spans are kept in memory
(``_capture``) and exported (``_exporters``) after each trace is enriched with its agents: what
to add is ``_enrichment``, what the export looks like in each ``semconv`` mode (OpenInference,
the GenAI conventions with ``invoke_agent`` spans of ``_agent_spans``, or both) is
``_export_view``, when is the per-trace buffer of ``_trace_buffer`` (and, for a finished run
whose RunTrace is asked for, at once: ``_export_now``). What a Telemetry hides and masks in what
it captures and exports is ``_redaction``. A user's price table file is read by ``_price_file``.
"""

from __future__ import annotations

from ._capture import CapturedTrace, SpanCapture, from_readable_span
from ._config import PROTOCOLS, SEMCONVS, Protocol, Semconv, TelemetryConfig
from ._price_file import load_price_table
from ._redaction import REDACTED, SECRET_PATTERNS, Redaction
from ._telemetry import Telemetry

__all__ = [
    "PROTOCOLS",
    "REDACTED",
    "SECRET_PATTERNS",
    "SEMCONVS",
    "CapturedTrace",
    "Protocol",
    "Redaction",
    "Semconv",
    "SpanCapture",
    "Telemetry",
    "TelemetryConfig",
    "from_readable_span",
    "load_price_table",
]
