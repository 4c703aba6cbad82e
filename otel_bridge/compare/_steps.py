"""The trajectory of a run as steps, from its RunTrace JSON (pure).

A step is an agent's turn (its LLM call and the tool calls it asked for), a tool result, a
handoff, a delegation, or the run's answer. Each has an identity (``key``: what it is, whose it
is) and a content (what it said or did): two steps with the same key are "the same step", and
equal when their contents are equal too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..spans import iso_ns

__all__ = ["Step", "StepKind", "as_mapping", "steps_of"]

StepKind = Literal["turn", "tool", "handoff", "delegation", "answer"]
# Steps at the same instant keep this order: a turn before the tools it asked for.
_ORDER: dict[str, int] = {"turn": 0, "tool": 1, "handoff": 2, "delegation": 3, "answer": 4}


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a run: ``key`` says which step it is, ``content`` what happened in it."""

    kind: StepKind
    agent: str | None
    label: str
    at_ns: int
    key: tuple[str, ...]
    content: dict[str, Any]

    def fingerprint(self) -> str:
        """The step and its content as canonical text: equal steps have equal fingerprints."""
        return json.dumps([self.key, self.content], sort_keys=True, ensure_ascii=False, default=str)

    def to_dict(self, start_ns: int) -> dict[str, Any]:
        """JSON form; ``at_s`` counts from the run's start."""
        return {
            "kind": self.kind,
            "agent": self.agent,
            "label": self.label,
            "at_s": round(max(0, self.at_ns - start_ns) / 1e9, 6),
            **self.content,
        }


def _arguments(value: Any) -> Any:
    """Tool arguments as a value: JSON text is read, so that spacing never makes a difference."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (partial JSON still compares)."""
    return value if isinstance(value, Mapping) else {}


def _ns(value: Any) -> int:
    """Nanoseconds of an ISO time (0 when missing or malformed: such steps sort first)."""
    if not isinstance(value, str):
        return 0
    try:
        return iso_ns(value)
    except ValueError:
        return 0


def _texts_by_agent(messages: Sequence[Any]) -> dict[str | None, list[Mapping[str, Any]]]:
    """Each agent's assistant messages, in order."""
    found: dict[str | None, list[Mapping[str, Any]]] = {}
    for message in map(as_mapping, messages):
        if message.get("role") == "assistant":
            agent = message.get("agent")
            found.setdefault(None if agent is None else str(agent), []).append(message)
    return found


def steps_of(run: Mapping[str, Any]) -> list[Step]:
    """The steps of a run, in time order."""
    llm_calls = sorted(
        map(as_mapping, run.get("llm_calls") or ()), key=lambda c: _ns(c.get("start"))
    )
    tool_calls = sorted(
        map(as_mapping, run.get("tool_calls") or ()), key=lambda c: _ns(c.get("start"))
    )
    said = _texts_by_agent(run.get("messages") or ())
    tools_by_agent: dict[str | None, list[Mapping[str, Any]]] = {}
    for call in tool_calls:
        tools_by_agent.setdefault(_agent(call), []).append(call)
    turns_by_agent: dict[str | None, list[Mapping[str, Any]]] = {}
    for call in llm_calls:
        turns_by_agent.setdefault(_agent(call), []).append(call)

    steps: list[Step] = []
    for agent, turns in turns_by_agent.items():
        texts = said.get(agent, [])
        paired = len(texts) == len(turns)  # else a failed call left no message: no text
        tools = tools_by_agent.get(agent, [])
        t = 0
        for number, call in enumerate(turns, start=1):
            start = _ns(call.get("start"))
            next_start = _ns(turns[number].get("start")) if number < len(turns) else None
            while t < len(tools) and _ns(tools[t].get("start")) < start:
                t += 1
            asked = []
            while t < len(tools) and (
                next_start is None or _ns(tools[t].get("start")) < next_start
            ):
                asked.append(
                    {
                        "name": str(tools[t].get("name")),
                        "arguments": _arguments(tools[t].get("arguments")),
                    }
                )
                t += 1
            if not asked and paired:
                # A call without a tool span of its own (a smolagents managed agent): as asked.
                asked = [
                    {
                        "name": str(as_mapping(c.get("function")).get("name")),
                        "arguments": _arguments(as_mapping(c.get("function")).get("arguments")),
                    }
                    for c in map(as_mapping, texts[number - 1].get("tool_calls") or ())
                ]
            content: dict[str, Any] = {
                "model": call.get("model"),
                "text": _text(texts[number - 1].get("content")) if paired else None,
                "tool_calls": asked,
                "status": call.get("status"),
            }
            name = agent or "(no agent)"
            steps.append(
                Step("turn", agent, f"{name} · turn {number}", start, ("turn", name), content)
            )
    counts: dict[tuple[str, str], int] = {}
    for call in tool_calls:
        agent = _agent(call)
        name = str(call.get("name"))
        who = agent or "(no agent)"
        counts[(who, name)] = counts.get((who, name), 0) + 1
        content = {
            "name": name,
            "arguments": _arguments(call.get("arguments")),
            "output": call.get("output"),
            "status": call.get("status"),
            "error": call.get("error"),
        }
        label = f"{who} · {name} #{counts[(who, name)]}"
        steps.append(
            Step("tool", agent, label, _ns(call.get("start")), ("tool", who, name), content)
        )
    passing: tuple[tuple[StepKind, Any, str], ...] = (
        ("handoff", run.get("handoffs"), "reason"),
        ("delegation", run.get("delegations"), "task"),
    )
    for kind, items, what in passing:
        for item in map(as_mapping, items or ()):
            source = None if item.get("from") is None else str(item.get("from"))
            who = source or "(no agent)"
            content = {"to": item.get("to"), what: item.get(what)}
            steps.append(
                Step(kind, source, f"{who} · {kind}", _ns(item.get("at")), (kind, who), content)
            )
    steps.sort(key=lambda s: (s.at_ns, _ORDER[s.kind]))
    end = max(_ns(run.get("end")), steps[-1].at_ns if steps else 0)
    steps.append(
        Step("answer", None, "answer", end, ("answer",), {"text": _text(run.get("output"))})
    )
    return steps


def _agent(call: Mapping[str, Any]) -> str | None:
    agent = call.get("agent")
    return None if agent is None else str(agent)


def _text(value: Any) -> str | None:
    """Text, or None for none at all (empty text too: CSV cannot tell the two apart)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
