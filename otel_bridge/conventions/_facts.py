"""Neutral facts read from spans, whatever convention wrote them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .._frozen import direct_init
from ..run_trace import TokenUsage

__all__ = ["Convention", "LLMFacts", "Message", "ToolFacts", "message_key", "normal_finish_reason"]

Message = dict[str, Any]
"""An OpenAI chat-format message: role, content, and tool_calls / tool_call_id / name."""


Convention = Literal["openinference", "genai"]
"""Which attribute convention a span was read by."""

_FINISH_REASONS = {"tool_call": "tool_calls", "function_call": "tool_calls"}


def normal_finish_reason(reason: Any) -> str | None:
    """A finish reason in OpenAI's words (``tool_calls``, ``stop``, ...).

    The GenAI conventions' message parts and OpenLLMetry say ``tool_call``.
    """
    if reason is None:
        return None
    text = str(reason)
    return _FINISH_REASONS.get(text, text)


@direct_init
@dataclass(frozen=True, slots=True)
class LLMFacts:
    """What one LLM call span says."""

    model: str | None
    provider: str | None
    usage: TokenUsage | None
    input_messages: list[Message]
    output_messages: list[Message]
    finish_reason: str | None
    first_token_ns: int | None
    ends_early: bool
    """The span ends before the model's stream does (OpenInference's ``astream_chat`` spans
    end before the first token): the call lasts until its agent step ends."""
    convention: Convention


@direct_init
@dataclass(frozen=True, slots=True)
class ToolFacts:
    """What one tool span says."""

    name: str
    arguments: Any
    output: str | None
    tool_call_id: str | None
    error: str | None


def message_key(message: Message) -> tuple[Any, ...]:
    """Content identity of a message, used to de-duplicate re-sent history."""
    tool_calls = message.get("tool_calls")
    calls = (
        tuple(
            (c.get("id"), c["function"].get("name"), c["function"].get("arguments"))
            for c in tool_calls
        )
        if tool_calls
        else ()
    )
    return (
        message.get("role"),
        message.get("content"),
        calls,
        message.get("tool_call_id"),
        message.get("name"),
    )
