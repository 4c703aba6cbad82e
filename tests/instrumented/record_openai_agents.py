"""Record the OpenAI Agents SDK team run (tests/support/openai_agents_team.py) under OpenTelemetry's
own GenAI instrumentation of the SDK and of the OpenAI client, in a process of its own.

Usage: ``python tests/instrumented/record_openai_agents.py OUTDIR [genai|openinference]
[chat|responses] [streamed]``: the spans go to ``OUTDIR/team.otlp.json``, what the scripted
server saw and sent to ``OUTDIR/team.truth.json``. With ``openinference`` the run is recorded
by otel-bridge's own Telemetry (OpenInference's instrumentor) instead: how
tests/data/openai_agents/ was made.
``responses`` runs the agents on the SDK's default model, the Responses API, instead of chat
completions; ``streamed`` runs them with ``Runner.run_streamed``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any


def main(out: Path, mode: str = "genai", api: str = "chat", streamed: str = "") -> None:
    from otel_bridge.scripted import ScriptedLLMServer

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from support.openai_agents_team import team, team_router

    if mode == "openinference":
        from otel_bridge import Telemetry

        telemetry = Telemetry(otlp_json_file=out / "team.otlp.json", frameworks=["openai_agents"])
        provider = telemetry.provider
        root: Any = telemetry.start_run
    else:
        provider = _genai_provider(out / "team.otlp.json")
        root = lambda _name: nullcontext()  # noqa: E731
    from agents import Runner

    async def run(server: ScriptedLLMServer) -> Any:
        with root("team"):
            if not streamed:
                return await Runner.run(team(server, api), "Tell me about otel")
            result = Runner.run_streamed(team(server, api), "Tell me about otel")
            async for _event in result.stream_events():
                pass
            return result

    with ScriptedLLMServer(team_router()) as server:
        result = asyncio.run(run(server))
        sent = server.usage_sent_total()
        truth = {
            "answer": result.final_output,
            "tool_call_ids": [i for e in server.log for i in e.tool_call_ids],
            "usage": {"prompt": sent.prompt, "completion": sent.completion, "cached": sent.cached},
            "apis": sorted({e.api for e in server.log}),
        }
    provider.shutdown()
    (out / "team.truth.json").write_text(json.dumps(truth))


def _genai_provider(path: Path) -> Any:
    """A provider with OpenTelemetry's GenAI instrumentations of the SDK and the OpenAI client."""
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    from opentelemetry.instrumentation.genai.openai_agents import OpenAIAgentsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_bridge.telemetry._exporters import OTLPJsonFileExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPJsonFileExporter(path)))
    OpenAIAgentsInstrumentor().instrument(
        tracer_provider=provider, disable_openai_trace_export=True
    )
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:5])
