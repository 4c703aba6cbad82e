"""smolagents (ToolCallingAgent and its managed agents), as OpenInference's instrumentor records it.

An agent's run is an AGENT span ``<agent name>.run`` (its token counts are the run's
aggregate, not a call); each of its steps is a CHAIN span ``Step N`` that names no agent; a
model call is ``<Model class>.generate`` (``generate_stream`` when streamed, a span that ends
with its stream); a tool is a TOOL span named after the tool class with ``tool.name`` and no
call id, its input ``{"args": [...], "sanitize_inputs_outputs": ..., "kwargs": {...}}``. A
managed agent is called without a tool span: its ``.run`` sits directly in the manager's step
(a delegation, read by derivation's generic rule). When smolagents re-sends history it sends
an earlier tool call as a ``tool-call`` message "Calling tools:\\n[{...}]" (a Python repr) and
its result as a ``tool-response`` message "Observation:\\n..." (on the wire: an assistant and a
user message); they are turned back into OpenAI tool calls and results here.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from functools import lru_cache
from typing import Any

from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

from ..conventions import Message, ToolFacts, ValueNotes, as_text, json_value
from ..run_trace import TokenUsage
from ..spans import SpanRecord
from ._base import Framework, Instrumentation

__all__ = ["SMOLAGENTS", "Smolagents"]

RUN_SUFFIX = ".run"
STEP_PREFIX = "Step "
STREAM_SUFFIX = ".generate_stream"
RUN_MARK = "smolagents."  # prefix of the attributes its AGENT spans carry
TOOL_CALLS_MARK = "Calling tools:\n"
OBSERVATION_MARK = "Observation:\n"
CALL_ID_MARK = "Call id: "  # a failed tool call's result: "Call id: <id>\nError:\n..."
ENUM_ROLE = "MessageRole."  # its role enum, as the OpenAI client's GenAI spans record it
TOOL_CALL_ROLE = "tool-call"
TOOL_RESPONSE_ROLE = "tool-response"
_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
_AGENT = OpenInferenceSpanKindValues.AGENT.value
_CHAIN = OpenInferenceSpanKindValues.CHAIN.value
_LLM = OpenInferenceSpanKindValues.LLM.value
_OUTPUT = SpanAttributes.OUTPUT_VALUE
_INPUT = SpanAttributes.INPUT_VALUE
# the OpenAI response's repr, as smolagents keeps it in ChatMessage.raw
_USAGE_MARK = "usage=CompletionUsage("
_CACHED_MARK = "cached_tokens="
_REASONING_MARK = "reasoning_tokens="
# smolagents' own roles, and what its OpenAI client sends them as
_WIRE_ROLES = {TOOL_CALL_ROLE: "assistant", TOOL_RESPONSE_ROLE: "user"}
_CALL_ROLES = frozenset({TOOL_CALL_ROLE, "assistant"})  # roles of re-sent tool calls
_RESULT_ROLES = frozenset({TOOL_RESPONSE_ROLE, "user"})  # roles of re-sent results


class Smolagents(Framework):
    """smolagents' agents, as OpenInference's instrumentor records them."""

    name = "smolagents"
    instrumentation = Instrumentation(
        instrumentor="openinference.instrumentation.smolagents:SmolagentsInstrumentor",
        requires=("smolagents",),
        extra="smolagents",
    )
    scopes = (
        "openinference.instrumentation.smolagents",
        "opentelemetry.instrumentation.genai.smolagents",
    )

    def recognizes(self, span: SpanRecord) -> bool:
        """By scope, else by its agent run spans (``<name>.run`` with ``smolagents.*``)."""
        return super().recognizes(span) or _is_run(span)

    def activation_agent(self, span: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The agent of a ``<name>.run`` AGENT span: one whole run of that agent."""
        return span.name[: -len(RUN_SUFFIX)] or None if _is_run(span) else None

    def is_unnamed_step(self, span: SpanRecord) -> bool:
        """``Step N``: one step of the agent whose run holds it."""
        return span.name.startswith(STEP_PREFIX) and span.attributes.get(_KIND) == _CHAIN

    def matches_tool_calls(self, span: SpanRecord) -> bool:
        """Its tool spans carry no call id: they are matched to the model's tool calls."""
        return super().recognizes(span)

    def covers_stream(self, span: SpanRecord) -> bool:
        """``generate_stream`` ends when its stream does."""
        return span.name.endswith(STREAM_SUFFIX) and super().recognizes(span)

    def refine_tool(
        self, span: SpanRecord, facts: ToolFacts, notes: ValueNotes | None
    ) -> ToolFacts:
        """The tool's keyword arguments (its positional ones when it got no keywords)."""
        if not super().recognizes(span):
            return facts
        return replace(facts, arguments=_tool_arguments(facts.arguments))

    def refine_messages(self, span: SpanRecord, messages: list[Message]) -> list[Message]:
        """Re-sent tool calls and results as OpenAI tool calls and ``tool`` messages, also on
        another instrumentation's model spans (the OpenAI client's: the history's wire form);
        on its own spans, tool call arguments as canonical JSON, as re-sent ones are."""
        own = super().recognizes(span)
        roles = {m.get("role") for m in messages}
        if not own and roles <= _PLAIN_ROLES and not _calls_as_text(messages):
            return messages  # another framework's messages: nothing of smolagents' in them
        if any(str(role).startswith(ENUM_ROLE) for role in roles):
            messages = [_plain_role(m) for m in messages]
        if not any(_is_history(m) for m in messages):
            if not own:
                return messages
            return [_canonical(m) for m in messages]
        out: list[Message] = []
        pending: list[str] = []  # ids of the last re-sent tool calls still without a result
        for message in messages:
            role = message.get("role")
            if role in _CALL_ROLES and (calls := _tool_calls(message)) is not None:
                # The model's text of that turn comes back as an assistant message before it.
                said = out[-1] if out and _is_text_turn(out[-1]) else None
                if said is not None:
                    out.pop()
                text = "" if said is None else said["content"]
                out.append({"role": "assistant", "content": text, "tool_calls": calls})
                pending = [call["id"] for call in calls]
                continue
            if pending and role in _RESULT_ROLES:
                results = _tool_results(message, pending)
                if results is not None:
                    out.extend(results)
                    pending = []
                    continue
            if role in _WIRE_ROLES or message.get("tool_calls"):
                message = _canonical(_as_sent(message))
            out.append(message)  # (anything else is kept as it is)
        return out

    def refine_usage(self, span: SpanRecord, usage: TokenUsage | None) -> TokenUsage | None:
        """None where it wrote 0 and 0 for a reply without usage; cached and reasoning tokens
        read from the raw response it keeps in ``output.value`` (its spans have no attribute
        for them)."""
        if usage is None or span.attributes.get(_KIND) != _LLM:
            return usage
        if usage.input_tokens == 0 and usage.output_tokens == 0:
            return None
        raw = span.attributes.get(_OUTPUT)
        if not isinstance(raw, str) or _USAGE_MARK not in raw:
            return usage
        details = raw[raw.rfind(_USAGE_MARK) :]
        cached, reasoning = _count(details, _CACHED_MARK), _count(details, _REASONING_MARK)
        return replace(
            usage,
            cached_input_tokens=usage.cached_input_tokens if cached is None else cached,
            reasoning_tokens=usage.reasoning_tokens if reasoning is None else reasoning,
        )

    def run_input(self, root: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The ``task`` of the run's AGENT span (the model is sent it as "New task:\\n...")."""
        if not _is_run(root):
            return None
        note = notes.for_span(root) if notes is not None else None
        value, _ = json_value(root.attributes.get(_INPUT), _INPUT, note, text_ok=True)
        task = value.get("task") if isinstance(value, dict) else None
        return task if isinstance(task, str) and task else None

    def run_answer(self, root: SpanRecord, notes: ValueNotes | None) -> str | None:
        """The answer on the run's AGENT span (``output.value``)."""
        if not _is_run(root):
            return None
        note = notes.for_span(root) if notes is not None else None
        return as_text(root.attributes.get(_OUTPUT), _OUTPUT, note) or None


SMOLAGENTS = Smolagents()


def _count(text: str, mark: str) -> int | None:
    """The integer after ``mark`` in a repr (``cached_tokens=64``), else None."""
    at = text.find(mark)
    if at < 0:
        return None
    digits = text[at + len(mark) : at + len(mark) + 20]
    end = next((i for i, c in enumerate(digits) if not c.isdigit()), len(digits))
    return int(digits[:end]) if end else None


def _is_run(span: SpanRecord) -> bool:
    if not span.name.endswith(RUN_SUFFIX) or span.attributes.get(_KIND) != _AGENT:
        return False
    return any(key.startswith(RUN_MARK) for key in span.attributes)


def _tool_arguments(value: Any) -> Any:
    """``{"args": [], "kwargs": {...}, "sanitize_inputs_outputs": ...}`` -> the arguments."""
    if not isinstance(value, dict) or "kwargs" not in value or "args" not in value:
        return value
    kwargs, args = value["kwargs"], value["args"]
    if kwargs or not args:
        return kwargs
    return args[0] if len(args) == 1 else args


_PLAIN_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})


def _calls_as_text(messages: list[Message]) -> bool:
    """An assistant message that is smolagents' re-sent tool calls ("Calling tools:...")."""
    return any(
        type(content := m.get("content")) is str
        and content.startswith(TOOL_CALLS_MARK)
        and m.get("role") == "assistant"
        for m in messages
    )


def _is_history(message: Message) -> bool:
    role, content = message.get("role"), message.get("content")
    if role in (TOOL_CALL_ROLE, TOOL_RESPONSE_ROLE):
        return True
    return role == "assistant" and isinstance(content, str) and content.startswith(TOOL_CALLS_MARK)


def _is_text_turn(message: Message) -> bool:
    return (
        message.get("role") == "assistant"
        and isinstance(message.get("content"), str)
        and not message.get("tool_calls")
    )


def _tool_calls(message: Message) -> list[dict[str, Any]] | None:
    """A re-sent tool call ("Calling tools:\\n[{...}]", a Python repr) in OpenAI's form (the
    message has one of ``_CALL_ROLES``)."""
    content = message.get("content")
    if not isinstance(content, str) or not content.startswith(TOOL_CALLS_MARK):
        return None
    if message.get("tool_calls"):  # already in OpenAI's form
        return None
    parsed = _parsed_calls(content)
    if parsed is None:
        return None
    return [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        for call_id, name, arguments in parsed
    ]


@lru_cache(maxsize=4096)
def _parsed_calls(content: str) -> tuple[tuple[str, str, str], ...] | None:
    """(id, name, JSON arguments) of each call in the text; every later call re-sends the same
    text, so each is parsed once."""
    try:
        listed = ast.literal_eval(content[len(TOOL_CALLS_MARK) :].strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(listed, list):
        return None
    calls = []
    for item in listed:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not item.get("id"):
            return None
        name = str(function.get("name") or "")
        calls.append((str(item["id"]), name, _json_arguments(function.get("arguments"))))
    return tuple(calls)


def _plain_role(message: Message) -> Message:
    """``MessageRole.TOOL_CALL`` -> ``tool-call``, ``MessageRole.USER`` -> ``user``."""
    role = str(message.get("role"))
    if not role.startswith(ENUM_ROLE):
        return message
    return {**message, "role": role[len(ENUM_ROLE) :].lower().replace("_", "-")}


def _as_sent(message: Message) -> Message:
    """A ``tool-call``/``tool-response`` message that answers no known call, with the role
    smolagents' OpenAI client sends it as (assistant, user)."""
    role = message.get("role")
    if isinstance(role, str) and role in _WIRE_ROLES:
        return {**message, "role": _WIRE_ROLES[role]}
    return message


def _tool_results(message: Message, pending: list[str]) -> list[Message] | None:
    """A re-sent result ("Observation:\\n..." or a failed call's error) as ``tool`` messages.

    The results of parallel calls come back as one text, a line per call in id order: split
    when it has exactly one line per call, else left to the tool spans (None: nothing here).
    The message has one of ``_RESULT_ROLES``, and ``pending`` holds the calls it may answer.
    """
    role, content = message.get("role"), message.get("content")
    if not isinstance(content, str):
        return None
    if content.startswith(CALL_ID_MARK):
        first, _, rest = content.partition("\n")
        call_id = first[len(CALL_ID_MARK) :].strip()
        return [_result(call_id, rest)] if call_id in pending else None
    if not content.startswith(OBSERVATION_MARK):
        return None
    text = content[len(OBSERVATION_MARK) :]
    if len(pending) == 1:
        return [_result(pending[0], text)]
    lines = text.split("\n")
    if len(lines) != len(pending):
        return [] if role == TOOL_RESPONSE_ROLE else None
    return [_result(call_id, line) for call_id, line in zip(sorted(pending), lines, strict=True)]


def _result(call_id: str, text: str) -> Message:
    return {"role": "tool", "content": text, "tool_call_id": call_id}


def _json_arguments(value: Any) -> str:
    """Arguments as canonical JSON text (the model's own text, re-dumped)."""
    if isinstance(value, str):
        return _json_text(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


@lru_cache(maxsize=512)
def _json_text(text: str) -> str:
    """JSON text re-dumped canonically (text that is not JSON as it is); every later call
    re-sends the same arguments, so each is re-dumped once."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, ensure_ascii=False)


def _canonical(message: Message) -> Message:
    """An assistant message's tool call arguments as canonical JSON (to match re-sent ones)."""
    calls = message.get("tool_calls")
    if not calls:
        return message
    fixed = [
        {**call, "function": {**fn, "arguments": _json_arguments(fn.get("arguments"))}}
        if isinstance(fn := call.get("function"), dict) and "arguments" in fn
        else call
        for call in calls
    ]
    return {**message, "tool_calls": fixed}
