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
from ._values import JSON_RULE, Note, ValueNotes, as_text, count, json_value, seconds, text
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
        return isinstance(op, str) and op in LLM_OPERATIONS
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


def activation_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """The agent of an ``invoke_agent`` span: one whole activation of that agent."""
    if span.attributes.get(OPERATION) != OP_INVOKE_AGENT:
        return None
    return explicit_agent(span, notes)


def carries_agent(span: SpanRecord) -> bool:
    """An OpenLLMetry workflow task: its agent is the one its earlier sibling tasks named.

    OpenLLMetry names the agent only in some tasks' output (``current_agent_name``); the
    ``run_agent_step`` task of a streamed call records no output at all.
    """
    return span.attributes.get(TRACELOOP_SPAN_KIND) == OPENLLMETRY_TASK


def explicit_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """``gen_ai.agent.name`` when set."""
    value = span.attributes.get(AGENT_NAME)
    if value is not None and type(value) is not str:  # read for every span: checked inline
        value = as_text(value, AGENT_NAME, notes.for_span(span) if notes is not None else None)
    return value or None


def _json_object(raw: Any, where: str, note: Note | None) -> dict[str, Any] | None:
    """A JSON object attribute, else None (other JSON and plain text are not noted: OpenLLMetry
    writes those too)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        if note is not None:
            note(where, "rejected", raw, JSON_RULE)
        return None
    value, parsed = json_value(raw, where, note, text_ok=True)
    return value if parsed and isinstance(value, dict) else None


def _usage(attrs: Mapping[str, Any], note: Note | None) -> TokenUsage | None:
    """Token counts (the current names, else the older ones); rules as for OpenInference's."""
    input_key = INPUT_TOKENS if INPUT_TOKENS in attrs else PROMPT_TOKENS
    output_key = OUTPUT_TOKENS if OUTPUT_TOKENS in attrs else COMPLETION_TOKENS
    prompt = count(attrs, input_key, note)
    completion = count(attrs, output_key, note)
    if (prompt is None and input_key in attrs) or (completion is None and output_key in attrs):
        return None  # present but unusable: unknown, not zero
    if prompt is None and completion is None:
        return None
    p, c = prompt or 0, completion or 0
    # A zero cached count is omitted by OpenTelemetry's instrumentation: absent means none.
    reasoning_key = REASONING_TOKENS if REASONING_TOKENS in attrs else REASONING_TOKENS_OPENLLMETRY
    return TokenUsage(
        input_tokens=p,
        output_tokens=c,
        total_tokens=p + c,
        cached_input_tokens=count(attrs, CACHE_READ_TOKENS, note) or 0,
        reasoning_tokens=count(attrs, reasoning_key, note) or 0,
    )


def _from_parts(raw: Any, where: str, note: Note | None) -> list[Message]:
    """OpenAI-format messages from a ``gen_ai.*.messages`` JSON value (role + parts).

    The value must be a JSON list of message objects, each with a list of part objects;
    anything else is rejected (noted) and skipped, entry by entry.
    """
    if not isinstance(raw, str):
        if note is not None:
            note(where, "rejected", raw, JSON_RULE)
        return []
    items, parsed = json_value(raw, where, note, text_ok=False)
    if not parsed or not isinstance(items, list):
        if parsed and note is not None:
            note(where, "rejected", raw, JSON_RULE)  # JSON, but not a list of messages
        return []
    messages: list[Message] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            if note is not None:
                note(at, "rejected", item, "a message is a JSON object")
            continue
        texts, calls, responses = [], [], []
        parts = item.get("parts")
        if parts is not None and not isinstance(parts, list):
            if note is not None:
                note(f"{at}.parts", "rejected", parts, "message parts are a JSON list")
            parts = None
        for j, part in enumerate(parts or ()):
            part_at = f"{at}.parts[{j}]"
            if not isinstance(part, dict):
                if note is not None:
                    note(part_at, "rejected", part, "a message part is a JSON object")
                continue
            kind = part.get("type")
            if kind == "text":
                texts.append(as_text(part.get("content", ""), f"{part_at}.content", note) or "")
            elif kind == "tool_call":
                calls.append(
                    {
                        "id": as_text(part.get("id"), f"{part_at}.id", note),
                        "type": "function",
                        "function": {
                            "name": as_text(part.get("name"), f"{part_at}.name", note),
                            "arguments": _json_text(part.get("arguments")),
                        },
                    }
                )
            elif kind == "tool_call_response":
                responses.append((part, part_at))
        role = as_text(item.get("role", "user"), f"{at}.role", note) or "user"
        for resp, resp_at in responses:
            messages.append(
                {
                    "role": "tool",
                    "content": _json_text(resp.get("response")),
                    "tool_call_id": as_text(resp.get("id"), f"{resp_at}.id", note),
                }
            )
        if texts or calls or not responses:
            message: Message = {"role": role, "content": "\n".join(texts)}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
    return messages


def _json_text(value: Any) -> str:
    """A JSON value the conventions allow to be any JSON (arguments, a tool's response) as text."""
    return value if isinstance(value, str) else json.dumps(value)


def _flattened(attrs: Mapping[str, Any], prefix: str, note: Note | None) -> list[Message]:
    messages: list[Message] = []
    i = 0
    while (role := text(attrs, f"{prefix}.{i}.role", note)) is not None:
        content = text(attrs, f"{prefix}.{i}.content", note)
        message: Message = {"role": role, "content": content or ""}
        call_id = text(attrs, f"{prefix}.{i}.tool_call_id", note)
        if call_id is not None:
            message["tool_call_id"] = call_id
        calls = []
        k = 0
        while (name := text(attrs, f"{prefix}.{i}.tool_calls.{k}.name", note)) is not None:
            arguments = text(attrs, f"{prefix}.{i}.tool_calls.{k}.arguments", note)
            calls.append(
                {
                    "id": text(attrs, f"{prefix}.{i}.tool_calls.{k}.id", note),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments or "{}"},
                }
            )
            k += 1
        if calls:
            message["tool_calls"] = calls
        messages.append(message)
        i += 1
    return messages


def read_llm(span: SpanRecord, notes: ValueNotes | None = None) -> LLMFacts:
    """Facts of a GenAI model call span."""
    attrs = span.attributes
    note = notes.for_span(span) if notes is not None else None
    inputs = (
        _from_parts(attrs[INPUT_MESSAGES], INPUT_MESSAGES, note)
        if INPUT_MESSAGES in attrs
        else _flattened(attrs, PROMPT_PREFIX, note)
    )
    outputs = (
        _from_parts(attrs[OUTPUT_MESSAGES], OUTPUT_MESSAGES, note)
        if OUTPUT_MESSAGES in attrs
        else _flattened(attrs, COMPLETION_PREFIX, note)
    )
    reasons = attrs.get(FINISH_REASONS)
    finish = reasons[-1] if isinstance(reasons, tuple | list) and reasons else reasons
    return LLMFacts(
        model=text(attrs, RESPONSE_MODEL, note) or text(attrs, REQUEST_MODEL, note),
        provider=text(attrs, PROVIDER, note) or text(attrs, SYSTEM, note),
        usage=_usage(attrs, note),
        input_messages=inputs,
        output_messages=outputs,
        finish_reason=normal_finish_reason(as_text(finish, FINISH_REASONS, note)),
        first_token_ns=_first_token_ns(span, note),
        ends_early=False,  # these spans last until the stream ends
        convention="genai",
    )


def _first_token_ns(span: SpanRecord, note: Note | None) -> int | None:
    """``gen_ai.response.time_to_first_chunk`` (seconds), else OpenLLMetry's first chunk event."""
    delay = seconds(span.attributes, TIME_TO_FIRST_CHUNK, note)
    if delay is not None:
        return span.start_ns + round(delay * 1e9)
    return next((e.time_ns for e in span.events if e.name == CHUNK_EVENT), None)


def read_tool(span: SpanRecord, notes: ValueNotes | None = None) -> ToolFacts:
    """Facts of a GenAI ``execute_tool`` span or an OpenLLMetry ``call_tool`` task."""
    attrs = span.attributes
    note = notes.for_span(span) if notes is not None else None
    if attrs.get(OPERATION) != TOOL_OPERATION:
        return _openllmetry_tool(span, note)
    error = _error(span, note)
    result = attrs.get(TOOL_CALL_RESULT)
    if result is not None and not isinstance(result, str):
        result = as_text(result, TOOL_CALL_RESULT, note)
    return ToolFacts(
        name=text(attrs, TOOL_NAME, note) or span.name,
        arguments=_arguments(attrs.get(TOOL_CALL_ARGUMENTS), TOOL_CALL_ARGUMENTS, note),
        # A raising tool's result is its error text, which ``error`` already holds.
        output=None if error is not None else result,
        tool_call_id=text(attrs, TOOL_CALL_ID, note),
        error=error,
    )


def _error(span: SpanRecord, note: Note | None) -> str | None:
    """The span's error, as ``Type: message`` like an exception event would give it.

    OpenTelemetry's GenAI instrumentation records no exception event: the type is in
    ``error.type`` and the message in the status description.
    """
    found = error_text(span, note)
    kind = text(span.attributes, ERROR_TYPE, note)
    has_event = any(e.name == "exception" for e in span.events)
    if found is not None and kind and not has_event and span.status_message:
        return f"{kind.rsplit('.', 1)[-1]}: {span.status_message}"
    return found


def _arguments(raw: Any, where: str, note: Note | None) -> Any:
    """Tool arguments: a JSON string at agent level, an object at chat level."""
    return json_value(raw, where, note, text_ok=True)[0]


def _openllmetry_tool(span: SpanRecord, note: Note | None) -> ToolFacts:
    """OpenLLMetry's ``call_tool`` task: ``tool.name``, ``tool.arguments`` and its output JSON.

    The output holds the call id and LlamaIndex's ToolOutput (text blocks, ``is_error``); a
    raising tool is seen only there, since its own task span is never ended.
    """
    attrs = span.attributes
    out = _json_object(attrs.get(TRACELOOP_OUTPUT), TRACELOOP_OUTPUT, note) or {}
    raw_output = out.get("tool_output")
    tool_output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
    raw_blocks = tool_output.get("blocks")
    blocks: list[Any] = raw_blocks if isinstance(raw_blocks, list) else []
    joined = "".join(str(b["text"]) for b in blocks if isinstance(b, dict) and "text" in b)
    failed = bool(tool_output.get("is_error")) or span.status == "ERROR"
    call_id = as_text(out.get("tool_id"), f"{TRACELOOP_OUTPUT} tool_id", note)
    arguments = _arguments(attrs.get(OPENLLMETRY_TOOL_ARGUMENTS), OPENLLMETRY_TOOL_ARGUMENTS, note)
    if arguments is None and isinstance(out.get("tool_kwargs"), dict):
        arguments = out["tool_kwargs"]
    return ToolFacts(
        name=text(attrs, OPENLLMETRY_TOOL_NAME, note) or span.name,
        arguments=arguments,
        output=None if failed else (joined if out else None),
        tool_call_id=call_id or None,
        error=(error_text(span, note) or joined or "tool reported an error") if failed else None,
    )
