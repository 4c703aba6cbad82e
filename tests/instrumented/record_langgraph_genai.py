"""Record scripted LangGraph runs under OpenTelemetry's own GenAI LangChain instrumentation
(``opentelemetry-instrumentation-genai-langchain``), in a process of its own (instrumentation is
process-wide): ``python record_langgraph_genai.py OUT_DIR``. Writes ``<scenario>.otlp.json`` and
``<scenario>.truth.json`` (the scripted server's log: usage sent, tool call ids, system prompt).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")

from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from support import langgraph_scenarios as lg  # noqa: E402

from otel_bridge.otlp import request_to_json, to_request  # noqa: E402
from otel_bridge.scripted import ScriptedLLMServer  # noqa: E402
from otel_bridge.telemetry._capture import from_readable_span  # noqa: E402

SCENARIOS = {"one_tool": lg.one_tool, "parallel_tools": lg.parallel_tools, "swarm": lg.swarm}


def main(out: Path) -> None:
    """Record every scenario into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    LangChainInstrumentor().instrument(tracer_provider=provider)
    with ScriptedLLMServer() as server:
        for name, scenario in SCENARIOS.items():
            exporter.clear()
            server.clear_log()
            lg.invoke(scenario(server))
            provider.force_flush()
            records = [from_readable_span(s) for s in exporter.get_finished_spans()]
            body = request_to_json(to_request(records))
            (out / f"{name}.otlp.json").write_text(json.dumps(body))
            truth = [
                {
                    "system": e.messages[0]["content"],
                    "usage": None
                    if e.usage_sent is None
                    else [e.usage_sent.prompt, e.usage_sent.completion, e.usage_sent.cached or 0],
                    "tool_call_ids": list(e.tool_call_ids),
                }
                for e in server.log
            ]
            (out / f"{name}.truth.json").write_text(json.dumps(truth))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
