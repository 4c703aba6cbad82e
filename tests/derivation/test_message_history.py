"""The run's messages merged from what each model call sent and got: answers of calls sent
without history, turns of a call whose span is missing, and the receiving agent's system
prompts at a handoff. On hand-built LlamaIndex-shaped records.
"""

from __future__ import annotations

from typing import Any

from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, assistant, sys, tool_result, user

from otel_bridge import derive
from otel_bridge.spans import StatusName

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

Turn = tuple[str, list[dict[str, Any]], list[dict[str, Any]]]


def messages_of(*turns: Turn, status: StatusName = "OK") -> list[tuple[str, str, str | None]]:
    """(role, content, agent) of the messages of a run whose model calls are ``turns`` (agent,
    inputs, outputs), each in a step of its agent; the last call ends with ``status``."""
    b = TraceBuilder()
    root = b.root(0, 10 * len(turns) + 10)
    for n, (agent, inputs, outputs) in enumerate(turns):
        step = b.step(root, agent, 10 * n, 10 * n + 9)
        last = n == len(turns) - 1
        b.llm(step, 10 * n + 1, 10 * n + 8, inputs, outputs, status=status if last else "OK")
    return [(m["role"], m["content"], m["agent"]) for m in derive(b.spans).messages]


def test_an_agent_calling_its_model_without_history_keeps_every_answer() -> None:
    """A router asks its model one question at a time, none re-sending the last answer."""
    assert messages_of(
        ("router", [user("Is this billing?")], [assistant("yes")]),
        ("router", [user("Is this urgent?")], [assistant("no")]),
    ) == [
        ("user", "Is this billing?", "router"),
        ("assistant", "yes", "router"),
        ("user", "Is this urgent?", "router"),
        ("assistant", "no", "router"),
    ]


def test_the_turn_of_a_call_whose_span_is_missing_is_kept_from_the_next_calls_history() -> None:
    """The second of three calls was not recorded; the third re-sends what it said."""
    ask = [sys("You add."), user("2+3, then +4?")]
    first = 'Thought: add.\nAction: add\nAction Input: {"a": 2, "b": 3}'
    stored = "Thought: add.\nAction: add\nAction Input: {'a': 2, 'b': 3}"  # ReAct's own form
    second = "Thought: add again.\nAction: add\nAction Input: {'a': 5, 'b': 4}"
    seen = [user("Observation: 5"), assistant(second), user("Observation: 9")]
    assert messages_of(
        ("adder", ask, [assistant(first)]),
        ("adder", [*ask, assistant(stored), *seen], [assistant("Thought: done.\nAnswer: 9")]),
    ) == [
        ("system", "You add.", "adder"),
        ("user", "2+3, then +4?", "adder"),
        ("assistant", first, "adder"),  # as the model said it
        ("user", "Observation: 5", "adder"),
        ("assistant", second, "adder"),  # the missing call's turn
        ("user", "Observation: 9", "adder"),
        ("assistant", "Thought: done.\nAnswer: 9", "adder"),
    ]

    # A function-calling agent re-sends its turns as they were said.
    asks_first = assistant(calls=[("c1", "add", {"a": 2, "b": 3})])
    asks_second = assistant(calls=[("c2", "add", {"a": 5, "b": 4})])
    history = [user("2+3, then +4?"), asks_first, tool_result("c1", "5")]
    later = [asks_second, tool_result("c2", "9")]
    found = messages_of(
        ("adder", history[:1], [asks_first]),
        ("adder", [*history, *later], [assistant("9")]),
    )
    assert [(role, content) for role, content, _ in found] == [
        ("user", "2+3, then +4?"),
        ("assistant", ""),
        ("tool", "5"),
        ("assistant", ""),  # the missing call's request
        ("tool", "9"),
        ("assistant", "9"),
    ]


HANDOFF = assistant(calls=[("h1", "handoff", {"to_agent": "writer", "reason": "ready"})])
HANDED = tool_result("h1", "Agent writer is now handling the request.")
RESEARCH = [sys("You research."), user("Brief me.")]
# The researcher's turn up to the handoff's result, as merged: what both tests below begin with.
HANDED_OVER = [
    ("system", "You research.", "researcher"),
    ("user", "Brief me.", "researcher"),
    ("assistant", "", "researcher"),
    ("tool", "Agent writer is now handling the request.", "writer"),
]


def test_the_receiving_agents_system_prompts_follow_the_handoffs_result() -> None:
    writes = [sys("You write."), sys("Be brief."), user("Brief me."), HANDOFF, HANDED]
    assert messages_of(
        ("researcher", RESEARCH, [HANDOFF]),
        ("writer", writes, [assistant("The brief.")]),
    ) == [
        *HANDED_OVER,
        ("system", "You write.", "writer"),
        ("system", "Be brief.", "writer"),
        ("assistant", "The brief.", "writer"),
    ]


def test_a_receiving_agent_whose_first_call_failed_keeps_its_prompt_after_the_result() -> None:
    writes = [sys("You write."), user("Brief me."), HANDOFF, HANDED]
    assert messages_of(
        ("researcher", RESEARCH, [HANDOFF]),
        ("writer", writes, []),
        status="ERROR",
    ) == [*HANDED_OVER, ("system", "You write.", "writer")]


def test_only_a_tool_result_takes_the_agent_of_its_tool() -> None:
    """The writer's first message after the handoff names the handoff's call id: it is still
    the writer's, while the handoff's result is the researcher's (whose tool it was)."""
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "researcher", 0, 10)
    b.llm(step, 1, 9, [user("Brief me.")], [HANDOFF])
    handoff = b.call_tool(root, "h1", 11, 14)
    b.tool(handoff, "handoff", {"to_agent": "writer"}, HANDED["content"], 12, 13)
    step = b.step(root, "writer", 15, 25)
    follow_up = {"role": "user", "content": "Go on from the handoff.", "tool_call_id": "h1"}
    writes = [sys("You write."), user("Brief me."), HANDOFF, HANDED, follow_up]
    b.llm(step, 16, 24, writes, [assistant("The brief.")])
    assert [(m["role"], m["content"], m["agent"]) for m in derive(b.spans).messages] == [
        ("user", "Brief me.", "researcher"),
        ("assistant", "", "researcher"),
        ("tool", "Agent writer is now handling the request.", "researcher"),
        ("system", "You write.", "writer"),
        ("user", "Go on from the handoff.", "writer"),
        ("assistant", "The brief.", "writer"),
    ]
