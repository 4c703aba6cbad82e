"""otel-bridge: evaluation data for LlamaIndex agents, derived from their OpenTelemetry spans."""

from __future__ import annotations

from .adapter import LlamaIndexAgentAdapter, maseval_labels
from .capture import SpanCapture
from .derive import derive, derive_all
from .errors import ConfigError, OtelBridgeError, SourceError, SpanFormatError
from .model import AgentStats, Handoff, LLMCall, RunTrace, TokenUsage, ToolCall
from .sources import load_spans
from .spans import SpanRecord
from .telemetry import Telemetry
from .user import LlamaIndexUser

__all__ = [
    "AgentStats",
    "ConfigError",
    "Handoff",
    "LLMCall",
    "LlamaIndexAgentAdapter",
    "LlamaIndexUser",
    "OtelBridgeError",
    "RunTrace",
    "SourceError",
    "SpanCapture",
    "SpanFormatError",
    "SpanRecord",
    "Telemetry",
    "TokenUsage",
    "ToolCall",
    "derive",
    "derive_all",
    "load_spans",
    "maseval_labels",
]
