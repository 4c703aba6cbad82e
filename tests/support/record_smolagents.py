"""Record the smolagents scenarios into ``tests/data/smolagents`` as OTLP JSON.

``python tests/support/record_smolagents.py`` runs each scenario of ``smol_scenarios`` (real agents,
OpenInference's instrumentor, the scripted model) and writes ``<name>.otlp.json`` (the spans)
and ``<name>.truth.json`` (what the server received and sent: the ground truth), so the
derivation tests run without smolagents installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
DATA = HERE / "data" / "smolagents"


def truth(server: Any) -> list[dict[str, Any]]:
    """Per model call: usage sent (None for none), tool call ids, first system prompt line."""
    calls = []
    for exchange in server.log:
        sent = exchange.usage_sent
        system: Any = next((m for m in exchange.messages if m.get("role") == "system"), {})
        content = system.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        calls.append(
            {
                "usage_sent": None
                if sent is None
                else {"prompt": sent.prompt, "completion": sent.completion, "cached": sent.cached},
                "tool_call_ids": list(exchange.tool_call_ids),
                "streamed": exchange.streamed,
                "system_start": text[:80],
            }
        )
    return calls


def record(scenario: Any, out: Path) -> None:
    """Run one scenario into ``out`` (its spans and its ground truth)."""
    from otel_bridge import Telemetry
    from otel_bridge.scripted import ScriptedLLMServer

    spans = out / f"{scenario.name}.otlp.json"
    spans.unlink(missing_ok=True)
    telemetry = Telemetry(otlp_json_file=spans, frameworks=["smolagents"], service_name="smol")
    with ScriptedLLMServer(list(scenario.replies)) as server:
        server.stream_usage = scenario.stream_usage
        try:
            with telemetry.start_run(f"smolagents {scenario.name}"):
                answer = scenario.run(server)
        finally:
            telemetry.shutdown()
        facts = {"answer": str(answer), "calls": truth(server)}
    (out / f"{scenario.name}.truth.json").write_text(json.dumps(facts, indent=1) + "\n")


def main() -> None:
    sys.path.insert(0, str(HERE))
    from support import smol_scenarios

    DATA.mkdir(parents=True, exist_ok=True)
    for scenario in smol_scenarios.RECORDED:
        record(scenario, DATA)
        print(f"recorded {scenario.name}")


if __name__ == "__main__":
    # Arguments are only for --help: a run re-records tests/data.
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
