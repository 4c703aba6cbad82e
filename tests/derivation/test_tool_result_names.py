"""A tool result is named after the tool its call id asked for: only a tool result, only by
its id, and never over the name its framework sent it with."""

from __future__ import annotations

from typing import Any

from support.records import TraceBuilder, assistant, tool_result, user

from otel_bridge import derive


def names(*history: dict[str, Any], extra: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """(role, name, content) of each message of a run whose second call is sent ``history``."""
    b = TraceBuilder()
    root = b.root(0, 40)
    step = b.step(root, "librarian", 0, 30)
    b.llm(step, 1, 9, [user("Find it.")], [history[1]])
    b.llm(step, 11, 19, list(history), [assistant("Found.")], extra=extra)
    return [(m["role"], m.get("name"), m["content"]) for m in derive(b.spans).messages]


def test_a_result_keeps_the_name_it_was_sent_with() -> None:
    asks = assistant(calls=[("c1", "search", {"q": "it"})])
    sent = names(
        user("Find it."),
        asks,
        tool_result("c1", "it"),
        extra={"llm.input_messages.2.message.name": "web_search"},  # as the framework sent it
    )
    assert sent[2] == ("tool", "web_search", "it")
    assert names(user("Find it."), asks, tool_result("c1", "it"))[2] == ("tool", "search", "it")


def test_a_result_without_a_call_id_is_not_named_after_a_call_without_one() -> None:
    unanswered = {"role": "tool", "content": "it"}
    with_empty_id = assistant(calls=[("", "search", {"q": "it"})])
    without_id = {**with_empty_id, "tool_calls": [{"name": "search", "args": {"q": "it"}}]}
    for asks in (with_empty_id, without_id):
        assert names(user("Find it."), asks, unanswered)[2] == ("tool", None, "it")


def test_only_tool_results_are_named() -> None:
    asks = assistant(calls=[("c1", "search", {"q": "it"})])
    said = {"role": "user", "content": "Use it.", "tool_call_id": "c1"}  # not a tool result
    sent = names(user("Find it."), asks, tool_result("c1", "it"), said)
    assert sent[2:4] == [("tool", "search", "it"), ("user", None, "Use it.")]
