"""What is and is not a delegation: the call that asked for a managed agent at the very instant
its run started (a coarse clock), and one agent's turn inside another's that is neither a tool
call nor an agent run."""

from __future__ import annotations

import json
from typing import Any

from support.records import MS, TraceBuilder, assistant, user

from otel_bridge import SpanRecord, derive
from otel_bridge.conventions import genai_attributes as genai


def chat(text: str | None = None, call: tuple[str, str] | None = None) -> dict[str, Any]:
    """A GenAI ``chat`` span's attributes: it answers ``text`` or asks for ``call`` (id, name)."""
    part = (
        {"type": "tool_call", "id": call[0], "name": call[1], "arguments": {"task": "Dig."}}
        if call
        else {"type": "text", "content": text}
    )
    return {
        genai.OPERATION: "chat",
        genai.REQUEST_MODEL: "gpt-4o-mini",
        genai.INPUT_TOKENS: 50,
        genai.OUTPUT_TOKENS: 5,
        genai.INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Report."}]}]
        ),
        genai.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [part]}]),
    }


def agent_run(b: TraceBuilder, name: str, start: float, end: float, parent: SpanRecord) -> Any:
    """A GenAI ``invoke_agent`` span: one activation of ``name``."""
    attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: name}
    return b.span(f"invoke_agent {name}", start, end, parent, attrs=attrs)


def test_the_call_asking_for_a_managed_agent_may_start_when_its_run_does() -> None:
    """Times from a clock that ticks in milliseconds: the manager's call and the researcher's
    run it asked for start at the same instant."""
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = agent_run(b, "manager", 0, 95, root)
    b.span("chat", 10, 10, manager, attrs=chat(call=("m1", "researcher")))
    researcher = agent_run(b, "researcher", 10, 30, manager)
    b.span("chat", 11, 29, researcher, attrs=chat("dug"))
    (delegation,) = derive(b.spans).delegations
    found = (delegation.from_agent, delegation.to_agent, delegation.task, delegation.at_ns)
    assert found == ("manager", "researcher", "Dig.", 10 * MS)
    assert delegation.tool_call_id == "m1"  # the call that asked for it


def test_a_turn_of_one_agent_inside_anothers_turn_delegates_nothing() -> None:
    """A workflow step placed under the step that scheduled it: no tool ran the writer and no
    run of the writer's own sits in the researcher's."""
    b = TraceBuilder()
    root = b.root(0, 100)
    outer = b.step(root, "researcher", 0, 60)
    b.llm(outer, 1, 9, [user("Brief me.")], [assistant("Notes.")])
    inner = b.step(outer, "writer", 10, 50)
    b.llm(inner, 11, 49, [user("Write it.")], [assistant("The brief.")])
    run = derive(b.spans)
    assert run.delegations == []
    assert [(c.agent, c.start_ns) for c in run.llm_calls] == [
        ("researcher", 1 * MS),
        ("writer", 11 * MS),
    ]
