"""OpenInference attributes, as written by openinference-instrumentation-llama-index."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from sys import intern
from typing import Any, NamedTuple

from openinference.semconv.trace import (
    MessageAttributes,
    MessageContentAttributes,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)

from ..run_trace import TokenUsage
from ..spans import SpanRecord
from ._facts import LLMFacts, Message, ToolFacts, normal_finish_reason

__all__ = [
    "error_text",
    "explicit_agent",
    "is_llm_call",
    "is_step",
    "is_tool",
    "read_llm",
    "read_messages",
    "read_tool",
    "read_usage",
    "step_agent",
    "step_tool_call_id",
]

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
LLM = OpenInferenceSpanKindValues.LLM.value
TOOL = OpenInferenceSpanKindValues.TOOL.value
FIRST_TOKEN_EVENT = "First Token Stream Event"
# LlamaIndex opens an LLM-kind span for tool preparation; it calls no model.
NOT_A_CALL_SUFFIXES = ("._prepare_chat_with_tools",)
STEP_SUFFIXES = (".run_agent_step",)
CALL_TOOL_SUFFIX = ".call_tool"
AGENT_MARK = "current_agent_name="
TOOL_ID_MARK = "tool_id="

_ROLE = MessageAttributes.MESSAGE_ROLE
_CONTENT = MessageAttributes.MESSAGE_CONTENT
_CONTENTS = MessageAttributes.MESSAGE_CONTENTS
_NAME = MessageAttributes.MESSAGE_NAME
_TOOL_CALLS = MessageAttributes.MESSAGE_TOOL_CALLS
_TOOL_CALL_ID = MessageAttributes.MESSAGE_TOOL_CALL_ID
_TEXT = MessageContentAttributes.MESSAGE_CONTENT_TEXT
_CALL_ID = ToolCallAttributes.TOOL_CALL_ID
_CALL_NAME = ToolCallAttributes.TOOL_CALL_FUNCTION_NAME
_CALL_ARGS = ToolCallAttributes.TOOL_CALL_FUNCTION_ARGUMENTS_JSON

_PROMPT = SpanAttributes.LLM_TOKEN_COUNT_PROMPT
_COMPLETION = SpanAttributes.LLM_TOKEN_COUNT_COMPLETION
_TOTAL = SpanAttributes.LLM_TOKEN_COUNT_TOTAL
_CACHE_READ = SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ
_REASONING = SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING
_AGENT_ATTRS = (SpanAttributes.AGENT_NAME, SpanAttributes.GRAPH_NODE_NAME)


def is_llm_call(span: SpanRecord) -> bool:
    """An LLM-kind span that is a real model call."""
    return span.attributes.get(KIND) == LLM and not span.name.endswith(NOT_A_CALL_SUFFIXES)


def is_tool(span: SpanRecord) -> bool:
    """A TOOL-kind span."""
    return span.attributes.get(KIND) == TOOL


class _MessageKeys(NamedTuple):
    role: str
    content: str
    tool_call_id: str
    name: str
    contents: str  # prefix of the content parts


class _CallKeys(NamedTuple):
    id: str
    name: str
    arguments: str


@lru_cache(maxsize=8192)
def _message_keys(prefix: str, i: int) -> _MessageKeys:
    # Built once per (prefix, index): reused key strings keep their hash, lookups stay cheap.
    base = f"{prefix}.{i}."
    return _MessageKeys(
        intern(base + _ROLE),
        intern(base + _CONTENT),
        intern(base + _TOOL_CALL_ID),
        intern(base + _NAME),
        f"{base}{_CONTENTS}.",
    )


@lru_cache(maxsize=8192)
def _call_keys(message_base: str, k: int) -> _CallKeys:
    base = f"{message_base}{_TOOL_CALLS}.{k}."
    return _CallKeys(intern(base + _CALL_ID), intern(base + _CALL_NAME), intern(base + _CALL_ARGS))


def read_messages(attrs: Mapping[str, Any], prefix: str) -> list[Message]:
    """Messages under ``llm.input_messages`` / ``llm.output_messages`` in OpenAI format."""
    messages: list[Message] = []
    i = 0
    while True:
        keys = _message_keys(prefix, i)
        role = attrs.get(keys.role)
        if role is None:
            break
        content = attrs.get(keys.content)
        message: Message = {
            "role": role,
            "content": _parts(attrs, keys.contents) if content is None else str(content),
        }
        calls = _tool_calls(attrs, keys.role[: -len(_ROLE)])
        if calls:
            message["tool_calls"] = calls
        call_id = attrs.get(keys.tool_call_id)
        if call_id is not None:
            message["tool_call_id"] = call_id
        name = attrs.get(keys.name)
        if name is not None:
            message["name"] = name
        messages.append(message)
        i += 1
    return messages


def _parts(attrs: Mapping[str, Any], base: str) -> str:
    """The text of a message sent as content parts (non-text parts are skipped).

    OpenInference writes no attribute at all for some parts (audio) yet still counts them, so
    the part numbers can have gaps: every number present is read, in order.
    """
    numbers = sorted(
        {
            int(head)
            for key in attrs
            if key.startswith(base) and (head := key[len(base) :].partition(".")[0]).isdigit()
        }
    )
    texts = (attrs.get(f"{base}{j}.{_TEXT}") for j in numbers)
    return "\n".join(str(text) for text in texts if text is not None)


def _tool_calls(attrs: Mapping[str, Any], message_base: str) -> list[dict[str, Any]]:
    calls = []
    k = 0
    while True:
        keys = _call_keys(message_base, k)
        name = attrs.get(keys.name)
        call_id = attrs.get(keys.id)
        if name is None and call_id is None:
            break
        args = attrs.get(keys.arguments, "{}")
        calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": _as_json_text(args)},
            }
        )
        k += 1
    return calls


def _as_json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_usage(attrs: Mapping[str, Any]) -> TokenUsage | None:
    """Token counts of one call, or None when the span reports none."""
    prompt = attrs.get(_PROMPT)
    completion = attrs.get(_COMPLETION)
    total = attrs.get(_TOTAL)
    if prompt is None and completion is None and total is None:
        return None
    prompt_n = int(prompt or 0)
    completion_n = int(completion or 0)
    return TokenUsage(
        input_tokens=prompt_n,
        output_tokens=completion_n,
        total_tokens=int(total) if total is not None else prompt_n + completion_n,
        cached_input_tokens=int(attrs.get(_CACHE_READ) or 0),
        reasoning_tokens=int(attrs.get(_REASONING) or 0),
    )


def read_llm(span: SpanRecord) -> LLMFacts:
    """Facts of an OpenInference LLM call span."""
    attrs = span.attributes
    first_token = next((e.time_ns for e in span.events if e.name == FIRST_TOKEN_EVENT), None)
    output = read_messages(attrs, SpanAttributes.LLM_OUTPUT_MESSAGES)
    finish = attrs.get(SpanAttributes.LLM_FINISH_REASON)
    if finish is None and output:
        finish = "tool_calls" if output[-1].get("tool_calls") else "stop"
    return LLMFacts(
        model=attrs.get(SpanAttributes.LLM_MODEL_NAME),
        provider=attrs.get(SpanAttributes.LLM_PROVIDER) or attrs.get(SpanAttributes.LLM_SYSTEM),
        usage=read_usage(attrs),
        input_messages=read_messages(attrs, SpanAttributes.LLM_INPUT_MESSAGES),
        output_messages=output,
        finish_reason=normal_finish_reason(finish),
        first_token_ns=first_token,
        ends_early=first_token is not None or "stream" in span.name,
        convention="openinference",
    )


def read_tool(span: SpanRecord) -> ToolFacts:
    """Facts of an OpenInference TOOL span."""
    attrs = span.attributes
    output, failed = _tool_output(attrs.get(SpanAttributes.OUTPUT_VALUE))
    return ToolFacts(
        name=str(attrs.get(SpanAttributes.TOOL_NAME) or span.name),
        arguments=_tool_arguments(attrs.get(SpanAttributes.INPUT_VALUE)),
        output=output,
        tool_call_id=attrs.get(SpanAttributes.TOOL_ID),
        error=error_text(span) or (output or "tool reported an error" if failed else None),
    )


def _tool_output(raw: Any) -> tuple[str | None, bool]:
    """The text of a tool's output and whether the tool flagged it as an error.

    LlamaIndex records a whole ``ToolOutput`` as JSON; the model is sent its text blocks.
    """
    if not isinstance(raw, str) or not raw.startswith("{"):
        return (None if raw is None else str(raw)), False
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw, False
    if not isinstance(value, dict) or "blocks" not in value:
        return raw, False
    texts = [
        str(b["text"]) for b in value.get("blocks") or () if isinstance(b, dict) and "text" in b
    ]
    return "".join(texts), bool(value.get("is_error"))


def _tool_arguments(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    if isinstance(value, dict) and set(value) == {"kwargs"} and isinstance(value["kwargs"], dict):
        value = value["kwargs"]
    if isinstance(value, dict):
        # The workflow Context is passed to tools that take one; its repr is not an argument.
        value = {k: v for k, v in value.items() if not _is_context_repr(v)}
    return value


def _is_context_repr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and "Context" in value[:64]


def error_text(span: SpanRecord) -> str | None:
    """The error of a failed span: its exception event's message, else its status text."""
    if span.status != "ERROR":
        return None
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type")
            message = event.attributes.get("exception.message")
            if message is not None:
                return f"{kind}: {message}" if kind else str(message)
    return span.status_message or "error"


def explicit_agent(span: SpanRecord) -> str | None:
    """``agent.name`` or ``graph.node.name`` when set (by enrichment or other instrumentors)."""
    for key in _AGENT_ATTRS:
        value = span.attributes.get(key)
        if value:
            return str(value)
    return None


def is_step(span: SpanRecord) -> bool:
    """A workflow agent's ``run_agent_step`` span: one LLM turn of one agent."""
    return span.name.endswith(STEP_SUFFIXES)


def step_agent(span: SpanRecord) -> str | None:
    """The agent of a ``run_agent_step`` span, read from its input repr."""
    if not is_step(span):
        return None
    return _repr_field(span.attributes.get(SpanAttributes.INPUT_VALUE), AGENT_MARK)


def step_tool_call_id(span: SpanRecord) -> str | None:
    """The ``tool_id`` of a ``call_tool`` span, read from its input repr."""
    if not span.name.endswith(CALL_TOOL_SUFFIX):
        return None
    return _repr_field(span.attributes.get(SpanAttributes.INPUT_VALUE), TOOL_ID_MARK)


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
