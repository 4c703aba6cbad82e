"""Hand-built OpenInference span records, shaped like real LlamaIndex spans (and as SDK spans)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from openinference.semconv.trace import SpanAttributes
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from otel_bridge.spans import SpanEvent, SpanRecord, StatusName, freeze

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
MS = 1_000_000
_ids = itertools.count(1)


class TraceBuilder:
    """Builds the spans of one trace with consecutive ids and explicit times (ms)."""

    def __init__(self, trace_id: int = 0xABC, scope: str = "") -> None:
        self.trace_id = trace_id
        self.scope = scope
        self.spans: list[SpanRecord] = []

    def span(
        self,
        name: str,
        start: float,
        end: float,
        parent: SpanRecord | None = None,
        status: StatusName = "OK",
        events: tuple[SpanEvent, ...] = (),
        parent_id: int | None = None,
        attrs: Mapping[str, Any] | None = None,
        **attributes: Any,
    ) -> SpanRecord:
        """One span; attribute names in ``attrs``, or as keywords with ``__`` for dots."""
        merged = {**(attrs or {}), **{k.replace("__", "."): v for k, v in attributes.items()}}
        record = SpanRecord(
            trace_id=self.trace_id,
            span_id=next(_ids),
            parent_id=parent.span_id if parent is not None else parent_id,
            name=name,
            start_ns=int(start * MS),
            end_ns=int(end * MS),
            status=status,
            attributes=freeze(merged),
            events=events,
            scope=self.scope,
        )
        self.spans.append(record)
        return record

    def root(self, start: float = 0, end: float = 100, status: StatusName = "OK") -> SpanRecord:
        """The workflow's root span."""
        return self.span("AgentWorkflow.run", start, end, status=status, attrs={KIND: "CHAIN"})

    def step(self, parent: SpanRecord, agent: str, start: float, end: float) -> SpanRecord:
        """A ``run_agent_step`` of ``agent`` (named only inside its input repr, as for real)."""
        ev = (
            "AgentSetup(input=[ChatMessage(role=<MessageRole.USER: 'user'>)], "
            f"current_agent_name='{agent}')"
        )
        return self.span(
            "AgentWorkflow.run_agent_step",
            start,
            end,
            parent,
            attrs={
                KIND: "CHAIN",
                SpanAttributes.INPUT_VALUE: json.dumps({"ctx": "<Context>", "ev": ev}),
            },
        )

    def llm(
        self,
        parent: SpanRecord | None,
        start: float,
        end: float,
        inputs: list[dict[str, Any]],
        outputs: list[dict[str, Any]],
        usage: tuple[int, int] | None = (10, 2),
        name: str = "OpenAI.achat",
        first_token: float | None = None,
        status: StatusName = "OK",
        extra: Mapping[str, Any] | None = None,
    ) -> SpanRecord:
        """An LLM call with its flattened messages, token counts and first-token event."""
        attrs: dict[str, Any] = {KIND: "LLM", SpanAttributes.LLM_MODEL_NAME: "gpt-4o-mini"}
        attrs.update(flatten(SpanAttributes.LLM_INPUT_MESSAGES, inputs))
        attrs.update(flatten(SpanAttributes.LLM_OUTPUT_MESSAGES, outputs))
        if usage is not None:
            attrs[SpanAttributes.LLM_TOKEN_COUNT_PROMPT] = usage[0]
            attrs[SpanAttributes.LLM_TOKEN_COUNT_COMPLETION] = usage[1]
            attrs[SpanAttributes.LLM_TOKEN_COUNT_TOTAL] = usage[0] + usage[1]
        attrs.update(extra or {})
        events: tuple[SpanEvent, ...] = ()
        if first_token is not None:
            events = (SpanEvent("First Token Stream Event", int(first_token * MS)),)
        return self.span(name, start, end, parent, status=status, events=events, attrs=attrs)

    def call_tool(self, parent: SpanRecord, tool_id: str, start: float, end: float) -> SpanRecord:
        """A ``call_tool`` step (its ``tool_id`` only inside its input repr, as for real)."""
        ev = f"ToolCall(tool_name='x', tool_kwargs={{}}, tool_id='{tool_id}')"
        return self.span(
            "AgentWorkflow.call_tool",
            start,
            end,
            parent,
            attrs={KIND: "CHAIN", SpanAttributes.INPUT_VALUE: json.dumps({"ctx": "<C>", "ev": ev})},
        )

    def tool(
        self,
        parent: SpanRecord,
        name: str,
        kwargs: dict[str, Any],
        output: str | int | None,
        start: float,
        end: float,
        status: StatusName = "OK",
        events: tuple[SpanEvent, ...] = (),
    ) -> SpanRecord:
        """A FunctionTool span: name, ``{"kwargs": ...}`` input and its output text."""
        attrs: dict[str, Any] = {
            KIND: "TOOL",
            SpanAttributes.TOOL_NAME: name,
            SpanAttributes.INPUT_VALUE: json.dumps({"kwargs": kwargs}),
        }
        if output is not None:
            attrs[SpanAttributes.OUTPUT_VALUE] = output
        return self.span(
            "FunctionTool.acall", start, end, parent, status=status, events=events, attrs=attrs
        )


def flatten(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenInference flattened message attributes, as the LlamaIndex handler writes them.

    A message's ``parts`` are content parts: text, a mapping of ``message_content`` attributes
    (``{"type": "image", "image.image.url": ...}``), or None for a part written without any.
    """
    out: dict[str, Any] = {}
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}.message"
        out[f"{base}.role"] = message["role"]
        if "content" in message:
            out[f"{base}.content"] = message["content"]
        for j, part in enumerate(message.get("parts", ())):
            content = f"{base}.contents.{j}.message_content"
            if isinstance(part, str):
                out[f"{content}.type"] = "text"
                out[f"{content}.text"] = part
            elif part is not None:  # None: a part the instrumentation writes nothing for
                out.update({f"{content}.{key}": value for key, value in part.items()})
        for k, call in enumerate(message.get("tool_calls", ())):
            if "id" in call:  # a call recorded without its id has no id attribute
                out[f"{base}.tool_calls.{k}.tool_call.id"] = call["id"]
            out[f"{base}.tool_calls.{k}.tool_call.function.name"] = call["name"]
            out[f"{base}.tool_calls.{k}.tool_call.function.arguments"] = json.dumps(call["args"])
        if "tool_call_id" in message:
            out[f"{base}.tool_call_id"] = message["tool_call_id"]
    return out


def sys(text: str) -> dict[str, Any]:
    """A system message."""
    return {"role": "system", "content": text}


def user(text: str) -> dict[str, Any]:
    """A user message."""
    return {"role": "user", "content": text}


def assistant(
    text: str = "", calls: Sequence[tuple[str, str, dict[str, Any]]] = ()
) -> dict[str, Any]:
    """An assistant message; ``calls`` are (id, tool name, arguments)."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [{"id": i, "name": n, "args": a} for i, n, a in calls]
    return message


def tool_result(call_id: str, text: str) -> dict[str, Any]:
    """A tool message answering ``call_id``."""
    return {"role": "tool", "content": text, "tool_call_id": call_id}


# ---- traces shaped like real runs -----------------------------------------------------


def handoff_trace() -> TraceBuilder:
    """researcher: search, handoff -> writer: answer (as AgentWorkflow records it)."""
    b = TraceBuilder()
    root = b.root(0, 100)
    s1 = b.step(root, "researcher", 1, 10)
    b.span("OpenAI._prepare_chat_with_tools", 1, 2, s1, attrs={KIND: "LLM"})
    history = [sys("You research."), user("Brief me.")]
    call_search = assistant(calls=[("c1", "search", {"query": "otel"})])
    b.llm(s1, 2, 9, history, [call_search], usage=(100, 10))
    ct = b.call_tool(root, "c1", 11, 14)
    b.tool(ct, "search", {"query": "otel"}, "notes", 12, 13)
    s2 = b.step(root, "researcher", 15, 25)
    call_handoff = assistant(calls=[("c2", "handoff", {"to_agent": "writer", "reason": "ready"})])
    b.llm(
        s2,
        16,
        24,
        [*history, call_search, tool_result("c1", "notes")],
        [call_handoff],
        usage=(150, 12),
    )
    ct2 = b.call_tool(root, "c2", 26, 29)
    b.tool(
        ct2,
        "handoff",
        {"to_agent": "writer", "reason": "ready", "ctx": "<workflows.context.Context object>"},
        "Agent writer is now handling the request due to the following reason: ready.",
        27,
        28,
    )
    s3 = b.step(root, "writer", 30, 60)
    writer_in = [
        sys("You write."),
        user("Brief me."),
        call_search,
        tool_result("c1", "notes"),
        call_handoff,
        tool_result(
            "c2", "Agent writer is now handling the request due to the following reason: ready."
        ),
    ]
    b.llm(s3, 31, 59, writer_in, [assistant("The brief.")], usage=(300, 30))
    return b


def chain(depth: int, kinds: Sequence[str], trace_id: int = 0xABC) -> list[SpanRecord]:
    """A root and ``depth`` spans each the child of the one before, of the kinds in turn:
    ``TOOL`` (a FunctionTool span), ``LLM`` (a model call) or ``STEP`` (an agent step)."""
    b = TraceBuilder(trace_id)
    parent = b.root(0, 3 * depth)
    for i in range(depth):
        attrs: dict[str, object]
        if kinds[i % len(kinds)] == "TOOL":
            attrs = {
                KIND: "TOOL",
                SpanAttributes.TOOL_NAME: "lookup",
                SpanAttributes.INPUT_VALUE: json.dumps({"kwargs": {"i": i}}),
                SpanAttributes.OUTPUT_VALUE: f"result {i}",
            }
            parent = b.span("FunctionTool.acall", i + 1, 3 * depth - i, parent, attrs=attrs)
        elif kinds[i % len(kinds)] == "LLM":
            attrs = {KIND: "LLM", SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 3}
            parent = b.span("OpenAI.achat", i + 1, 3 * depth - i, parent, attrs=attrs)
        else:
            parent = b.step(parent, f"agent{i}", i + 1, 3 * depth - i)
    return b.spans


def readable(record: SpanRecord) -> ReadableSpan:
    """The SDK span a record stands for."""
    flags = TraceFlags(TraceFlags.SAMPLED)
    parent = record.parent_id
    return ReadableSpan(
        name=record.name,
        context=SpanContext(record.trace_id, record.span_id, False, flags),
        parent=None if parent is None else SpanContext(record.trace_id, parent, False, flags),
        attributes=dict(record.attributes),
        start_time=record.start_ns,
        end_time=record.end_ns,
        status=Status(StatusCode.OK),
    )
