"""The public API is exactly the names we promise (the README's), no more, no fewer."""

from __future__ import annotations

import subprocess
import sys

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
    "Delegation",
    "Handoff",
    "AgentStats",
    "OtelBridgeError",
    "SpanFormatError",
    "SourceError",
    "ConfigError",
    "TraceIdError",
    "TraceSelectionError",
    "maseval_labels",
    "to_tables",
    "to_dataframes",
    "Cost",
    "ModelPrice",
    "load_price_table",
    "diff_runs",
    "RunDiff",
    "RunTraceJSON",
}


def test_all_is_the_public_api() -> None:
    assert set(otel_bridge.__all__) == (DESIGN | ADDED)
    for name in otel_bridge.__all__:
        assert getattr(otel_bridge, name) is not None


def test_derive_and_load_spans_import_neither_maseval_nor_a_framework() -> None:
    frameworks = (
        "{'llama_index', 'langgraph', 'langchain', 'langchain_core', 'smolagents', 'agents'}"
    )
    code = (
        "import sys\n"
        "from otel_bridge import RunTrace, Telemetry, derive, load_spans\n"
        f"def loaded(): return sorted({{m.split('.')[0] for m in sys.modules}} & {frameworks})\n"
        "print(','.join(loaded()), 'maseval' in sys.modules)\n"
        "import otel_bridge.maseval_adapter\n"
        "print(','.join(loaded()))\n"
        "from otel_bridge import LlamaIndexAgentAdapter\n"
        "print('maseval' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # Nothing before the adapter is used; maseval once it is; no framework for the adapters.
    assert out == [" False", "", "True"]


def test_every_error_is_an_otel_bridge_error() -> None:
    import inspect

    from otel_bridge import errors

    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert sorted(c.__name__ for c in classes) == sorted(errors.__all__)
    for cls in classes:
        assert issubclass(cls, errors.OtelBridgeError)
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the tree"
