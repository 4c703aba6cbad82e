"""Record the OpenAI Agents SDK team run (tests/openai_agents_team.py) under OpenTelemetry's
own GenAI instrumentation of the SDK and of the OpenAI client, in a process of its own.

Usage: ``python tests/instrumented/record_openai_agents.py OUTDIR``: the spans go to
``OUTDIR/team.otlp.json``, what the scripted server saw and sent to ``OUTDIR/team.truth.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path


def main(out: Path) -> None:
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    from opentelemetry.instrumentation.genai.openai_agents import OpenAIAgentsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_bridge.scripted import ScriptedLLMServer
    from otel_bridge.telemetry._exporters import OTLPJsonFileExporter

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from openai_agents_team import team, team_router

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPJsonFileExporter(out / "team.otlp.json")))
    OpenAIAgentsInstrumentor().instrument(
        tracer_provider=provider, disable_openai_trace_export=True
    )
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    from agents import Runner

    with ScriptedLLMServer(team_router()) as server:
        result = asyncio.run(Runner.run(team(server), "Tell me about otel"))
        sent = server.usage_sent_total()
        truth = {
            "answer": result.final_output,
            "tool_call_ids": [i for e in server.log for i in e.tool_call_ids],
            "usage": {"prompt": sent.prompt, "completion": sent.completion, "cached": sent.cached},
        }
    provider.shutdown()
    (out / "team.truth.json").write_text(json.dumps(truth))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
