"""MASEval integration: ``LlamaIndexAgentAdapter``, ``LlamaIndexUser`` and ``BenchmarkExport``.

The adapter (``_adapter``) wires a Telemetry, the agent's workflow run and derivation
together; what it needs besides: the shared Telemetry objects it uses when it is given none,
one in memory and one per Phoenix project (``_telemetries``), a JSON description of the
workflow (``_workflow``), per-run records and their totals (``_runs``), usage reporting for
streamed OpenAI calls (``_stream_usage``) and one background event loop for synchronous
callers (``_background_loop``). ``BenchmarkExport`` (``_benchmark_export``) is a Benchmark
callback that writes a whole benchmark's runs as tables and an HTML report. Importing this
package imports ``maseval`` and LlamaIndex.
"""

from __future__ import annotations

from ._adapter import LlamaIndexAgentAdapter, maseval_labels
from ._benchmark_export import BenchmarkExport
from ._telemetries import default_telemetry, project_name, project_telemetry
from ._user import LlamaIndexUser

__all__ = [
    "BenchmarkExport",
    "LlamaIndexAgentAdapter",
    "LlamaIndexUser",
    "default_telemetry",
    "maseval_labels",
    "project_name",
    "project_telemetry",
]
