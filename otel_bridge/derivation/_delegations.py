"""Delegations: an agent run as a tool by another, control returning to the caller. Pure.

Two shapes, whatever the framework:

- a tool span with another agent's turns inside it (``agent.as_tool()``, a LlamaIndex agent run
  inside a tool): the tool's agent delegated to the agent inside, at that tool call;
- an agent's activation nested directly in another agent's (a smolagents managed agent, whose
  call has no tool span of its own): the outer agent delegated to the inner one, at the latest
  tool call the outer agent's model asked for by the inner agent's name.

The task is the call's ``task`` argument, else its only text argument, else its arguments
as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..run_trace import Delegation, ToolCall
from ._calls import Call, TraceLookups

__all__ = ["delegations"]


def delegations(trace: TraceLookups, tools: list[ToolCall], calls: list[Call]) -> list[Delegation]:
    """The run's delegations in start order."""
    index = trace.index
    found: list[Delegation] = []
    seen: set[tuple[int, str]] = set()
    agents_of = {**trace.activations, **trace.steps}  # span id -> agent of that turn/activation
    if not agents_of:
        return found
    tool_by_span = {int(t.span_id, 16): t for t in tools}
    tool_above = index.nearest(tool_by_span)
    for span_id, agent in agents_of.items():
        span = index.by_id[span_id]
        holder = tool_above.get(span_id)
        if holder is not None:
            tool = tool_by_span[holder]
            if tool.agent and tool.agent != agent and (holder, agent) not in seen:
                seen.add((holder, agent))
                found.append(
                    Delegation(
                        from_agent=tool.agent,
                        to_agent=agent,
                        task=_task(tool.arguments),
                        at_ns=tool.start_ns,
                        tool_call_id=tool.tool_call_id,
                    )
                )
            continue
        if span_id not in trace.activations or span.parent_id is None:
            continue
        caller = trace.agent(index.by_id[span.parent_id]) if span.parent_id in index.by_id else None
        if caller is None or caller == agent or (span.parent_id, agent) in seen:
            continue
        seen.add((span.parent_id, agent))
        call_id, arguments = _asked_by_name(calls, caller, agent, span.start_ns)
        found.append(
            Delegation(
                from_agent=caller,
                to_agent=agent,
                task=_task(arguments),
                at_ns=span.start_ns,
                tool_call_id=call_id,
            )
        )
    found.sort(key=lambda d: d.at_ns)
    return found


def _asked_by_name(
    calls: list[Call], caller: str, agent: str, before_ns: int
) -> tuple[str | None, Any]:
    """The id and arguments of the latest tool call named ``agent`` that ``caller``'s model
    asked for before ``before_ns``."""
    for call in reversed(calls):
        if call.agent != caller or call.span.start_ns > before_ns:
            continue
        for message in call.facts.output_messages:
            for tool_call in message.get("tool_calls", ()):
                function = tool_call.get("function") or {}
                if function.get("name") == agent:
                    return tool_call.get("id"), _arguments(function.get("arguments"))
    return None, None


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _task(arguments: Any) -> str | None:
    """The ``task`` argument, else the only text argument, else the arguments as JSON."""
    if arguments is None:
        return None
    if isinstance(arguments, str):
        return arguments or None
    if isinstance(arguments, Mapping):
        task = arguments.get("task")
        if isinstance(task, str):
            return task
        texts = [v for v in arguments.values() if isinstance(v, str)]
        if len(texts) == 1:
            return texts[0]
    try:
        return json.dumps(arguments, sort_keys=True)
    except (TypeError, ValueError):
        return str(arguments)
