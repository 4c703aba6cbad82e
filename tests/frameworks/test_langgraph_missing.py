"""Without LangGraph installed, asking for it is one clear error naming the extra."""

from __future__ import annotations

import subprocess
import sys

HIDE_LANGGRAPH = """
import importlib.abc, sys

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("langgraph", "langchain_core"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Hide())
from otel_bridge import Telemetry
from otel_bridge.errors import FrameworkNotInstalled
from otel_bridge.maseval_adapter import LangGraphAgentAdapter

for make in (lambda: LangGraphAgentAdapter(object(), "team"),
             lambda: Telemetry(frameworks=["langgraph"])):
    try:
        make()
    except FrameworkNotInstalled as exc:
        print(exc)
print(sorted(t.name for t in Telemetry().frameworks))
"""


def test_the_adapter_and_telemetry_name_the_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HIDE_LANGGRAPH], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "langgraph is not installed: pip install 'otel-bridge[langgraph]'",
        "langgraph is not installed: pip install 'otel-bridge[langgraph]'",
        "['llama_index', 'openai_agents', 'smolagents']",  # the default: every one installed
    ]
