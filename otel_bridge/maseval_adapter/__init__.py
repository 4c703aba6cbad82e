"""MASEval integration: span-derived adapters per framework, the user, and BenchmarkExport.

``SpanAgentAdapter`` (``_span_adapter``) wires a Telemetry, a framework's run of the agent and
derivation together; each framework's adapter (``LlamaIndexAgentAdapter`` in ``_adapter``)
only runs its agent and describes it. Besides: the shared Telemetry objects an adapter uses
when it is given none, one in memory and one per Phoenix project (``_telemetries``), a JSON
description of a LlamaIndex workflow (``_workflow``), per-run records and their totals
(``_runs``), usage reporting for streamed OpenAI calls (``_stream_usage``) and one background
event loop for synchronous callers (``_background_loop``). ``BenchmarkExport``
(``_benchmark_export``) is a Benchmark callback that writes a whole benchmark's runs as tables
and an HTML report. Importing this package imports ``maseval`` (a framework's adapter imports
its framework when first used).
"""

from __future__ import annotations

from ._adapter import LlamaIndexAgentAdapter
from ._benchmark_export import BenchmarkExport
from ._openai_agents_adapter import OpenAIAgentsAdapter
from ._span_adapter import SpanAgentAdapter, maseval_labels
from ._telemetries import default_telemetry, project_name, project_telemetry
from ._user import LlamaIndexUser

__all__ = [
    "BenchmarkExport",
    "LlamaIndexAgentAdapter",
    "LlamaIndexUser",
    "OpenAIAgentsAdapter",
    "SpanAgentAdapter",
    "default_telemetry",
    "maseval_labels",
    "project_name",
    "project_telemetry",
]
