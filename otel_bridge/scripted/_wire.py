"""The OpenAI chat-completions wire: reading requests, writing scripted replies.

Pure data and pure functions (no I/O): ``Reply``, ``ToolCallSpec`` and ``Usage`` describe one
assistant turn; the functions read a request's messages, write the text protocols of ReAct and
CodeAct agents, and render a reply as a ``chat.completion`` JSON body, as the list of
``chat.completion.chunk`` objects of an SSE stream, or as an OpenAI error body. The server in
``_server`` only moves these over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SSE_DONE",
    "Reply",
    "ResponseMeta",
    "ToolCallSpec",
    "Usage",
    "assistant_turns",
    "codeact_execute",
    "completion_body",
    "estimate_usage",
    "first_user_text",
    "openai_error",
    "react_action",
    "react_answer",
    "request_messages",
    "request_wants_usage",
    "sse_event",
    "stream_chunks",
    "system_prompt",
    "text_of",
    "tool_call_ids",
    "wire_tool_calls",
]

SSE_DONE = b"data: [DONE]\n\n"
"""The last event of every OpenAI SSE stream."""

_CHARS_PER_TOKEN = 4
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one reply; ``cached``/``reasoning`` are sent only when not None."""

    prompt: int
    completion: int
    cached: int | None = None
    reasoning: int | None = None

    @property
    def total(self) -> int:
        """Prompt plus completion tokens, as the API reports ``total_tokens``."""
        return self.prompt + self.completion

    def to_wire(self) -> dict[str, Any]:
        """The OpenAI ``usage`` object."""
        body: dict[str, Any] = {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.total,
        }
        if self.cached is not None:
            body["prompt_tokens_details"] = {"cached_tokens": self.cached}
        if self.reasoning is not None:
            body["completion_tokens_details"] = {"reasoning_tokens": self.reasoning}
        return body


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    """One tool call of a reply; ``arguments`` as a dict, or a raw (maybe broken) JSON string."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments exactly as sent in ``function.arguments``."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted assistant turn, or an HTTP error when ``status`` is not 200.

    ``usage=None`` means a deterministic estimate (see ``estimate_usage``). ``delay_s`` waits
    before the response starts; ``chunk_delay_s`` waits between streamed chunks. ``agent``, when
    set, is a substring the request's system prompt must contain (a script check, not routing).
    """

    content: str = ""
    tool_calls: Sequence[ToolCallSpec] = ()
    usage: Usage | None = None
    status: int = 200
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    error_body: Mapping[str, Any] | None = None
    finish_reason: str | None = None
    agent: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))  # immutable, shareable

    @property
    def wire_finish_reason(self) -> str:
        """``finish_reason`` as sent: explicit, else "tool_calls" or "stop"."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


def text_of(content: Any) -> str:
    """Text of an OpenAI message ``content``: a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def request_messages(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The request's messages that are JSON objects."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return []
    return [message for message in messages if isinstance(message, Mapping)]


def system_prompt(request: Mapping[str, Any]) -> str:
    """Text of the request's first system (or developer) message, "" if none."""
    for message in request_messages(request):
        if message.get("role") in ("system", "developer"):
            return text_of(message.get("content"))
    return ""


def first_user_text(request: Mapping[str, Any]) -> str:
    """Text of the request's first user message, "" if none."""
    for message in request_messages(request):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def assistant_turns(request: Mapping[str, Any]) -> int:
    """How many assistant messages the request already carries (the conversation's step)."""
    return sum(1 for message in request_messages(request) if message.get("role") == "assistant")


def react_action(tool: str, arguments: Mapping[str, Any], thought: str = "") -> str:
    """ReAct text that calls ``tool`` (what ``ReActOutputParser`` parses as an action)."""
    thought = thought or f"I need to use the {tool} tool to answer."
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {json.dumps(dict(arguments))}"


def react_answer(answer: str, thought: str = "I can answer without using any more tools.") -> str:
    """ReAct text with a final answer (what ``ReActOutputParser`` parses as a response)."""
    return f"Thought: {thought}\nAnswer: {answer}"


def codeact_execute(code: str, preface: str = "Let me compute that.") -> str:
    """CodeActAgent text that runs ``code`` (inside ``<execute>`` tags)."""
    return f"{preface}\n<execute>\n{code}\n</execute>"


def request_wants_usage(request: Mapping[str, Any]) -> bool:
    """Whether a streaming request asked for a usage chunk (``stream_options.include_usage``)."""
    options = request.get("stream_options")
    return isinstance(options, Mapping) and bool(options.get("include_usage"))


def estimate_usage(request: Mapping[str, Any], reply: Reply) -> Usage:
    """Deterministic, nonzero usage: about one token per 4 characters of request and reply."""
    prompt_chars = len(json.dumps(request.get("messages", []), sort_keys=True))
    prompt_chars += len(json.dumps(request.get("tools") or [], sort_keys=True))
    completion_chars = len(reply.content) + sum(
        len(call.name) + len(call.arguments_json) for call in reply.tool_calls
    )
    return Usage(
        prompt=1 + prompt_chars // _CHARS_PER_TOKEN,
        completion=1 + completion_chars // _CHARS_PER_TOKEN,
    )


def tool_call_ids(request: Mapping[str, Any], reply: Reply, salt: str = "") -> list[str]:
    """Tool-call ids: explicit ones, else derived from ``salt`` and the request history.

    The server salts with the exchange number, so ids are unique across concurrent runs of the
    same conversation, as real ids are.
    """
    history = json.dumps(request.get("messages", []), sort_keys=True)
    digest = hashlib.sha256(f"{salt}|{history}".encode()).hexdigest()
    return [
        call.id if call.id is not None else f"call_{digest[:20]}{index:04d}"
        for index, call in enumerate(reply.tool_calls)
    ]


def wire_tool_calls(reply: Reply, ids: Sequence[str]) -> list[dict[str, Any]]:
    """A reply's tool calls as an assistant message carries them, with their ids."""
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for call, call_id in zip(reply.tool_calls, ids, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """What a response carries besides the reply: its id, model, timestamp and tool-call ids."""

    response_id: str
    model: str
    created: int
    tool_call_ids: Sequence[str] = ()


def completion_body(reply: Reply, meta: ResponseMeta, usage: Usage) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` JSON object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content if reply.content or not reply.tool_calls else None,
        "refusal": None,
    }
    if reply.tool_calls:
        message["tool_calls"] = wire_tool_calls(reply, meta.tool_call_ids)
    return {
        "id": meta.response_id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.wire_finish_reason,
            }
        ],
        "usage": usage.to_wire(),
        "system_fingerprint": "fp_scripted",
    }


def _text_pieces(text: str) -> list[str]:
    """Split text into word-sized pieces (each keeps its trailing whitespace)."""
    return re.findall(r"\S+\s*|\s+", text)


def _split_arguments(arguments: str) -> list[str]:
    """Split tool arguments into two pieces, as the API streams them in fragments."""
    if len(arguments) < 2:
        return [arguments]
    middle = len(arguments) // 2
    return [arguments[:middle], arguments[middle:]]


def stream_chunks(reply: Reply, meta: ResponseMeta, usage: Usage | None) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a stream; a usage chunk last when ``usage``."""
    with_usage = usage is not None

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": meta.response_id,
            "object": "chat.completion.chunk",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": "fp_scripted",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if with_usage:
            body["usage"] = None
        return body

    chunks: list[dict[str, Any]] = []
    if reply.content or not reply.tool_calls:
        chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        chunks.extend(chunk({"content": piece}) for piece in _text_pieces(reply.content))
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, meta.tool_call_ids, strict=True)):
        # One tool call per chunk: llama-index's update_tool_calls reads only the first delta.
        opening: dict[str, Any] = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        delta: dict[str, Any] = {"tool_calls": [opening]}
        if not chunks:
            delta = {"role": "assistant", "content": None, "refusal": None, **delta}
        chunks.append(chunk(delta))
        chunks.extend(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in _split_arguments(call.arguments_json)
            if piece
        )
    chunks.append(chunk({}, reply.wire_finish_reason))
    if usage is not None:
        final = chunk({})
        final["choices"] = []
        final["usage"] = usage.to_wire()
        chunks.append(final)
    return chunks


def sse_event(payload: Mapping[str, Any]) -> bytes:
    """One server-sent event carrying a JSON payload."""
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error object for an HTTP error status."""
    error_type = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request")
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
