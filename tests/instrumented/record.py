"""Record live LlamaIndex agent runs under one instrumentation, for
tests/frameworks/test_instrumentations.py.

Usage: ``python tests/instrumented/record.py MODE OUTDIR`` with MODE one of ``openinference``
(otel-bridge's Telemetry), ``genai`` (OpenTelemetry's GenAI instrumentation for LlamaIndex and
the OpenAI client, content captured in spans), ``genai-no-content`` (the same, without content
capture, its default), ``openllmetry`` (OpenLLMetry's LlamaIndex and OpenAI
instrumentations), or ``mixed-genai`` / ``mixed-openllmetry`` (otel-bridge's Telemetry plus
that instrumentation of the OpenAI client: each model call is recorded twice). Each
instrumentation patches LlamaIndex or the client for the whole process, so each mode runs in a
process of its own. Every scenario (tests/support/scenarios.py) runs against the scripted
OpenAI-compatible server through the real OpenAI client; its spans are written as OTLP/JSON to
``OUTDIR/<scenario>.otlp.json`` and what the server saw and sent to ``<scenario>.truth.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODES = (
    "openinference",
    "genai",
    "genai-no-content",
    "openllmetry",
    "mixed-genai",
    "mixed-openllmetry",
)


def instrument(mode: str) -> tuple[Any, Any, Callable[[str], Any]]:
    """(provider, in-memory exporter, root-span factory) with ``mode``'s instrumentation on."""
    from contextlib import nullcontext

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    memory = InMemorySpanExporter()
    if mode == "genai":
        # Without it the spans hold no content; ``true`` is not a valid value (no content).
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    if mode.startswith(("openinference", "mixed")):
        from otel_bridge import Telemetry

        telemetry = Telemetry(service_name=f"instrumented-{mode}")
        provider: Any = telemetry.provider
        root: Callable[[str], Any] = telemetry.start_run
    else:
        provider, root = TracerProvider(), lambda _name: nullcontext()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if mode.startswith("genai"):
        from opentelemetry.instrumentation.genai.llama_index import LlamaIndexInstrumentor

        LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    if mode.startswith("genai") or mode == "mixed-genai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    if mode == "openllmetry":
        from opentelemetry.instrumentation.llamaindex import LlamaIndexInstrumentor as Traceloop

        Traceloop().instrument(tracer_provider=provider)
    if mode in ("openllmetry", "mixed-openllmetry"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as TraceloopOpenAI

        TraceloopOpenAI().instrument(tracer_provider=provider)
    return provider, memory, root


def truth(server: Any, answer: str | None, error: str | None) -> dict[str, Any]:
    """What the scripted server saw and sent: each exchange's system prompt, usage, call ids."""
    from otel_bridge.scripted import system_prompt

    return {
        "answer": answer,
        "error": error,
        "exchanges": [
            {
                "system": system_prompt(e.request_json),
                "usage": None
                if e.usage_sent is None
                else {
                    "prompt": e.usage_sent.prompt,
                    "completion": e.usage_sent.completion,
                    "cached": e.usage_sent.cached,
                    "reasoning": e.usage_sent.reasoning,
                },
                "tool_call_ids": list(e.tool_call_ids),
            }
            for e in server.log
        ],
    }


async def record(mode: str, out: Path) -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from otel_bridge.otlp import request_to_json
    from otel_bridge.scripted import ScriptedLLMServer

    provider, memory, root = instrument(mode)
    # The scenarios import LlamaIndex, which the instrumentations patch: import them once it is on.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from support.scenarios import SCENARIOS

    out.mkdir(parents=True, exist_ok=True)
    with ScriptedLLMServer() as server:
        for name, scenario in SCENARIOS.items():
            server.clear_log()
            memory.clear()
            answer = error = None
            try:
                run = scenario(server)
                with root(name):
                    answer = str(await run())
            except Exception as exc:  # the scenario's own failure is part of the record
                error = f"{type(exc).__name__}: {exc}"
            provider.force_flush()
            body = request_to_json(encode_spans(memory.get_finished_spans()))
            (out / f"{name}.otlp.json").write_text(json.dumps(body))
            (out / f"{name}.truth.json").write_text(json.dumps(truth(server, answer, error)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    asyncio.run(record(sys.argv[1], Path(sys.argv[2])))
