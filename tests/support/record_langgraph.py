"""Record scripted LangGraph runs as OTLP JSON into tests/data/langgraph/ (one file a run).

Run from the repository root when LangGraph or its instrumentor changes:
``python tests/support/record_langgraph.py``. The derivation tests read these files and need neither
LangGraph nor the scripted server; their expected figures are the scripts' literals.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from otel_bridge import Telemetry  # noqa: E402
from otel_bridge.scripted import ScriptedLLMServer  # noqa: E402
from support import langgraph_scenarios as scenarios  # noqa: E402

OUT = HERE / "data" / "langgraph"
RUNS = {
    "one_tool": scenarios.one_tool,
    "parallel_tools": scenarios.parallel_tools,
    "tool_raises": scenarios.tool_raises,
    "react_agent": scenarios.react_agent,
    "swarm": scenarios.swarm,
    "supervisor": scenarios.supervisor,
    "command_goto": scenarios.command_goto,
}


def record(name: str, server: ScriptedLLMServer) -> Path:
    """One scripted run of the scenario, written as OTLP JSON."""
    path = OUT / f"{name}.otlp.json"
    path.unlink(missing_ok=True)
    graph = RUNS[name](server)
    telemetry = Telemetry(otlp_json_file=path, frameworks=["langgraph"])
    with telemetry, telemetry.activate():
        scenarios.invoke(graph)
    return path


def main() -> None:
    """Record every run."""
    OUT.mkdir(parents=True, exist_ok=True)
    with ScriptedLLMServer() as server:
        for name in RUNS:
            print(record(name, server))


if __name__ == "__main__":
    # Arguments are only for --help: a run re-records tests/data.
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
