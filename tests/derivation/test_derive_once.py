"""A run is derived once: the export of its spans plans with the RunTrace run_trace derived."""

from __future__ import annotations

from pathlib import Path

from openinference.semconv.trace import SpanAttributes as SA
from support.records import handoff_trace
from support.runs import traced
from support.scenarios import handoff

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.telemetry import _enrichment
from otel_bridge.telemetry._enrichment import DerivedRuns


async def test_the_export_reuses_the_run_trace_of_run_trace(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path, monkeypatch: object
) -> None:
    derivations = []
    original = _enrichment.derive

    def counted(*args: object, **kwargs: object) -> object:
        derivations.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_enrichment, "derive", counted)  # type: ignore[attr-defined]
    _, trace_id = await traced(telemetry, handoff(llm), name="test-run")
    run = telemetry.run_trace(trace_id)  # derives the run, then exports its spans at once
    telemetry.force_flush()

    assert (telemetry.derived.reused, derivations) == (1, [])
    exported = [s for s in load_spans(otlp_file) if s.trace_id_hex == trace_id]
    by_id = {s.span_id_hex: s for s in exported}
    # Enriched as when the export derived the run itself (tests/telemetry/test_enrich.py).
    assert [by_id[c.span_id].attributes[SA.AGENT_NAME] for c in run.llm_calls] == [
        "researcher",
        "researcher",
        "writer",
        "writer",
    ]
    assert derive(exported).to_dict()["agents"] == run.to_dict()["agents"]


def test_a_run_trace_is_reused_only_for_exactly_its_spans() -> None:
    spans = handoff_trace().spans
    derived = DerivedRuns(size=1)
    run = derive(spans)
    derived.put(spans, run)
    assert derived.get(spans) is run
    assert derived.get(spans[:-1]) is None  # a span fewer: derived again
    other = handoff_trace().spans  # same shape, other span ids
    assert derived.get(other) is None
    derived.put(other, derive(other))
    assert derived.get(spans) is None  # pushed out beyond its size
    assert derived.reused == 1
