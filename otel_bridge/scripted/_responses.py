"""The OpenAI Responses API wire (``POST /v1/responses``): its requests as chat, its replies.

Pure functions, like ``_wire`` for chat completions. A Responses request (``instructions``
and ``input`` items: messages, ``function_call`` and ``function_call_output``) is read as the
chat request it stands for (``chat_view``), so that routers, ``Reply(agent=...)`` checks,
usage estimates and tool-call ids work the same for both APIs. A reply is rendered as a
``response`` object, or as the typed server-sent events of a stream ending with
``response.completed``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._wire import Reply, ResponseMeta, Usage, text_of, wire_tool_calls

__all__ = [
    "chat_view",
    "conversation_after",
    "response_body",
    "response_events",
    "responses_sse_event",
    "wire_usage",
]


def _chat_tools(tools: Any) -> list[dict[str, Any]]:
    """Function tools in the chat shape (``{"type": "function", "function": {...}}``)."""
    if not isinstance(tools, list):
        return []
    return [
        {
            "type": "function",
            "function": {
                key: tool[key] for key in ("name", "description", "parameters") if key in tool
            },
        }
        for tool in tools
        if isinstance(tool, Mapping) and tool.get("type") == "function"
    ]


def chat_view(
    request: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The chat-completions request a Responses request stands for.

    ``instructions`` becomes the system message; ``earlier``, the conversation of the response
    named by ``previous_response_id`` (its own instructions are not carried over), comes next;
    a string ``input`` is the user message. Items: a message keeps its role; ``function_call``
    items join the assistant turn they follow (one assistant message per model turn, as chat
    has it); ``function_call_output`` is a tool message; other items (reasoning, ...) carry no
    conversation and are left out.
    """
    messages: list[dict[str, Any]] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    messages += [copy.deepcopy(dict(message)) for message in earlier]
    items = request.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type", "message")
        turn = messages[-1] if messages and messages[-1]["role"] == "assistant" else None
        if kind == "message" and item.get("role") == "assistant":
            text = text_of(item.get("content"))
            if turn is None:
                messages.append({"role": "assistant", "content": text})
            else:
                turn["content"] = (turn["content"] or "") + text
        elif kind == "message":
            messages.append({"role": item.get("role"), "content": text_of(item.get("content"))})
        elif kind == "function_call":
            if turn is None:
                turn = {"role": "assistant", "content": None}
                messages.append(turn)
            turn.setdefault("tool_calls", []).append(
                {
                    "id": item.get("call_id"),
                    "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")},
                }
            )
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id"),
                    "content": output if isinstance(output, str) else text_of(output),
                }
            )
    return {
        "model": request.get("model"),
        "messages": messages,
        "tools": _chat_tools(request.get("tools")),
        "stream": request.get("stream") is True,
    }


def conversation_after(
    chat: Mapping[str, Any], reply: Reply, tool_call_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """What a stored response holds for a later ``previous_response_id``: the conversation
    without its instructions, then the reply as an assistant message."""
    answer: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        answer["tool_calls"] = wire_tool_calls(reply, tool_call_ids)
    return [*(m for m in chat["messages"] if m.get("role") != "system"), answer]


def wire_usage(usage: Usage) -> Usage:
    """The usage a Responses reply sends: cached and reasoning counts always, 0 when none."""
    return Usage(usage.prompt, usage.completion, usage.cached or 0, usage.reasoning or 0)


def _usage_json(usage: Usage) -> dict[str, Any]:
    sent = wire_usage(usage)
    return {
        "input_tokens": sent.prompt,
        "input_tokens_details": {"cached_tokens": sent.cached},
        "output_tokens": sent.completion,
        "output_tokens_details": {"reasoning_tokens": sent.reasoning},
        "total_tokens": sent.total,
    }


def _output_items(reply: Reply, meta: ResponseMeta) -> list[dict[str, Any]]:
    """The response's ``output``: a message when there is text, then one item per tool call."""
    items: list[dict[str, Any]] = []
    if reply.content or not reply.tool_calls:
        items.append(
            {
                "id": f"msg_{meta.response_id}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {
                        "type": "output_text",
                        "text": reply.content,
                        "annotations": [],
                        "logprobs": [],
                    }
                ],
            }
        )
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, meta.tool_call_ids, strict=True)):
        items.append(
            {
                "id": f"fc_{meta.response_id}_{index}",
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                "name": call.name,
                "arguments": call.arguments_json,
            }
        )
    return items


def response_body(
    request: Mapping[str, Any],
    reply: Reply,
    meta: ResponseMeta,
    usage: Usage | None,
    *,
    status: str = "completed",
) -> dict[str, Any]:
    """The ``response`` object; ``status="in_progress"`` gives the one a stream opens with."""
    done = status == "completed"
    return {
        "id": meta.response_id,
        "object": "response",
        "created_at": meta.created,
        "status": status,
        "model": meta.model,
        "instructions": request.get("instructions"),
        "output": _output_items(reply, meta) if done else [],
        "usage": _usage_json(usage) if done and usage is not None else None,
        "error": None,
        "incomplete_details": None,
        "metadata": {},
        "parallel_tool_calls": bool(request.get("parallel_tool_calls", True)),
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": list(request.get("tools") or []),
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "text": {"format": {"type": "text"}},
    }


def response_events(
    request: Mapping[str, Any], reply: Reply, meta: ResponseMeta, usage: Usage | None
) -> list[dict[str, Any]]:
    """The events of a streamed response, in order: created, items with deltas, completed."""
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    opening = response_body(request, reply, meta, None, status="in_progress")
    emit("response.created", response=opening)
    emit("response.in_progress", response=opening)
    for index, item in enumerate(_output_items(reply, meta)):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            emit("response.output_item.added", output_index=index, item={**item, "content": []})
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            emit("response.content_part.added", **where, part=part)
            for piece in _pieces(text):
                emit("response.output_text.delta", **where, delta=piece, logprobs=[])
            emit("response.output_text.done", **where, text=text, logprobs=[])
            emit("response.content_part.done", **where, part={**part, "text": text})
        else:
            arguments = item["arguments"]
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            where = {"item_id": item["id"], "output_index": index}
            for piece in _pieces(arguments):
                emit("response.function_call_arguments.delta", **where, delta=piece)
            emit("response.function_call_arguments.done", **where, arguments=arguments)
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=response_body(request, reply, meta, usage))
    return events


def _pieces(text: str) -> Sequence[str]:
    """Text streamed in two deltas (one when it is shorter than two characters)."""
    middle = len(text) // 2
    return [text[:middle], text[middle:]] if middle else [text]


def responses_sse_event(event: Mapping[str, Any]) -> bytes:
    """One server-sent event of a Responses stream: named by its type, carrying its JSON."""
    data = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()
