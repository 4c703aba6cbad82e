"""LlamaIndex workflow agents (FunctionAgent, ReActAgent, CodeActAgent, AgentWorkflow).

Its spans (OpenInference's instrumentor; OpenLLMetry's and OpenTelemetry's own GenAI one read
alike) name the agent only inside reprs: ``run_agent_step``'s input holds
``current_agent_name='writer'``, ``call_tool``'s holds ``tool_id='call_...'``. A tool records
LlamaIndex's whole ``ToolOutput`` (text blocks, ``is_error``) and its keyword arguments under
``kwargs``, with the workflow ``Context`` among them when the tool takes one. AgentWorkflow
hands off through a tool named ``handoff`` (``to_agent``, ``reason``) and says so in words when
it refuses one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from openinference.semconv.trace import SpanAttributes, ToolCallAttributes

from ..conventions import (
    Note,
    ToolFacts,
    ValueNotes,
    as_text,
    explicit_agent,
    genai_attributes,
    json_value,
)
from ..run_trace import ToolCall
from ..spans import SpanRecord
from ._base import Framework, Instrumentation, Transfer

__all__ = ["LLAMA_INDEX", "LlamaIndex"]

# LlamaIndex opens an LLM-kind span for tool preparation; it calls no model.
NOT_A_CALL_SUFFIXES = ("._prepare_chat_with_tools",)
STEP_SUFFIX = ".run_agent_step"
CALL_TOOL_SUFFIX = ".call_tool"
AGENT_MARK = "current_agent_name="
TOOL_ID_MARK = "tool_id="
HANDOFF_TOOL = "handoff"  # the tool AgentWorkflow gives every agent
_INPUT = SpanAttributes.INPUT_VALUE
_OUTPUT = SpanAttributes.OUTPUT_VALUE
_CALL_ID = ToolCallAttributes.TOOL_CALL_ID
_TRACELOOP_OUTPUT = genai_attributes.TRACELOOP_OUTPUT


class LlamaIndex(Framework):
    """LlamaIndex's workflow agents, as their instrumentors record them."""

    title = "LlamaIndex"
    name = "llama_index"
    instrumentation = Instrumentation(
        instrumentor="openinference.instrumentation.llama_index:LlamaIndexInstrumentor",
        requires=("llama_index.core",),
        extra="llama-index",
    )
    scopes = (
        "openinference.instrumentation.llama_index",
        "opentelemetry.instrumentation.llamaindex",
        "opentelemetry.instrumentation.genai.llama_index",
        "opentelemetry.instrumentation.llama_index",
    )

    def recognizes(self, span: SpanRecord) -> bool:
        """By scope, else by its workflow's step names."""
        return super().recognizes(span) or span.name.endswith((STEP_SUFFIX, CALL_TOOL_SUFFIX))

    def is_model_call(self, span: SpanRecord) -> bool:
        """``_prepare_chat_with_tools`` is an LLM-kind span that calls no model."""
        return not span.name.endswith(NOT_A_CALL_SUFFIXES)

    def step_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """``run_agent_step``'s ``current_agent_name`` (its input repr, else an explicit name);
        OpenLLMetry's tasks carry it in their output JSON."""
        if span.name.endswith(STEP_SUFFIX):
            found = _repr_field(span.attributes.get(_INPUT), AGENT_MARK)
            return found or explicit_agent(span, notes)
        raw = span.attributes.get(_TRACELOOP_OUTPUT)
        if isinstance(raw, str) and "current_agent_name" in raw:
            return _openllmetry_agent(span, raw, notes)
        return None

    def step_tool_call_id(self, span: SpanRecord) -> str | None:
        """The ``tool_id`` of a ``call_tool`` span: its input repr, else ``tool_call.id``.

        ``tool_call.id`` is where otel-bridge keeps the id when the input is hidden.
        """
        if not span.name.endswith(CALL_TOOL_SUFFIX):
            return None
        found = _repr_field(span.attributes.get(_INPUT), TOOL_ID_MARK)
        if found is None:
            kept = span.attributes.get(_CALL_ID)
            found = kept if isinstance(kept, str) and kept else None
        return found

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """The text of a ``ToolOutput`` and its ``is_error``; ``kwargs`` without the Context."""
        output, failed = facts.output, False
        if output is not None and output.startswith("{") and '"blocks"' in output:
            output, failed = _tool_output(output, notes.for_span(span) if notes else None)
        error = facts.error or ((output or "tool reported an error") if failed else None)
        arguments = _tool_arguments(facts.arguments)
        if output is facts.output and error is facts.error and arguments is facts.arguments:
            return facts
        return replace(facts, arguments=arguments, output=output, error=error)

    def transfer(self, tool: ToolCall, span: SpanRecord) -> Transfer | None:
        """AgentWorkflow's ``handoff`` tool: ``to_agent`` and ``reason``."""
        if tool.name != HANDOFF_TOOL:
            return None
        args = tool.arguments if isinstance(tool.arguments, dict) else {}
        to_agent, reason = args.get("to_agent"), args.get("reason")
        return Transfer(
            to_agent=None if not to_agent else str(to_agent),
            reason=None if reason is None else str(reason),
        )

    def refused(self, tool: ToolCall, to_agent: str) -> bool:
        """AgentWorkflow answers an unknown or forbidden target in words."""
        output = tool.output or ""
        return output.startswith(f"Agent {to_agent} not found") or "cannot hand off" in output

    @contextmanager
    def fresh_span_tree(self) -> Iterator[None]:
        """Start LlamaIndex's own span tree afresh in this context.

        LlamaIndex parents its spans by its dispatcher's ``active_span_id``, not by the OTel
        context: a run started inside a tool of another run would nest under that tool's span,
        in the other run's trace, instead of under the new root span.
        """
        try:
            from llama_index.core.instrumentation.span import active_span_id
        except ImportError:  # not installed, or another layout: nothing to reset
            yield
            return
        token = active_span_id.set(None)
        try:
            yield
        finally:
            active_span_id.reset(token)


LLAMA_INDEX = LlamaIndex()


def _openllmetry_agent(span: SpanRecord, raw: str, notes: ValueNotes | None) -> str | None:
    """``current_agent_name`` in an OpenLLMetry task's output JSON (events: at the top level;
    the workflow's final result: inside ``result``)."""
    note = notes.for_span(span) if notes is not None else None
    value, parsed = json_value(raw, _TRACELOOP_OUTPUT, note, text_ok=True)
    if not parsed or not isinstance(value, dict):
        return None
    name = value.get("current_agent_name")
    if name is None and isinstance(value.get("result"), dict):
        name = value["result"].get("current_agent_name")
    return as_text(name, f"{_TRACELOOP_OUTPUT} current_agent_name", note) or None


def _tool_output(output: str | None, note: Note | None) -> tuple[str | None, bool]:
    """The text of a recorded ``ToolOutput`` and whether it flagged an error.

    LlamaIndex records a whole ``ToolOutput`` as JSON; the model is sent its text blocks.
    """
    if output is None or not output.startswith("{") or '"blocks"' not in output:
        return output, False  # not a ToolOutput (and not parsed: other frameworks' JSON)
    value, parsed = json_value(output, _OUTPUT, note, text_ok=True)
    if not parsed or not isinstance(value, dict) or not isinstance(value.get("blocks"), list):
        return output, False  # not a ToolOutput: the output is the text itself
    texts = [str(b["text"]) for b in value["blocks"] if isinstance(b, dict) and "text" in b]
    return "".join(texts), bool(value.get("is_error"))


def _tool_arguments(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("kwargs"), dict):
        value = value["kwargs"]
    if isinstance(value, dict) and any(_is_context_repr(v) for v in value.values()):
        # The workflow Context is passed to tools that take one; its repr is not an argument.
        value = {k: v for k, v in value.items() if not _is_context_repr(v)}
    return value


def _is_context_repr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and "Context" in value[:64]


def _repr_field(text: Any, mark: str) -> str | None:
    """The quoted value after the last ``mark`` in a repr (``name='value'``)."""
    if not isinstance(text, str):
        return None
    at = text.rfind(mark)
    if at < 0:
        return None
    start = at + len(mark)
    if start >= len(text) or text[start] not in "'\"":
        return None
    quote = text[start]
    end = text.find(quote, start + 1)
    return text[start + 1 : end] if end > start else None
