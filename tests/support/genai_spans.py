"""GenAI spans' attributes for hand-built traces: a model call and an agent's run."""

from __future__ import annotations

import json
from typing import Any

from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.spans import SpanRecord
from support.records import TraceBuilder

__all__ = ["genai_chat", "invoke_agent"]


def genai_chat(
    text: str | None = None,
    call: tuple[str, str] | None = None,
    *,
    arguments: dict[str, Any] | None = None,
    parts: list[dict[str, Any]] | None = None,
    asked: str = "Brief me.",
) -> dict[str, Any]:
    """A GenAI ``chat`` span's attributes, asked ``asked``: its answer is ``text``, or the tool
    ``call`` (id, name) with ``arguments`` it asks for, or the answer's ``parts`` as given."""
    if parts is None:
        part = (
            {"type": "tool_call", "id": call[0], "name": call[1], "arguments": arguments or {}}
            if call
            else {"type": "text", "content": text}
        )
        parts = [part]
    return {
        genai.OPERATION: "chat",
        genai.REQUEST_MODEL: "gpt-4o-mini",
        genai.INPUT_TOKENS: 50,
        genai.OUTPUT_TOKENS: 5,
        genai.INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": asked}]}]
        ),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": parts}]),
    }


def invoke_agent(b: TraceBuilder, name: str, start: float, end: float, parent: SpanRecord) -> Any:
    """A GenAI ``invoke_agent`` span: one activation of ``name``."""
    attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: name}
    return b.span(f"invoke_agent {name}", start, end, parent, attrs=attrs)
