"""What is and is not a delegation: the call that asked for a managed agent at the very instant
its run started (a coarse clock), and one agent's turn inside another's that is neither a tool
call nor an agent run."""

from __future__ import annotations

from typing import Any

from support.genai_spans import genai_chat, invoke_agent
from support.records import MS, TraceBuilder, assistant, user

from otel_bridge import derive


def chat(text: str | None = None, call: tuple[str, str] | None = None) -> dict[str, Any]:
    """A GenAI ``chat`` span's attributes: it answers ``text`` or asks for ``call`` (id, name)
    with the task "Dig."."""
    return genai_chat(text, call, arguments={"task": "Dig."}, asked="Report.")


def test_the_call_asking_for_a_managed_agent_may_start_when_its_run_does() -> None:
    """Times from a clock that ticks in milliseconds: the manager's call and the researcher's
    run it asked for start at the same instant."""
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    manager = invoke_agent(b, "manager", 0, 95, root)
    b.span("chat", 10, 10, manager, attrs=chat(call=("m1", "researcher")))
    researcher = invoke_agent(b, "researcher", 10, 30, manager)
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
