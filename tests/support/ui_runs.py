"""Runs for the web UI's screenshots, sent to a collector over OTLP/HTTP with its token.

    python tests/support/ui_runs.py URL TOKEN

- the MASEval example benchmark (examples/maseval_benchmark.py) as it is, service ``brief-v1``;
- the same benchmark with the changes of ``compare_benchmark`` (one task costs more tokens,
  one answers wrong), service ``brief-v2``;
- a conversation of two turns in one session: the demo's researcher -> writer, asked twice.

Prints one JSON line: ``{"v1": {task: trace_id}, "v2": {...}, "session": id, "turns": [ids]}``.
Used by ``docs/screenshots.mjs ui``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the support package

from otel_bridge import Telemetry
from otel_bridge.scripted import ScriptedLLMServer
from support import scenarios
from support.compare_benchmark import changed_conversations, example_module

SESSION = "chat-2b7e"


def benchmark(url: str, token: str, service: str, changed: bool) -> dict[str, str]:
    """One run of the example, exported to the collector: task id -> trace id."""
    example = example_module()
    if changed:
        vars(example)["scripted_conversations"] = lambda: changed_conversations(example)
    telemetry = telemetry_for(url, token, service)
    try:
        reports = example.run_benchmark(num_workers=1, telemetry=telemetry)
    finally:
        telemetry.shutdown()
    return {row["task_id"]: row["trace_ids"][0] for row in example.summary(reports)}


async def conversation(url: str, token: str) -> list[str]:
    """Two turns of the demo in one session; their trace ids, oldest first."""
    telemetry = telemetry_for(url, token, "otel-bridge-demo")
    turns = []
    try:
        with ScriptedLLMServer() as server:
            for turn in (1, 2):
                run = scenarios.handoff(server)
                with telemetry.start_run(f"chat turn {turn}", {"session.id": SESSION}) as root:
                    await run()
                turns.append(f"{root.get_span_context().trace_id:032x}")
    finally:
        telemetry.shutdown()
    return turns


def telemetry_for(url: str, token: str, service: str) -> Telemetry:
    return Telemetry(
        otlp_endpoint=url, headers={"authorization": f"Bearer {token}"}, service_name=service
    )


def main(url: str, token: str) -> dict[str, Any]:
    """Send every run; what was sent."""
    return {
        "v1": benchmark(url, token, "brief-v1", changed=False),
        "v2": benchmark(url, token, "brief-v2", changed=True),
        "session": SESSION,
        "turns": asyncio.run(conversation(url, token)),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])))
