"""Hand-built OpenInference span records, shaped like real LlamaIndex spans."""

from __future__ import annotations

import itertools
import json
from typing import Any

from openinference.semconv.trace import SpanAttributes

from otel_bridge.spans import SpanEvent, SpanRecord, freeze

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
MS = 1_000_000
_ids = itertools.count(1)


class TraceBuilder:
    """Builds the spans of one trace with consecutive ids and explicit times (ms)."""

    def __init__(self, trace_id: int = 0xABC) -> None:
        self.trace_id = trace_id
        self.spans: list[SpanRecord] = []

    def span(
        self,
        name: str,
        start: float,
        end: float,
        parent: SpanRecord | None = None,
        status: str = "OK",
        events: tuple[SpanEvent, ...] = (),
        parent_id: int | None = None,
        **attributes: Any,
    ) -> SpanRecord:
        record = SpanRecord(
            trace_id=self.trace_id,
            span_id=next(_ids),
            parent_id=parent.span_id if parent is not None else parent_id,
            name=name,
            start_ns=int(start * MS),
            end_ns=int(end * MS),
            status=status,  # type: ignore[arg-type]
            attributes=freeze({k.replace("__", "."): v for k, v in attributes.items()}),
            events=events,
        )
        self.spans.append(record)
        return record

    def root(self, start: float = 0, end: float = 100, status: str = "OK") -> SpanRecord:
        return self.span("AgentWorkflow.run", start, end, status=status, **{KIND: "CHAIN"})

    def step(self, parent: SpanRecord, agent: str, start: float, end: float) -> SpanRecord:
        ev = (
            "AgentSetup(input=[ChatMessage(role=<MessageRole.USER: 'user'>)], "
            f"current_agent_name='{agent}')"
        )
        return self.span(
            "AgentWorkflow.run_agent_step",
            start,
            end,
            parent,
            **{
                KIND: "CHAIN",
                SpanAttributes.INPUT_VALUE: json.dumps({"ctx": "<Context>", "ev": ev}),
            },
        )

    def llm(
        self,
        parent: SpanRecord,
        start: float,
        end: float,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
        usage: tuple[int, int] | None = (10, 2),
        name: str = "OpenAI.achat",
        first_token: float | None = None,
        status: str = "OK",
        **extra: Any,
    ) -> SpanRecord:
        attrs: dict[str, Any] = {KIND: "LLM", SpanAttributes.LLM_MODEL_NAME: "gpt-4o-mini"}
        attrs.update(flatten(SpanAttributes.LLM_INPUT_MESSAGES, inputs))
        attrs.update(flatten(SpanAttributes.LLM_OUTPUT_MESSAGES, outputs))
        if usage is not None:
            attrs[SpanAttributes.LLM_TOKEN_COUNT_PROMPT] = usage[0]
            attrs[SpanAttributes.LLM_TOKEN_COUNT_COMPLETION] = usage[1]
            attrs[SpanAttributes.LLM_TOKEN_COUNT_TOTAL] = usage[0] + usage[1]
        attrs.update(extra)
        events = ()
        if first_token is not None:
            events = (SpanEvent("First Token Stream Event", int(first_token * MS)),)
        return self.span(name, start, end, parent, status=status, events=events, **attrs)

    def call_tool(self, parent: SpanRecord, tool_id: str, start: float, end: float) -> SpanRecord:
        ev = f"ToolCall(tool_name='x', tool_kwargs={{}}, tool_id='{tool_id}')"
        return self.span(
            "AgentWorkflow.call_tool",
            start,
            end,
            parent,
            **{KIND: "CHAIN", SpanAttributes.INPUT_VALUE: json.dumps({"ctx": "<C>", "ev": ev})},
        )

    def tool(
        self,
        parent: SpanRecord,
        name: str,
        kwargs: dict[str, Any],
        output: str | None,
        start: float,
        end: float,
        status: str = "OK",
        events: tuple[SpanEvent, ...] = (),
    ) -> SpanRecord:
        attrs: dict[str, Any] = {
            KIND: "TOOL",
            SpanAttributes.TOOL_NAME: name,
            SpanAttributes.INPUT_VALUE: json.dumps({"kwargs": kwargs}),
        }
        if output is not None:
            attrs[SpanAttributes.OUTPUT_VALUE] = output
        return self.span(
            "FunctionTool.acall", start, end, parent, status=status, events=events, **attrs
        )


def flatten(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenInference flattened message attributes, as the LlamaIndex handler writes them."""
    out: dict[str, Any] = {}
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}.message"
        out[f"{base}.role"] = message["role"]
        if "content" in message:
            out[f"{base}.content"] = message["content"]
        for j, text in enumerate(message.get("parts", ())):
            out[f"{base}.contents.{j}.message_content.type"] = "text"
            out[f"{base}.contents.{j}.message_content.text"] = text
        for k, call in enumerate(message.get("tool_calls", ())):
            out[f"{base}.tool_calls.{k}.tool_call.id"] = call["id"]
            out[f"{base}.tool_calls.{k}.tool_call.function.name"] = call["name"]
            out[f"{base}.tool_calls.{k}.tool_call.function.arguments"] = json.dumps(call["args"])
        if "tool_call_id" in message:
            out[f"{base}.tool_call_id"] = message["tool_call_id"]
    return out


def sys(text: str) -> dict[str, Any]:
    return {"role": "system", "content": text}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str = "", calls: list[tuple[str, str, dict[str, Any]]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [{"id": i, "name": n, "args": a} for i, n, a in calls]
    return message


def tool_result(call_id: str, text: str) -> dict[str, Any]:
    return {"role": "tool", "content": text, "tool_call_id": call_id}
