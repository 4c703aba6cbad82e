"""Pairs of scripted runs whose one difference is known (for the diff tests and benchmarks).

Each builder takes the scripted server and a variant and returns the run, not started, like
``tests/support/scenarios.py``: the variants of one builder differ in exactly one thing.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent

from otel_bridge.scripted import Reply, ScriptedLLMServer, ToolCallSpec, Usage, scripted_openai_llm
from support.scenarios import Run, add, multiply

ANSWER = "The sum is 5."
QUESTION = "What is 2 + 3?"
INSERTED_USAGE = Usage(150, 15)  # the inserted step's LLM call


def calculator(
    server: ScriptedLLMServer,
    *,
    b: int = 3,
    inserted: bool = False,
    model: str = "gpt-4o-mini",
) -> Run:
    """A calculator adds 2 and ``b`` (``inserted``: then also multiplies 4 by 5), and answers."""
    script = [Reply(tool_calls=[ToolCallSpec("add", {"a": 2, "b": b})], usage=Usage(100, 10))]
    if inserted:
        script.append(
            Reply(tool_calls=[ToolCallSpec("multiply", {"a": 4, "b": 5})], usage=INSERTED_USAGE)
        )
    script.append(Reply(content=ANSWER, usage=Usage(200, 8)))
    server.set_script(script)
    agent = FunctionAgent(
        name="calculator",
        system_prompt="You are a calculator.",
        tools=[add, multiply],
        llm=scripted_openai_llm(server, include_usage=True, model=model),
    )
    return lambda: agent.run(user_msg=QUESTION)


def triage(server: ScriptedLLMServer, *, to: str = "writer") -> Run:
    """A router hands the question off to ``to`` (the writer or the reviewer), who answers."""

    def handoff(agent: str) -> ToolCallSpec:
        return ToolCallSpec("handoff", {"to_agent": agent, "reason": "yours"})

    server.set_script(
        [
            Reply(agent="You are the router.", tool_calls=[handoff(to)], usage=Usage(100, 10)),
            Reply(agent=f"You are the {to}.", content=ANSWER, usage=Usage(300, 12)),
        ]
    )
    llm = scripted_openai_llm(server, include_usage=True)

    def agent(name: str, to: list[str]) -> FunctionAgent:
        return FunctionAgent(
            name=name,
            description=f"The {name}.",
            system_prompt=f"You are the {name}.",
            tools=[],
            llm=llm,
            can_handoff_to=to,
        )

    workflow = AgentWorkflow(
        agents=[
            agent("router", ["writer", "reviewer"]),
            agent("writer", []),
            agent("reviewer", []),
        ],
        root_agent="router",
    )
    return lambda: workflow.run(user_msg=QUESTION)


def variants() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Name -> (builder keywords of A, of B)."""
    return {
        "arguments": ({"b": 3}, {"b": 4}),
        "inserted": ({}, {"inserted": True}),
        "model": ({}, {"model": "gpt-4o"}),
    }
