"""The public API is exactly what DESIGN.md lists, plus what we add on purpose."""

from __future__ import annotations

import otel_bridge

DESIGN = {
    "Telemetry",
    "LlamaIndexAgentAdapter",
    "LlamaIndexUser",
    "RunTrace",
    "derive",
    "load_spans",
}
ADDED = {
    "derive_all",
    "SpanRecord",
    "SpanCapture",
    "TokenUsage",
    "LLMCall",
    "ToolCall",
    "Handoff",
    "AgentStats",
    "OtelBridgeError",
    "SpanFormatError",
    "SourceError",
    "ConfigError",
    "maseval_labels",
}


def test_all_is_the_public_api() -> None:
    assert set(otel_bridge.__all__) == (DESIGN | ADDED)
    for name in otel_bridge.__all__:
        assert getattr(otel_bridge, name) is not None
