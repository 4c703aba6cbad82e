"""A tool span is read in the conventions it is written in: another convention's names on it
are read only when it is written in both (otel-bridge's ``both`` export)."""

from __future__ import annotations

import json
from dataclasses import replace

from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, assistant, user

from otel_bridge import derive
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.spans import freeze

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def test_an_openinference_tool_span_is_not_read_by_openllmetrys_names() -> None:
    """A LlamaIndex tool span that also holds OpenLLMetry's output (its call id, a text of
    its own) keeps the call id of the step that called it, and its own output."""
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "calc", 0, 10)
    b.llm(step, 1, 9, [user("2+3?")], [assistant(calls=[("c1", "add", {"a": 2, "b": 3})])])
    ct = b.call_tool(root, "c1", 11, 20)
    tool = b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    stray = {
        genai.TRACELOOP_OUTPUT: json.dumps(
            {"tool_id": "other", "tool_output": {"blocks": [{"text": "6"}], "is_error": False}}
        )
    }
    b.spans[-1] = replace(tool, attributes=freeze({**tool.attributes, **stray}))
    run = derive(b.spans)
    assert [(t.name, t.tool_call_id, t.output) for t in run.tool_calls] == [("add", "c1", "5")]
    assert run.issues == []
