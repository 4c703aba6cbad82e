"""What a run's page and the index rows say, from RunTrace JSON: header, tables, conversation.

Pure functions; the HTML templates only place these values (and escape them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..run_json import RunTraceJSON
from ..spans import iso_ns
from ._format import clip, cost_text, count, explain_issues, mapping, seconds

__all__ = [
    "IndexRow",
    "Message",
    "TokenRow",
    "Totals",
    "conversation",
    "index_row",
    "labels",
    "token_rows",
    "totals",
]

# The labels people group runs by, in the order shown: RunTrace JSON key -> what it is called.
LABELS = {
    "task_id": "task",
    "repetition": "repetition",
    "session_id": "session",
    "framework": "framework",
}

TOKEN_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One row of a token table (an agent, a model, or the run)."""

    name: str
    colour: int | None
    tokens: dict[str, str]  # TOKEN_KEYS -> "2,240" ("≥2,240" when some calls reported none)
    complete: bool
    llm_calls: int | None = None
    tool_calls: int | None = None
    time: str | None = None
    errors: int | None = None
    cost: str | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """The header's figures."""

    usage: TokenRow
    wall: str
    llm: str
    tool: str
    other: str
    cost: str | None
    llm_calls: int
    tool_calls: int
    handoffs: int
    agents: int
    issues: list[tuple[str, str]]
    missing_calls: int
    unpriced_calls: int
    delegations: int = 0


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A tool call an assistant message asks for."""

    id: str
    name: str
    arguments: str
    summary: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the conversation, labelled with its agent."""

    anchor: str
    role: str
    agent: str
    colour: int | None
    content: str
    tool_calls: list[ToolRequest] = field(default_factory=list)
    result_of: str | None = None  # the tool whose result this is
    handoff: int | None = None  # handoff number when this is a handoff's result
    failed: bool = False  # the result of a tool call that raised
    summary: str = ""


def _usage_row(
    name: str, usage: Mapping[str, Any], colour: int | None = None, **extra: Any
) -> TokenRow:
    complete = usage.get("complete") is not False
    mark = "" if complete else "≥"
    tokens = {key: f"{mark}{count(usage.get(key)):,}" for key in TOKEN_KEYS}
    return TokenRow(name, colour, tokens, complete, **extra)


def token_rows(
    data: RunTraceJSON, colours: Mapping[str, int]
) -> tuple[list[TokenRow], list[TokenRow]]:
    """Rows of the per-agent and the per-model token tables."""
    agents = [
        _usage_row(
            str(name),
            mapping(mapping(stats).get("usage")),
            colours.get(str(name)),
            llm_calls=count(mapping(stats).get("llm_calls")),
            tool_calls=count(mapping(stats).get("tool_calls")),
            time=seconds(mapping(stats).get("duration_s")),
            errors=count(mapping(stats).get("errors")),
            cost=cost_text(mapping(stats).get("cost")),
        )
        for name, stats in mapping(data.get("agents")).items()
    ]
    calls_per_model: dict[str, int] = {}
    for call in data.get("llm_calls") or ():
        model = str(mapping(call).get("model") or "unknown")
        calls_per_model[model] = calls_per_model.get(model, 0) + 1
    model_costs = mapping(data.get("cost_by_model"))
    models = [
        _usage_row(
            str(model),
            mapping(usage),
            llm_calls=calls_per_model.get(str(model), 0),
            cost=cost_text(model_costs.get(model)),
        )
        for model, usage in mapping(data.get("usage_by_model")).items()
    ]
    return agents, models


def totals(data: RunTraceJSON) -> Totals:
    """The run's totals for the header."""
    timings = mapping(data.get("timings"))
    usage = mapping(data.get("usage"))
    return Totals(
        usage=_usage_row("run", usage),
        wall=seconds(timings.get("wall_s")),
        llm=seconds(timings.get("llm_s")),
        tool=seconds(timings.get("tool_s")),
        other=seconds(timings.get("other_s")),
        cost=cost_text(data.get("cost")),
        llm_calls=len(data.get("llm_calls") or ()),
        tool_calls=len(data.get("tool_calls") or ()),
        handoffs=len(data.get("handoffs") or ()),
        delegations=len(data.get("delegations") or ()),
        agents=len(mapping(data.get("agents"))),
        issues=explain_issues(data),
        missing_calls=count(usage.get("missing_calls")),
        unpriced_calls=count(mapping(data.get("cost")).get("unpriced_calls")),
    )


def _pretty(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False, default=str)


def conversation(data: RunTraceJSON, colours: Mapping[str, int]) -> list[Message]:
    """The run's messages, each with its agent; tool calls and results ready to fold."""
    handoff_of = {
        mapping(h).get("tool_call_id"): n
        for n, h in enumerate(data.get("handoffs") or (), start=1)
        if mapping(h).get("tool_call_id")
    }
    failed = {
        mapping(t).get("tool_call_id")
        for t in data.get("tool_calls") or ()
        if mapping(t).get("status") == "error" and mapping(t).get("tool_call_id")
    }
    messages = []
    for i, raw in enumerate(data.get("messages") or ()):
        message = mapping(raw)
        agent = str(message.get("agent") or "")
        content = message.get("content")
        text = content if isinstance(content, str) else "" if content is None else _pretty(content)
        requests = []
        for call in message.get("tool_calls") or ():
            function = mapping(mapping(call).get("function"))
            name = str(function.get("name") or "tool")
            arguments = function.get("arguments")
            requests.append(
                ToolRequest(
                    str(mapping(call).get("id") or ""),
                    name,
                    _pretty(arguments),
                    clip(f"{name}({arguments if isinstance(arguments, str) else ''})", 100),
                )
            )
        role = str(message.get("role") or "?")
        messages.append(
            Message(
                anchor=f"m{i}",
                role=role,
                agent=agent,
                colour=colours.get(agent),
                content=text,
                tool_calls=requests,
                result_of=str(message.get("name") or "tool") if role == "tool" else None,
                handoff=handoff_of.get(message.get("tool_call_id")) if role == "tool" else None,
                failed=role == "tool" and message.get("tool_call_id") in failed,
                summary=clip(text, 100),
            )
        )
    return messages


def labels(data: RunTraceJSON) -> dict[str, str]:
    """The run's task, repetition, session and framework, as text, leaving out those it does
    not have."""
    given = mapping(data.get("labels"))
    return {
        name: str(given[key])
        for key, name in LABELS.items()
        if given.get(key) is not None and str(given[key]) != ""
    }


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One run in the index: display text and the values to sort by."""

    trace_id: str
    href: str
    status: str
    start: str
    input: str
    agents: str
    agent_count: int
    handoffs: int
    tokens: str
    tokens_value: int
    tokens_complete: bool
    wall: str
    wall_value: float
    cost: str | None
    cost_value: float
    issues: str
    labels: dict[str, str] = field(default_factory=dict)  # task, repetition, session
    start_ns: int = 0  # the index lists newest first
    delegations: int = 0


def index_row(data: RunTraceJSON, href: str) -> IndexRow:
    """The index's row for one run."""
    usage = mapping(data.get("usage"))
    wall = mapping(data.get("timings")).get("wall_s")
    cost = mapping(data.get("cost"))
    cost_value = cost.get("total_usd") if cost.get("complete") is True else None
    complete = usage.get("complete") is not False
    agents: Sequence[str] = [str(a) for a in mapping(data.get("agents"))]
    start = data.get("start")
    return IndexRow(
        trace_id=str(data.get("trace_id")),
        href=href,
        status=str(data.get("status") or "?"),
        start=start.replace("T", " ")[:19] if isinstance(start, str) else "",
        input=clip(data.get("input"), 90),
        agents=", ".join(agents),
        agent_count=len(agents),
        handoffs=len(data.get("handoffs") or ()),
        delegations=len(data.get("delegations") or ()),
        tokens=("" if complete else "≥") + f"{count(usage.get('total_tokens')):,}",
        tokens_value=count(usage.get("total_tokens")),
        tokens_complete=complete,
        wall=seconds(wall),
        wall_value=float(wall) if isinstance(wall, int | float) else 0.0,
        cost=cost_text(data.get("cost")),
        cost_value=float(cost_value) if isinstance(cost_value, int | float) else -1.0,
        issues=", ".join(str(i) for i in data.get("issues") or ()),
        labels=labels(data),
        start_ns=_start_ns(start),
    )


def _start_ns(start: Any) -> int:
    if not isinstance(start, str):
        return 0
    try:
        return iso_ns(start)
    except ValueError:
        return 0
