"""Reader of the OpenTelemetry GenAI semantic conventions (and the older OpenLLMetry flattening).

The attribute names are in ``genai_attributes``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..run_trace import TokenUsage
from ..spans import SpanRecord
from ._facts import LLMFacts, Message, ToolFacts
from ._openinference import error_text
from .genai_attributes import (
    AGENT_NAME,
    CACHE_READ_TOKENS,
    COMPLETION_PREFIX,
    COMPLETION_TOKENS,
    FINISH_REASONS,
    INPUT_MESSAGES,
    INPUT_TOKENS,
    LLM_OPERATIONS,
    OPERATION,
    OUTPUT_MESSAGES,
    OUTPUT_TOKENS,
    PROMPT_PREFIX,
    PROMPT_TOKENS,
    PROVIDER,
    REASONING_TOKENS,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    SYSTEM,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_CALL_RESULT,
    TOOL_NAME,
    TOOL_OPERATION,
    TRACELOOP_OUTPUT,
)

__all__ = [
    "explicit_agent",
    "is_llm_call",
    "is_tool",
    "read_llm",
    "read_tool",
    "step_agent",
]


def is_llm_call(span: SpanRecord) -> bool:
    """A GenAI model call span."""
    attrs = span.attributes
    op = attrs.get(OPERATION)
    if op is not None:
        return op in LLM_OPERATIONS
    return INPUT_TOKENS in attrs or PROMPT_TOKENS in attrs


def is_tool(span: SpanRecord) -> bool:
    """A GenAI tool execution span."""
    return span.attributes.get(OPERATION) == TOOL_OPERATION


def explicit_agent(span: SpanRecord) -> str | None:
    """``gen_ai.agent.name`` when set."""
    value = span.attributes.get(AGENT_NAME)
    return str(value) if value else None


def step_agent(span: SpanRecord) -> str | None:
    """The agent of an OpenLLMetry workflow step (``current_agent_name`` in its output JSON)."""
    raw = span.attributes.get(TRACELOOP_OUTPUT)
    if not isinstance(raw, str) or "current_agent_name" not in raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    name = value.get("current_agent_name") if isinstance(value, dict) else None
    return str(name) if name else None


def _usage(attrs: Mapping[str, Any]) -> TokenUsage | None:
    prompt = attrs.get(INPUT_TOKENS, attrs.get(PROMPT_TOKENS))
    completion = attrs.get(OUTPUT_TOKENS, attrs.get(COMPLETION_TOKENS))
    if prompt is None and completion is None:
        return None
    p, c = int(prompt or 0), int(completion or 0)
    return TokenUsage(
        input_tokens=p,
        output_tokens=c,
        total_tokens=p + c,
        cached_input_tokens=int(attrs.get(CACHE_READ_TOKENS) or 0),
        reasoning_tokens=int(attrs.get(REASONING_TOKENS) or 0),
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
    finish = reasons[0] if isinstance(reasons, tuple | list) and reasons else reasons
    finish = None if finish is None else str(finish)
    return LLMFacts(
        model=attrs.get(RESPONSE_MODEL) or attrs.get(REQUEST_MODEL),
        provider=attrs.get(PROVIDER) or attrs.get(SYSTEM),
        usage=_usage(attrs),
        input_messages=inputs,
        output_messages=outputs,
        finish_reason=finish,
        first_token_ns=None,
        streaming=False,
    )


def read_tool(span: SpanRecord) -> ToolFacts:
    """Facts of a GenAI tool span."""
    attrs = span.attributes
    raw_args = attrs.get(TOOL_CALL_ARGUMENTS)
    try:
        args = json.loads(raw_args) if isinstance(raw_args, str) else raw_args
    except json.JSONDecodeError:
        args = raw_args
    result = attrs.get(TOOL_CALL_RESULT)
    return ToolFacts(
        name=str(attrs.get(TOOL_NAME) or span.name),
        arguments=args,
        output=None if result is None else str(result),
        tool_call_id=attrs.get(TOOL_CALL_ID),
        error=error_text(span),
    )
