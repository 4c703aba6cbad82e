"""Record live smolagents runs under OpenTelemetry's own GenAI instrumentations, for
tests/frameworks/test_smolagents_instrumentations.py.

Usage: ``python tests/instrumented/record_smolagents_genai.py MODE OUTDIR`` with MODE ``genai``
(``opentelemetry-instrumentation-genai-smolagents`` and ``-genai-openai``, content captured in
spans) or ``genai-no-content`` (the same, without content capture, its default). The smolagents
one records only in-process models (Transformers, vLLM, MLX): an ``OpenAIServerModel``'s calls
are the OpenAI client's, which its own GenAI instrumentation records. Instrumentations patch for
the whole process, so each mode runs in a process of its own. The scenarios of
``smol_scenarios`` run against the scripted server; their spans are written as OTLP/JSON to
``OUTDIR/<scenario>.otlp.json`` and the ground truth to ``<scenario>.truth.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

MODES = ("genai", "genai-no-content")
SCENARIOS = ("one_tool", "managed", "two_turns")


def main(mode: str, out: Path) -> None:
    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "genai":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    from opentelemetry.instrumentation.genai.smolagents import SmolagentsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_bridge.otlp import request_to_json
    from otel_bridge.scripted import ScriptedLLMServer

    provider, memory = TracerProvider(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    SmolagentsInstrumentor().instrument(tracer_provider=provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    tracer = provider.get_tracer("record_smolagents")

    here = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(here))
    from support import record_smolagents, smol_scenarios

    out.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        scenario = next(s for s in smol_scenarios.RECORDED if s.name == name)
        memory.clear()
        with ScriptedLLMServer(list(scenario.replies)) as server:
            with tracer.start_as_current_span(f"smolagents {name}"):
                answer = scenario.run(server)
            truth = {"answer": str(answer), "calls": record_smolagents.truth(server)}
        body = request_to_json(encode_spans(memory.get_finished_spans()))
        (out / f"{name}.otlp.json").write_text(json.dumps(body) + "\n")
        (out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
