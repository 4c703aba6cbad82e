"""The GenAI view of a derived trace: what ``genai``/``both`` export says in the GenAI conventions.

Pure, over ``SpanRecord``s and the trace's derivation (``TraceView``): for each OpenInference
LLM call span a ``chat {model}`` CLIENT span, for each TOOL span ``execute_tool {tool}`` (a
handoff: ``execute_tool handoff {target}``), for the workflow span ``invoke_workflow
{workflow}``, each with the ``gen_ai.*`` attributes of the conventions pinned in
``genai_attributes``. Values come from the derivation (usage, finish reason, time to first
chunk, tool call ids), so derive() reads the same run back. Counts a span does not report are
left out, never written as zero. Message content (``gen_ai.input.messages`` and the like) is
written only when ``content`` is on, and only what the spans carry.

``is_openinference_key`` says which attributes ``genai`` export drops: every name of
``openinference.semconv.trace`` except ``session.id`` and ``user.id``, which the general
OpenTelemetry conventions define too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import openinference.semconv.trace as oi
from openinference.semconv.trace import (
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolAttributes,
)
from opentelemetry.semconv._incubating.attributes.session_attributes import SESSION_ID
from opentelemetry.semconv._incubating.attributes.user_attributes import USER_ID
from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_TYPE

from .. import conventions as conv
from ..conventions import genai_attributes as genai
from ..run_trace import LLMCall, TokenUsage, ToolCall
from ..spans import SpanRecord
from ._enrichment import Extra, TraceView

__all__ = [
    "chat_attributes",
    "error_type",
    "is_openinference_key",
    "known_usage",
    "parts",
    "summed_usage",
    "system_instructions",
    "tool_attributes",
    "workflow_attributes",
]

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
LLM_KIND = OpenInferenceSpanKindValues.LLM.value
TOOL_KIND = OpenInferenceSpanKindValues.TOOL.value
SYSTEM_ROLE = "system"
# OpenAI's finish reasons in the words of the conventions' output messages.
OUTPUT_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


# ---- which attributes are OpenInference's ------------------------------------------------


def _openinference_names() -> tuple[frozenset[str], tuple[str, ...]]:
    names = {
        value
        for holder in vars(oi).values()
        if isinstance(holder, type) and holder.__name__.endswith("Attributes")
        for key, value in vars(holder).items()
        if key.isupper() and isinstance(value, str)
    }
    names -= {SESSION_ID, USER_ID}  # general OpenTelemetry names as well: kept
    return frozenset(names), tuple(sorted(f"{name}." for name in names))


_OI_NAMES, _OI_PREFIXES = _openinference_names()


def is_openinference_key(key: str) -> bool:
    """True for an OpenInference attribute (``input.value``, ``llm.input_messages.0...``)."""
    return key in _OI_NAMES or key.startswith(_OI_PREFIXES)


# ---- spans -------------------------------------------------------------------------------


def chat_attributes(view: TraceView, call: LLMCall, span: SpanRecord, content: bool) -> Extra:
    """GenAI attributes of one model call (a ``chat`` span)."""
    attrs: Extra = {genai.OPERATION: genai.OP_CHAT}
    if call.provider:
        attrs[genai.PROVIDER] = call.provider
    if call.model:
        # OpenInference records the model the LLM was configured with: the requested one. The
        # model that answered is not on its spans, so no response model is written.
        attrs[genai.REQUEST_MODEL] = call.model
    if call.time_to_first_token_ns is not None:
        attrs[genai.REQUEST_STREAM] = True  # a first chunk means a streamed response
        attrs[genai.TIME_TO_FIRST_CHUNK] = call.time_to_first_token_ns / 1e9
    if call.finish_reason:
        attrs[genai.FINISH_REASONS] = (call.finish_reason,)
    attrs.update(known_usage(call.usage, span))
    if span.status == "ERROR":
        attrs[genai.ERROR_TYPE] = error_type(span)
    if content:
        facts = view.llm_facts(span)
        if facts.input_messages:
            attrs[genai.INPUT_MESSAGES] = parts(facts.input_messages)
        if facts.output_messages:
            attrs[genai.OUTPUT_MESSAGES] = parts(facts.output_messages, call.finish_reason)
        tools = _tool_definitions(span.attributes)
        if tools:
            attrs[genai.TOOL_DEFINITIONS] = tools
    return attrs


def tool_attributes(tool: ToolCall, span: SpanRecord, content: bool) -> Extra:
    """GenAI attributes of one tool execution (an ``execute_tool`` span)."""
    attrs: Extra = {
        genai.OPERATION: genai.OP_EXECUTE_TOOL,
        genai.TOOL_NAME: tool.name,
        genai.TOOL_TYPE: genai.TOOL_TYPE_FUNCTION,
    }
    if tool.tool_call_id:
        attrs[genai.TOOL_CALL_ID] = tool.tool_call_id
    description = span.attributes.get(SpanAttributes.TOOL_DESCRIPTION)
    if description:
        attrs[genai.TOOL_DESCRIPTION] = str(description)
    if span.status == "ERROR":
        attrs[genai.ERROR_TYPE] = error_type(span)
    if content:
        if tool.arguments is not None:
            attrs[genai.TOOL_CALL_ARGUMENTS] = _json_text(tool.arguments)
        if tool.output is not None and tool.error is None:
            attrs[genai.TOOL_CALL_RESULT] = tool.output
    return attrs


def workflow_attributes(view: TraceView, name: str, content: bool) -> Extra:
    """GenAI attributes of the workflow span (``invoke_workflow``)."""
    run, span = view.run, view.workflow
    attrs: Extra = {genai.OPERATION: genai.OP_INVOKE_WORKFLOW, genai.WORKFLOW_NAME: name}
    if span.status == "ERROR" or run.status == "error":
        attrs[genai.ERROR_TYPE] = error_type(span)
    if content and run.input is not None:
        attrs[genai.INPUT_MESSAGES] = parts([{"role": "user", "content": run.input}])
    if content and run.output is not None:
        attrs[genai.OUTPUT_MESSAGES] = parts([{"role": "assistant", "content": run.output}], "stop")
    return attrs


def error_type(span: SpanRecord) -> str:
    """``error.type``: the exception's type when the span recorded one, else ``_OTHER``."""
    for event in span.events:
        kind = event.attributes.get(EXCEPTION_TYPE)
        if kind:
            return str(kind)
    return genai.ERROR_TYPE_OTHER


# ---- usage: only counts the span reported ----------------------------------------------------

_CACHE_KEYS = (SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, genai.CACHE_READ_TOKENS)
_REASONING_KEYS = (
    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
    genai.REASONING_TOKENS,
)


def known_usage(usage: TokenUsage, span: SpanRecord) -> Extra:
    """The GenAI usage attributes of a call: the counts it reported (never a made-up zero)."""
    if not usage.complete:
        return {}
    attrs: Extra = {
        genai.INPUT_TOKENS: usage.input_tokens,
        genai.OUTPUT_TOKENS: usage.output_tokens,
    }
    # A detail count is known when the span (or a nested span derive took the usage from)
    # reported it; a zero that was never reported stays out.
    if usage.cached_input_tokens or any(k in span.attributes for k in _CACHE_KEYS):
        attrs[genai.CACHE_READ_TOKENS] = usage.cached_input_tokens
    if usage.reasoning_tokens or any(k in span.attributes for k in _REASONING_KEYS):
        attrs[genai.REASONING_TOKENS] = usage.reasoning_tokens
    return attrs


def summed_usage(per_call: Sequence[Mapping[str, Any]]) -> Extra:
    """Usage of several calls: each count that every one of them reported, summed."""
    if not per_call:
        return {}
    keys = set(per_call[0]).intersection(*per_call[1:])
    return {key: sum(int(attrs[key]) for attrs in per_call) for key in sorted(keys)}


# ---- content: messages in the conventions' JSON parts form ---------------------------------


def parts(messages: Iterable[conv.Message], finish_reason: str | None = None) -> str:
    """OpenAI-format messages as ``gen_ai.*.messages`` JSON (role + parts).

    Tool-call arguments stay the JSON text the model sent, so they read back byte for byte.
    With ``finish_reason`` the messages are outputs and each carries it.
    """
    out = []
    for message in messages:
        role = message.get("role") or "user"
        items: list[dict[str, Any]] = []
        if role == "tool":
            items.append(
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": message.get("content") or "",
                }
            )
        else:
            text = message.get("content")
            if text:
                items.append({"type": "text", "content": str(text)})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "tool_call",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": function.get("arguments"),
                    }
                )
            if not items:
                items.append({"type": "text", "content": ""})
        entry: dict[str, Any] = {"role": role, "parts": items}
        if message.get("name"):
            entry["name"] = message["name"]
        if finish_reason is not None:
            entry["finish_reason"] = OUTPUT_FINISH.get(finish_reason, finish_reason)
        out.append(entry)
    return json.dumps(out, ensure_ascii=False)


def system_instructions(messages: Iterable[conv.Message]) -> str | None:
    """The system prompt among a call's input messages, as ``gen_ai.system_instructions``."""
    texts = [
        str(m["content"]) for m in messages if m.get("role") == SYSTEM_ROLE and m.get("content")
    ]
    if not texts:
        return None
    return json.dumps([{"type": "text", "content": t} for t in texts], ensure_ascii=False)


def _tool_definitions(attrs: Mapping[str, Any]) -> str | None:
    """``llm.tools.N.tool.json_schema`` (OpenAI function schemas) as ``gen_ai.tool.definitions``."""
    definitions = []
    i = 0
    while (
        raw := attrs.get(f"{SpanAttributes.LLM_TOOLS}.{i}.{ToolAttributes.TOOL_JSON_SCHEMA}")
    ) is not None:
        i += 1
        try:
            schema = conv.parse_json(raw) if isinstance(raw, str) else None
        except ValueError:  # not JSON, or nested too deep to be a schema we write back
            continue
        function = schema.get("function") if isinstance(schema, dict) else None
        if isinstance(function, dict) and function.get("name"):
            definition = {"type": genai.TOOL_TYPE_FUNCTION, "name": function["name"]}
            for key in ("description", "parameters"):
                if function.get(key) is not None:
                    definition[key] = function[key]
            definitions.append(definition)
    return json.dumps(definitions, ensure_ascii=False) if definitions else None


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
