"""A message's tool calls are found from the span's keys the same way whether the keys are
scanned all at once or one by one (when a key holds a line break)."""

from __future__ import annotations

from typing import Any

import pytest
from support.fresh_prices import prices_not_memoised
from support.records import TraceBuilder, user

from otel_bridge import derive

__all__ = ["prices_not_memoised"]  # an autouse fixture, imported for pytest

OUT = "llm.output_messages.0.message"


def call_keys(k: int, call_id: str, name: str) -> dict[str, Any]:
    """The keys of the message's tool call number ``k``."""
    base = f"{OUT}.tool_calls.{k}.tool_call"
    return {
        f"{base}.id": call_id,
        f"{base}.function.name": name,
        f"{base}.function.arguments": "{}",
    }


@pytest.mark.parametrize("line_break", [False, True])
def test_the_calls_of_a_message_are_read_alike_by_either_scan_of_the_keys(
    line_break: bool,
) -> None:
    """Calls numbered on from 1 (openinference-instrumentation-openai-agents 2.6), and a key
    naming the tool-call part twice, whose first index (2) has no call: the calls end there,
    as at any index without one."""
    extra: dict[str, Any] = {
        f"{OUT}.role": "assistant",
        **call_keys(1, "c1", "search"),
        **call_keys(3, "c3", "count"),
        f"{OUT}.tool_calls.2.note.message.tool_calls.0": "stray",
    }
    if line_break:
        extra["odd\nkey"] = "a key with a line break"
    b = TraceBuilder()
    root = b.root(0, 20)
    step = b.step(root, "researcher", 0, 10)
    b.llm(step, 1, 9, [user("Look it up.")], [], extra=extra)
    (_, asked) = derive(b.spans).messages
    assert [(c["id"], c["function"]["name"]) for c in asked["tool_calls"]] == [("c1", "search")]
