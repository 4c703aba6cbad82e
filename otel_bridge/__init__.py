"""otel-bridge: evaluation data for LlamaIndex agents, derived from their OpenTelemetry spans.

``derive``, ``load_spans`` and the RunTrace types import neither MASEval nor LlamaIndex; the
MASEval adapter and user are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compare import RunDiff, diff_runs
from .derivation import ModelPrice, derive, derive_all
from .errors import (
    ConfigError,
    OtelBridgeError,
    SourceError,
    SpanFormatError,
    TraceIdError,
    TraceSelectionError,
)
from .run_json import RunTraceJSON
from .run_trace import (
    AgentStats,
    Cost,
    Delegation,
    Handoff,
    LLMCall,
    RunTrace,
    TokenUsage,
    ToolCall,
)
from .sources import load_spans
from .spans import SpanRecord
from .tables import to_dataframes, to_tables
from .telemetry import SpanCapture, Telemetry, load_price_table

if TYPE_CHECKING:
    from .maseval_adapter import LlamaIndexAgentAdapter, LlamaIndexUser, maseval_labels

__all__ = [
    "AgentStats",
    "ConfigError",
    "Cost",
    "Delegation",
    "Handoff",
    "LLMCall",
    "LlamaIndexAgentAdapter",
    "LlamaIndexUser",
    "ModelPrice",
    "OtelBridgeError",
    "RunDiff",
    "RunTrace",
    "RunTraceJSON",
    "SourceError",
    "SpanCapture",
    "SpanFormatError",
    "SpanRecord",
    "Telemetry",
    "TokenUsage",
    "ToolCall",
    "TraceIdError",
    "TraceSelectionError",
    "derive",
    "derive_all",
    "diff_runs",
    "load_price_table",
    "load_spans",
    "maseval_labels",
    "to_dataframes",
    "to_tables",
]

_LAZY = frozenset({"LlamaIndexAgentAdapter", "LlamaIndexUser", "maseval_labels"})


def __getattr__(name: str) -> Any:
    """Import the MASEval integration when one of its names is first used."""
    if name in _LAZY:
        from . import maseval_adapter

        return getattr(maseval_adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
