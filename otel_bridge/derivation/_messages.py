"""Conversation history from the messages that every LLM call re-sends; pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .._frozen import direct_init
from ..conventions import Message, message_key

__all__ = ["CallMessages", "merge_conversation", "merge_history"]


@direct_init
@dataclass(frozen=True, slots=True)
class CallMessages:
    """The messages one LLM call sent and received, and the agent that made it."""

    agent: str | None
    inputs: Sequence[Message]
    outputs: Sequence[Message]


def merge_history(
    calls: Iterable[CallMessages],
    tool_results: Sequence[Message] = (),
    tool_agents: Mapping[str, str | None] | None = None,
) -> list[Message]:
    """One de-duplicated history, in order, each message labelled with its ``agent``.

    A message is new when a call holds more copies of it (by content identity) than any earlier
    call did, so re-sent history is dropped while a message legitimately said twice is kept, and
    a changed system prompt (a handoff) is kept where it appeared. ``tool_results`` are results
    no call re-sent (the run ended after the tool); they follow their tool call.
    """
    tool_agents = tool_agents or {}
    seen: Counter[tuple[object, ...]] = Counter()
    history: list[Message] = []
    answered: set[str] = set()
    previous: tuple[str | None, list[tuple[object, ...]]] | None = None
    for call in calls:
        fresh: list[Message] = []
        messages = (*call.inputs, *call.outputs)
        keys = [message_key(m) for m in messages]
        n_inputs = len(call.inputs)
        rewrites = _rewritten_outputs(previous, call.agent, keys[:n_inputs])
        for position in _fresh_positions(keys, seen):
            message = messages[position]
            if rewrites and position < n_inputs and message.get("role") == "assistant":
                rewrites -= 1  # the previous call's answer, as the framework re-wrote it
                continue
            fresh.append(message)
        previous = (
            call.agent,
            [
                k
                for m, k in zip(call.outputs, keys[n_inputs:], strict=True)
                if m.get("role") == "assistant"
            ],
        )
        for message in _system_after_results(fresh):
            agent = call.agent
            call_id = message.get("tool_call_id")
            if message.get("role") == "tool" and call_id is not None:
                answered.add(call_id)
                agent = tool_agents.get(call_id, agent)
            # A framework may name the author itself (a turn one graph wrote for another agent).
            history.append({**message, "agent": message.get("agent") or agent})
    missing = [
        {**r, "agent": tool_agents.get(r["tool_call_id"])}
        for r in tool_results
        if r.get("tool_call_id") is not None and r["tool_call_id"] not in answered
    ]
    return _with_results(history, missing) if missing else history


def merge_conversation(histories: Iterable[Sequence[Message]]) -> list[Message]:
    """One conversation from histories that each re-send what came before (runs of one chat).

    The same content-identity rule as ``merge_history``; messages keep their own labels.
    """
    seen: Counter[tuple[object, ...]] = Counter()
    merged: list[Message] = []
    for history in histories:
        keys = [message_key(m) for m in history]
        merged.extend(history[i] for i in _fresh_positions(keys, seen))
    return merged


def _fresh_positions(
    keys: Sequence[tuple[object, ...]], seen: Counter[tuple[object, ...]]
) -> list[int]:
    """Positions of the messages that hold more copies of a key than any earlier list did."""
    local: dict[tuple[object, ...], int] = {}
    fresh = []
    for position, key in enumerate(keys):  # dict.get: a Counter's missing key costs a call
        copies = local[key] = local.get(key, 0) + 1
        if copies > seen.get(key, 0):
            seen[key] = copies
            fresh.append(position)
    return fresh


def _rewritten_outputs(
    previous: tuple[str | None, list[tuple[object, ...]]] | None,
    agent: str | None,
    input_keys: list[tuple[object, ...]],
) -> int:
    """How many of the previous call's assistant outputs this call re-sends in another form.

    A ReAct agent stores its reasoning step re-formatted (``Action Input`` as a Python dict),
    so the next call's history holds a different text for the same turn. When none of the
    previous outputs come back verbatim, that many new assistant inputs are the same turns.
    """
    if previous is None or previous[0] != agent or not previous[1]:
        return 0
    sent = set(input_keys)
    if any(key in sent for key in previous[1]):
        return 0
    return len(previous[1])


def _system_after_results(fresh: list[Message]) -> list[Message]:
    """Move a new leading system prompt after the tool results that precede the next turn.

    At a handoff the receiving agent's first call starts with its own system prompt, then the
    result of the handoff tool call the previous agent made; the result belongs right after
    that call.
    """
    lead = 0
    while lead < len(fresh) and fresh[lead].get("role") == "system":
        lead += 1
    if lead == 0:
        return fresh
    results = lead
    while results < len(fresh) and fresh[results].get("role") == "tool":
        results += 1
    if results == lead:
        return fresh
    return [*fresh[lead:results], *fresh[:lead], *fresh[results:]]


def _with_results(history: list[Message], results: list[Message]) -> list[Message]:
    """The history with each result placed after its tool call and the results already there.

    Results whose call is not in the history are left out.
    """
    pending: dict[str, Message] = {r["tool_call_id"]: r for r in results}
    out: list[Message] = []
    waiting: list[Message] = []  # results of the last assistant turn, placed after its own
    turn: set[object] = set()  # the call ids of that turn
    for message in history:
        if waiting and (message.get("role") != "tool" or message.get("tool_call_id") not in turn):
            out.extend(waiting)  # (a result of another agent's call is not this turn's)
            waiting = []
        out.append(message)
        if message.get("tool_calls"):
            turn = {call.get("id") for call in message["tool_calls"]}
        for call in message.get("tool_calls", ()):
            result = pending.pop(call.get("id"), None)
            if result is not None:
                waiting.append(result)
    out.extend(waiting)
    return out
