"""OpenInference attributes, as OpenInference's instrumentors write them (any framework)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from sys import intern
from typing import Any, NamedTuple

from openinference.instrumentation import REDACTED_VALUE
from openinference.semconv.trace import (
    MessageAttributes,
    MessageContentAttributes,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
)

from ..run_trace import TokenUsage
from ..spans import SpanRecord
from ._facts import LLMFacts, Message, ToolFacts, normal_finish_reason
from ._values import Note, ValueNotes, as_text, count, json_value, text

__all__ = [
    "error_text",
    "explicit_agent",
    "is_llm_call",
    "is_tool",
    "read_llm",
    "read_messages",
    "read_tool",
    "read_usage",
]

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
LLM = OpenInferenceSpanKindValues.LLM.value
TOOL = OpenInferenceSpanKindValues.TOOL.value
FIRST_TOKEN_EVENT = "First Token Stream Event"
_MAX_CALLS = 100_000  # tool calls read per message (bounds a hostile producer's numbering)

_ROLE = MessageAttributes.MESSAGE_ROLE
_CONTENT = MessageAttributes.MESSAGE_CONTENT
_CONTENTS = MessageAttributes.MESSAGE_CONTENTS
_PARTS_MARK = f".{_CONTENTS}."  # in the key of every content part
_NAME = MessageAttributes.MESSAGE_NAME
_TOOL_CALLS = MessageAttributes.MESSAGE_TOOL_CALLS
_CALLS_MARK = f".{_TOOL_CALLS}."  # in the key of every tool call
# a content part or tool call numbered other than 0 (one search of the keys, at C speed)
_NOT_FIRST = re.compile(f"(?:{re.escape(_PARTS_MARK)}|{re.escape(_CALLS_MARK)})(?!0\\.)")
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
    """An LLM-kind span (its framework may still say it calls no model)."""
    return span.attributes.get(KIND) == LLM


def is_tool(span: SpanRecord) -> bool:
    """A TOOL-kind span."""
    return span.attributes.get(KIND) == TOOL


class _CallKeys(NamedTuple):
    id: str
    name: str
    arguments: str


class _MessageKeys(NamedTuple):
    role: str
    content: str
    optional: tuple[tuple[str, str], ...]  # (field, key) of tool_call_id and name
    contents: str  # prefix of the content parts
    first_text: str  # key of its first content part's text
    base: str  # prefix of the message's keys
    first_call: _CallKeys  # keys of its first tool call


@lru_cache(maxsize=8192)
def _message_keys(prefix: str, i: int) -> _MessageKeys:
    # Built once per (prefix, index): reused key strings keep their hash, lookups stay cheap.
    base = f"{prefix}.{i}."
    return _MessageKeys(
        intern(base + _ROLE),
        intern(base + _CONTENT),
        (("tool_call_id", intern(base + _TOOL_CALL_ID)), ("name", intern(base + _NAME))),
        f"{base}{_CONTENTS}.",
        intern(f"{base}{_CONTENTS}.0.{_TEXT}"),
        base,
        _call_keys(base, 0),
    )


@lru_cache(maxsize=8192)
def _call_keys(message_base: str, k: int) -> _CallKeys:
    base = f"{message_base}{_TOOL_CALLS}.{k}."
    return _CallKeys(intern(base + _CALL_ID), intern(base + _CALL_NAME), intern(base + _CALL_ARGS))


class _SpanKeys:
    """A span's keys as one text, a key per line, joined when first needed, whether they hold
    content parts, and whether every content part and tool call among them is numbered 0: each
    asked of the whole span, once for its input and output messages."""

    __slots__ = ("_attrs", "_first_only", "_has_parts", "_joined")

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self._attrs = attrs
        self._joined: str | None = None
        self._has_parts: bool | None = None
        self._first_only: bool | None = None

    @property
    def joined(self) -> str:
        if self._joined is None:
            self._joined = "\n".join(self._attrs)
        return self._joined

    @property
    def has_parts(self) -> bool:
        """At C speed: most spans have no content parts."""
        if self._has_parts is None:
            self._has_parts = _PARTS_MARK in self.joined
        return self._has_parts

    @property
    def first_only(self) -> bool:
        """Most spans write a message as one part and call one tool per message: one search
        of their keys finds no other number, and no key need be looked at to place them."""
        if self._first_only is None:
            self._first_only = _NOT_FIRST.search(self.joined) is None
        return self._first_only


def read_messages(
    attrs: Mapping[str, Any],
    prefix: str,
    note: Note | None = None,
    span_keys: _SpanKeys | None = None,
) -> list[Message]:
    """Messages under ``llm.input_messages`` / ``llm.output_messages`` in OpenAI format.

    The list ends at the first index without a role (a role that is not text is rejected, so
    it ends there too). ``span_keys``: the span's, when its other messages are read too.
    """
    messages: list[Message] = []
    parts: dict[int, int] | None = None  # message index -> highest content part index
    call_indices: dict[int, list[int]] = {}  # message index -> its tool call indices
    span_keys = span_keys or _SpanKeys(attrs)
    i = 0
    while True:
        keys = _message_keys(prefix, i)
        role = attrs.get(keys.role)
        if type(role) is not str:  # text is the rule; the check inline: this loop is hot
            role = as_text(role, keys.role, note)
            if role is None:
                break
        content = attrs.get(keys.content)
        if content is not None and type(content) is not str:
            content = as_text(content, keys.content, note)
        without_content = content is None
        if without_content:
            content = ""
            if span_keys.has_parts:
                if parts is None:
                    parts, call_indices = _layout(attrs, prefix, span_keys)
                # (one part at most: reading part 0 of a message without parts gives "" too)
                last = 0 if span_keys.first_only else parts.get(i, -1)
                content = _parts(attrs, keys, last, note)
        message: Message = {"role": role, "content": content}
        first = keys.first_call  # most messages call no tool: one look before the loop
        if attrs.get(first.name) is not None or attrs.get(first.id) is not None:
            calls = _tool_calls(attrs, keys.base, note, range(_MAX_CALLS))
            if calls:
                message["tool_calls"] = calls
        elif without_content:
            # Some instrumentors number a message's tool calls on from the previous message's
            # (openinference-instrumentation-openai-agents 2.6: ``tool_calls.1`` first).
            if parts is None:
                parts, call_indices = _layout(attrs, prefix, span_keys)
            scanned = call_indices.get(i)  # (no call but number 0, and this message has none)
            calls = _tool_calls(attrs, keys.base, note, scanned) if scanned else []
            if calls:
                message["tool_calls"] = calls
        for field, key in keys.optional:
            value = attrs.get(key)
            if value is not None and type(value) is not str:
                value = as_text(value, key, note)
            if value is not None:
                message[field] = value
        messages.append(message)
        i += 1
    return messages


def _layout(
    attrs: Mapping[str, Any], prefix: str, span_keys: _SpanKeys
) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Where the content parts and tool calls of each message are (``_part_indices``); none
    looked for when every one of the span's is numbered 0 (``_SpanKeys.first_only``)."""
    if span_keys.first_only:
        return {}, {}
    return _part_indices(attrs, prefix, span_keys.joined)


def _part_indices(
    attrs: Mapping[str, Any], prefix: str, joined: str
) -> tuple[dict[int, int], dict[int, list[int]]]:
    """The highest content part index of each message, and each message's tool call indices,
    from one pass over the keys.

    A part may be written without any attribute (OpenInference writes nothing for audio), so
    its index is missing and the parts after it can only be found by looking at every key.
    The keys are searched as one text, a key per line, by regular expressions (at C speed);
    keys holding a line break are looked at one by one.
    """
    if joined.count("\n") != len(attrs) - 1:
        return _part_indices_by_key(attrs, prefix)
    blob = f"\n{joined}\n"  # every key between line breaks: patterns start with a literal
    parts_at, calls_at = _index_patterns(prefix)
    highest: dict[int, int] = {}
    # (a span holding no mark at all is not searched for it: a search is a pass over every key)
    part_marks = parts_at.findall(blob) if _PARTS_MARK in joined else ()
    for message, part in set(part_marks):  # a part has a key or two: once each
        i, j = int(message), int(part)
        if j > highest.get(i, -1):
            highest[i] = j
    calls: dict[int, set[int]] = {}
    call_marks = calls_at.findall(blob) if _CALLS_MARK in joined else ()
    for message, index in set(call_marks):  # (a call has three keys)
        calls.setdefault(int(message), set()).add(int(index))
    return highest, {i: sorted(found)[:_MAX_CALLS] for i, found in calls.items()}


@lru_cache(maxsize=64)
def _index_patterns(prefix: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns of a content part's key and of a tool call's under ``prefix`` (a key per line;
    an index is up to 6 digits followed by a dot or the key's end; a tool call's key holds no
    content part's mark after it: such a key is a part's, read by the first)."""
    start, parts, calls = (re.escape(m) for m in (f"{prefix}.", _PARTS_MARK, _CALLS_MARK))
    return (
        re.compile(rf"\n{start}(\d+){parts}(\d{{1,6}})(?=[.\n])"),
        re.compile(rf"\n{start}(\d+){calls}(\d{{1,6}})(?=[.\n])(?![^\n]*{parts})"),
    )


def _part_indices_by_key(
    attrs: Mapping[str, Any], prefix: str
) -> tuple[dict[int, int], dict[int, list[int]]]:
    """``_part_indices``, key by key."""
    start = f"{prefix}."
    highest: dict[int, int] = {}
    calls: dict[int, set[int]] = {}
    for key in attrs:
        if not key.startswith(start):
            continue
        if _PARTS_MARK in key:
            message, _, rest = key[len(start) :].partition(_PARTS_MARK)
            part = rest.partition(".")[0]
            if message.isdecimal() and part.isdecimal() and len(part) < 7:
                i, j = int(message), int(part)
                if j > highest.get(i, -1):
                    highest[i] = j
        elif _CALLS_MARK in key:
            message, _, rest = key[len(start) :].partition(_CALLS_MARK)
            index = rest.partition(".")[0]
            if message.isdecimal() and index.isdecimal() and len(index) < 7:
                calls.setdefault(int(message), set()).add(int(index))
    return highest, {i: sorted(found)[:_MAX_CALLS] for i, found in calls.items()}


def _parts(attrs: Mapping[str, Any], keys: _MessageKeys, last: int, note: Note | None) -> str:
    """The text of a message sent as content parts ``0..last`` (parts without text are
    skipped)."""
    if last == 0:  # one part, the usual case (smolagents writes every message so)
        only = attrs.get(keys.first_text)
        if type(only) is str:
            return only
    texts = []
    for j in range(last + 1):
        value = text(attrs, f"{keys.contents}{j}.{_TEXT}", note)
        if value is not None:
            texts.append(value)
    return "\n".join(texts)


def _tool_calls(
    attrs: Mapping[str, Any], message_base: str, note: Note | None, indices: Iterable[int]
) -> list[dict[str, Any]]:
    """The tool calls at ``indices`` of a message, up to the first index that has none."""
    calls = []
    for k in indices:
        keys = _call_keys(message_base, k)
        name, call_id = attrs.get(keys.name), attrs.get(keys.id)
        if name is None and call_id is None:
            break
        if name is not None and type(name) is not str:
            name = as_text(name, keys.name, note)
        if call_id is not None and type(call_id) is not str:
            call_id = as_text(call_id, keys.id, note)
        if name is None and call_id is None:
            break  # both rejected: read as absent, which ends the list
        args = attrs.get(keys.arguments, "{}")
        if not isinstance(args, str):
            args = as_text(args, keys.arguments, note) or "{}"
        calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
        )
    return calls


def read_usage(attrs: Mapping[str, Any], note: Note | None = None) -> TokenUsage | None:
    """Token counts of one call, or None when the span reports none (or an unusable one).

    A prompt or completion count that is present but rejected makes the usage unknown: a zero
    in its place would be made up. A rejected total is recomputed; a rejected detail count
    reads as absent (0).
    """
    prompt = count(attrs, _PROMPT, note)
    completion = count(attrs, _COMPLETION, note)
    total = count(attrs, _TOTAL, note)
    if (prompt is None and _PROMPT in attrs) or (completion is None and _COMPLETION in attrs):
        return None
    if prompt is None and completion is None and total is None:
        return None
    prompt_n = prompt or 0
    completion_n = completion or 0
    return TokenUsage(
        input_tokens=prompt_n,
        output_tokens=completion_n,
        total_tokens=total if total is not None else prompt_n + completion_n,
        cached_input_tokens=count(attrs, _CACHE_READ, note) or 0,
        reasoning_tokens=count(attrs, _REASONING, note) or 0,
    )


def read_llm(span: SpanRecord, notes: ValueNotes | None = None) -> LLMFacts:
    """Facts of an OpenInference LLM call span."""
    attrs = span.attributes
    note = notes.for_span(span) if notes is not None else None
    first_token = next((e.time_ns for e in span.events if e.name == FIRST_TOKEN_EVENT), None)
    span_keys = _SpanKeys(attrs)
    output = read_messages(attrs, SpanAttributes.LLM_OUTPUT_MESSAGES, note, span_keys)
    finish = text(attrs, SpanAttributes.LLM_FINISH_REASON, note)
    if finish is None and output:
        finish = "tool_calls" if output[-1].get("tool_calls") else "stop"
    return LLMFacts(
        model=text(attrs, SpanAttributes.LLM_MODEL_NAME, note),
        provider=text(attrs, SpanAttributes.LLM_PROVIDER, note)
        or text(attrs, SpanAttributes.LLM_SYSTEM, note),
        usage=read_usage(attrs, note),
        input_messages=read_messages(attrs, SpanAttributes.LLM_INPUT_MESSAGES, note, span_keys),
        output_messages=output,
        finish_reason=normal_finish_reason(finish),
        first_token_ns=first_token,
        ends_early=first_token is not None or "stream" in span.name,
        convention="openinference",
    )


def read_tool(span: SpanRecord, notes: ValueNotes | None = None) -> ToolFacts:
    """Facts of an OpenInference TOOL span (its framework unwraps what it recorded)."""
    attrs = span.attributes
    note = notes.for_span(span) if notes is not None else None
    return ToolFacts(
        name=text(attrs, SpanAttributes.TOOL_NAME, note) or span.name,
        arguments=_tool_arguments(attrs.get(SpanAttributes.INPUT_VALUE), note),
        output=_tool_output(attrs.get(SpanAttributes.OUTPUT_VALUE), note),
        tool_call_id=text(attrs, SpanAttributes.TOOL_ID, note),
        error=error_text(span, note),
    )


def _tool_output(raw: Any, note: Note | None) -> str | None:
    """The text of a tool's output; OpenInference's redaction marker: hidden, not captured.

    A tool that returns a number or a boolean has it recorded as one by some instrumentors
    (smolagents', the OpenAI Agents SDK's): its text is what the model was sent, so it is read
    as text without a data-quality note.
    """
    if raw is None or raw == REDACTED_VALUE:
        return None
    if isinstance(raw, bool | int | float):
        return as_text(raw, SpanAttributes.OUTPUT_VALUE, None)
    if not isinstance(raw, str):
        return as_text(raw, SpanAttributes.OUTPUT_VALUE, note)
    return raw


def _tool_arguments(raw: Any, note: Note | None) -> Any:
    if raw == REDACTED_VALUE:
        return None  # hidden (OpenInference's hide_inputs): not captured
    return json_value(raw, SpanAttributes.INPUT_VALUE, note, text_ok=True)[0]


def error_text(span: SpanRecord, note: Note | None = None) -> str | None:
    """The error of a failed span: its exception event's message, else its status text."""
    if span.status != "ERROR":
        return None
    for event in span.events:
        if event.name == "exception":
            kind = as_text(event.attributes.get(EXCEPTION_TYPE), EXCEPTION_TYPE, note)
            message = as_text(event.attributes.get(EXCEPTION_MESSAGE), EXCEPTION_MESSAGE, note)
            if message is not None:
                return f"{kind}: {message}" if kind else message
    return span.status_message or "error"


def explicit_agent(span: SpanRecord, notes: ValueNotes | None = None) -> str | None:
    """``agent.name`` or ``graph.node.name`` when set (by enrichment or other instrumentors)."""
    for key in _AGENT_ATTRS:
        value = span.attributes.get(key)
        if value is not None and type(value) is not str:  # read for every span: checked inline
            value = as_text(value, key, notes.for_span(span) if notes is not None else None)
        if value:
            return value
    return None
