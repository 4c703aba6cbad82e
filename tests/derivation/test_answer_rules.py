"""The run's answer: a ReAct agent's text after its marker, a tool's result when the run
ends on it, the last assistant text unless something was asked after it.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, assistant, tool_result, user

from otel_bridge import derive

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest


def answer_of(*outputs: dict[str, Any], status: str = "OK") -> str | None:
    """The answer of a one-agent run whose one model call says ``outputs``."""
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, [user("What is the capital of France?")], list(outputs))
    return derive(b.spans).output


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Thought: I know it.\nAnswer: Paris.", "Paris."),
        ("Thought: sure.\nAnswer:  Paris. \n", "Paris."),
        ("Thought: two.\nAnswer: Paris. Answer: not this part", "Paris. Answer: not this part"),
        ("Thought: no answer marker here", "Thought: no answer marker here"),
        ("The Answer: is Paris.", "The Answer: is Paris."),  # not a ReAct step
        ("thought: lower case\nAnswer: Paris.", "thought: lower case\nAnswer: Paris."),
    ],
)
def test_a_react_answer_is_the_text_after_its_answer_marker(text: str, answer: str) -> None:
    assert answer_of(assistant(text)) == answer


def test_a_run_ending_on_a_tool_result_answers_with_it_and_on_a_request_with_nothing() -> None:
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    ask = [user("2+3?")]
    b.llm(step, 1, 9, ask, [assistant("Thought: add.", calls=[("c1", "add", {"a": 2})])])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    assert derive(b.spans).output == "5"  # the tool's result is the run's last word

    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, ask, [assistant("Let me add.", calls=[("c1", "add", {"a": 2})])])
    assert derive(b.spans).output is None  # asked for a tool, never got its result

    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, ask, [assistant(calls=[("c1", "add", {"a": 2})])])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "", 12, 15)
    assert derive(b.spans).output is None  # an empty result is no answer


def test_the_last_assistant_text_is_the_answer_after_earlier_results() -> None:
    b = TraceBuilder()
    root = b.root(0, 40)
    s1 = b.step(root, "solver", 0, 10)
    ask = [user("2+3?")]
    call = assistant(calls=[("c1", "add", {"a": 2})])
    b.llm(s1, 1, 9, ask, [call])
    ct = b.call_tool(root, "c1", 11, 20)
    b.tool(ct, "add", {"a": 2, "b": 3}, "5", 12, 15)
    s2 = b.step(root, "solver", 21, 30)
    b.llm(s2, 22, 29, [*ask, call, tool_result("c1", "5")], [assistant("It is 5.")])
    assert derive(b.spans).output == "It is 5."


def test_the_answer_is_the_last_assistant_text_only_if_nothing_was_asked_after_it() -> None:
    def answer(*turns: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> str | None:
        b = TraceBuilder()
        root = b.root(0, 100)
        for n, (inputs, outputs) in enumerate(turns):
            step = b.step(root, "solver", 10 * n, 10 * n + 9)
            b.llm(step, 10 * n + 1, 10 * n + 8, inputs, outputs)
        return derive(b.spans).output

    hi, hello, add = user("hi"), assistant("Hello!"), user("add 2 and 3")
    asks = assistant("Adding.", calls=[("c1", "add", {"a": 2, "b": 3})])
    assert answer(([hi], [hello]), ([hi, hello, add], [asks])) is None  # not the earlier text
    # the last call's answer not recorded: the last assistant text there is
    assert answer(([hi], [hello]), ([hi, hello, add], [])) == "Hello!"
