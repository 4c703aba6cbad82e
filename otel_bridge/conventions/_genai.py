"""Reader of the OpenTelemetry GenAI semantic conventions, and of OpenLLMetry's LlamaIndex spans.

Two instrumentations write these for LlamaIndex: OpenTelemetry's own (``invoke_workflow`` /
``invoke_agent`` / ``execute_tool`` spans, ``chat`` spans from its OpenAI package) and
OpenLLMetry (``traceloop.*`` workflow and task spans, ``openai.chat`` spans). What each says,
and where it says it differently, is spelled out next to the code that reads it. The attribute
names are in ``genai_attributes``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openinference.semconv.trace import SpanAttributes

from ..run_trace import TokenUsage
from ..spans import SpanRecord
from ._facts import LLMFacts, Message, ToolFacts, normal_finish_reason
from ._openinference import error_text
from .genai_attributes import (
    AGENT_NAME,
    CACHE_READ_TOKENS,
    COMPLETION_PREFIX,
    COMPLETION_TOKENS,
    ERROR_TYPE,
    FINISH_REASONS,
    INPUT_MESSAGES,
    INPUT_TOKENS,
    LLM_OPERATIONS,
    OP_INVOKE_AGENT,
    OPERATION,
    OUTPUT_MESSAGES,
    OUTPUT_TOKENS,
    PROMPT_PREFIX,
    PROMPT_TOKENS,
    PROVIDER,
    REASONING_TOKENS,
    REASONING_TOKENS_OPENLLMETRY,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    SYSTEM,
    TIME_TO_FIRST_CHUNK,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_CALL_RESULT,
    TOOL_NAME,
    TOOL_OPERATION,
    TRACELOOP_OUTPUT,
    TRACELOOP_SPAN_KIND,
)

__all__ = [
    "activation_agent",
    "carries_agent",
    "explicit_agent",
    "is_llm_call",
    "is_tool",
    "read_llm",
    "read_tool",
    "step_agent",
]

OPENLLMETRY_TASK = "task"
OPENLLMETRY_TOOL_NAME = SpanAttributes.TOOL_NAME  # OpenLLMetry's call_tool task sets ``tool.name``
OPENLLMETRY_TOOL_ARGUMENTS = "tool.arguments"
CHUNK_EVENT = "gen_ai.content.completion.chunk"  # OpenLLMetry: one event per streamed chunk


def is_llm_call(span: SpanRecord) -> bool:
    """A GenAI model call span."""
    attrs = span.attributes
    op = attrs.get(OPERATION)
    if op is not None:
        return op in LLM_OPERATIONS
    return INPUT_TOKENS in attrs or PROMPT_TOKENS in attrs


def is_tool(span: SpanRecord) -> bool:
    """A GenAI ``execute_tool`` span, or OpenLLMetry's ``call_tool`` task (it names the tool).

    OpenLLMetry's ``FunctionTool`` task below it is not counted: it repeats the same call, and
    when the tool raises it is never ended.
    """
    attrs = span.attributes
    if attrs.get(OPERATION) == TOOL_OPERATION:
        return True
    return attrs.get(TRACELOOP_SPAN_KIND) == OPENLLMETRY_TASK and OPENLLMETRY_TOOL_NAME in attrs


def activation_agent(span: SpanRecord) -> str | None:
    """The agent of an ``invoke_agent`` span: one whole activation of that agent."""
    if span.attributes.get(OPERATION) != OP_INVOKE_AGENT:
        return None
    return explicit_agent(span)


def carries_agent(span: SpanRecord) -> bool:
    """An OpenLLMetry workflow task: its agent is the one its earlier sibling tasks named.

    OpenLLMetry names the agent only in some tasks' output (``current_agent_name``); the
    ``run_agent_step`` task of a streamed call records no output at all.
    """
    return span.attributes.get(TRACELOOP_SPAN_KIND) == OPENLLMETRY_TASK


def explicit_agent(span: SpanRecord) -> str | None:
    """``gen_ai.agent.name`` when set."""
    value = span.attributes.get(AGENT_NAME)
    return str(value) if value else None


def step_agent(span: SpanRecord) -> str | None:
    """The agent of an OpenLLMetry workflow step (``current_agent_name`` in its output JSON).

    The agent's events carry it at the top level; the workflow's final result inside
    ``result``.
    """
    raw = span.attributes.get(TRACELOOP_OUTPUT)
    if not isinstance(raw, str) or "current_agent_name" not in raw:
        return None
    value = _json_object(raw)
    if value is None:
        return None
    name = value.get("current_agent_name")
    if name is None and isinstance(value.get("result"), dict):
        name = value["result"].get("current_agent_name")
    return str(name) if name else None


def _json_object(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _usage(attrs: Mapping[str, Any]) -> TokenUsage | None:
    prompt = attrs.get(INPUT_TOKENS, attrs.get(PROMPT_TOKENS))
    completion = attrs.get(OUTPUT_TOKENS, attrs.get(COMPLETION_TOKENS))
    if prompt is None and completion is None:
        return None
    p, c = int(prompt or 0), int(completion or 0)
    # A zero cached count is omitted by OpenTelemetry's instrumentation: absent means none.
    reasoning = attrs.get(REASONING_TOKENS, attrs.get(REASONING_TOKENS_OPENLLMETRY))
    return TokenUsage(
        input_tokens=p,
        output_tokens=c,
        total_tokens=p + c,
        cached_input_tokens=int(attrs.get(CACHE_READ_TOKENS) or 0),
        reasoning_tokens=int(reasoning or 0),
    )


def _from_parts(raw: Any) -> list[Message]:
    """OpenAI-format messages from a ``gen_ai.*.messages`` JSON value (role + parts)."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []
    messages: list[Message] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        texts, calls, responses = [], [], []
        for part in item.get("parts") or []:
            kind = part.get("type")
            if kind == "text":
                texts.append(str(part.get("content", "")))
            elif kind == "tool_call":
                args = part.get("arguments")
                calls.append(
                    {
                        "id": part.get("id"),
                        "type": "function",
                        "function": {
                            "name": part.get("name"),
                            "arguments": args if isinstance(args, str) else json.dumps(args),
                        },
                    }
                )
            elif kind == "tool_call_response":
                responses.append(part)
        role = item.get("role", "user")
        for resp in responses:
            result = resp.get("response")
            messages.append(
                {
                    "role": "tool",
                    "content": result if isinstance(result, str) else json.dumps(result),
                    "tool_call_id": resp.get("id"),
                }
            )
        if texts or calls or not responses:
            message: Message = {"role": role, "content": "\n".join(texts)}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
    return messages


def _flattened(attrs: Mapping[str, Any], prefix: str) -> list[Message]:
    messages: list[Message] = []
    i = 0
    while (role := attrs.get(f"{prefix}.{i}.role")) is not None:
        message: Message = {"role": role, "content": str(attrs.get(f"{prefix}.{i}.content", ""))}
        call_id = attrs.get(f"{prefix}.{i}.tool_call_id")
        if call_id is not None:
            message["tool_call_id"] = call_id
        calls = []
        k = 0
        while (name := attrs.get(f"{prefix}.{i}.tool_calls.{k}.name")) is not None:
            calls.append(
                {
                    "id": attrs.get(f"{prefix}.{i}.tool_calls.{k}.id"),
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": attrs.get(f"{prefix}.{i}.tool_calls.{k}.arguments", "{}"),
                    },
                }
            )
            k += 1
        if calls:
            message["tool_calls"] = calls
        messages.append(message)
        i += 1
    return messages


def read_llm(span: SpanRecord) -> LLMFacts:
    """Facts of a GenAI model call span."""
    attrs = span.attributes
    inputs = (
        _from_parts(attrs[INPUT_MESSAGES])
        if INPUT_MESSAGES in attrs
        else _flattened(attrs, PROMPT_PREFIX)
    )
    outputs = (
        _from_parts(attrs[OUTPUT_MESSAGES])
        if OUTPUT_MESSAGES in attrs
        else _flattened(attrs, COMPLETION_PREFIX)
    )
    reasons = attrs.get(FINISH_REASONS)
    finish = reasons[-1] if isinstance(reasons, tuple | list) and reasons else reasons
    return LLMFacts(
        model=attrs.get(RESPONSE_MODEL) or attrs.get(REQUEST_MODEL),
        provider=attrs.get(PROVIDER) or attrs.get(SYSTEM),
        usage=_usage(attrs),
        input_messages=inputs,
        output_messages=outputs,
        finish_reason=normal_finish_reason(finish),
        first_token_ns=_first_token_ns(span),
        ends_early=False,  # these spans last until the stream ends
        convention="genai",
    )


def _first_token_ns(span: SpanRecord) -> int | None:
    """``gen_ai.response.time_to_first_chunk`` (seconds), else OpenLLMetry's first chunk event."""
    seconds = span.attributes.get(TIME_TO_FIRST_CHUNK)
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return span.start_ns + round(seconds * 1e9)
    return next((e.time_ns for e in span.events if e.name == CHUNK_EVENT), None)


def read_tool(span: SpanRecord) -> ToolFacts:
    """Facts of a GenAI ``execute_tool`` span or an OpenLLMetry ``call_tool`` task."""
    attrs = span.attributes
    if attrs.get(OPERATION) != TOOL_OPERATION:
        return _openllmetry_tool(span)
    error = _error(span)
    result = attrs.get(TOOL_CALL_RESULT)
    return ToolFacts(
        name=str(attrs.get(TOOL_NAME) or span.name),
        arguments=_arguments(attrs.get(TOOL_CALL_ARGUMENTS)),
        # A raising tool's result is its error text, which ``error`` already holds.
        output=None if result is None or error is not None else str(result),
        tool_call_id=attrs.get(TOOL_CALL_ID),
        error=error,
    )


def _error(span: SpanRecord) -> str | None:
    """The span's error, as ``Type: message`` like an exception event would give it.

    OpenTelemetry's GenAI instrumentation records no exception event: the type is in
    ``error.type`` and the message in the status description.
    """
    text = error_text(span)
    kind = span.attributes.get(ERROR_TYPE)
    has_event = any(e.name == "exception" for e in span.events)
    if text is not None and kind and not has_event and span.status_message:
        return f"{str(kind).rsplit('.', 1)[-1]}: {span.status_message}"
    return text


def _arguments(raw: Any) -> Any:
    """Tool arguments: a JSON string at agent level, an object at chat level."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return raw


def _openllmetry_tool(span: SpanRecord) -> ToolFacts:
    """OpenLLMetry's ``call_tool`` task: ``tool.name``, ``tool.arguments`` and its output JSON.

    The output holds the call id and LlamaIndex's ToolOutput (text blocks, ``is_error``); a
    raising tool is seen only there, since its own task span is never ended.
    """
    attrs = span.attributes
    out = _json_object(attrs.get(TRACELOOP_OUTPUT)) or {}
    raw_output = out.get("tool_output")
    tool_output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
    raw_blocks = tool_output.get("blocks")
    blocks: list[Any] = raw_blocks if isinstance(raw_blocks, list) else []
    text = "".join(str(b["text"]) for b in blocks if isinstance(b, dict) and "text" in b)
    failed = bool(tool_output.get("is_error")) or span.status == "ERROR"
    call_id = out.get("tool_id")
    arguments = _arguments(attrs.get(OPENLLMETRY_TOOL_ARGUMENTS))
    if arguments is None and isinstance(out.get("tool_kwargs"), dict):
        arguments = out["tool_kwargs"]
    return ToolFacts(
        name=str(attrs.get(OPENLLMETRY_TOOL_NAME) or span.name),
        arguments=arguments,
        output=None if failed else (text if out else None),
        tool_call_id=str(call_id) if call_id else None,
        error=(error_text(span) or text or "tool reported an error") if failed else None,
    )
