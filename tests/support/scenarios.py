"""The scripted agent runs several tests share: their tools, scripts and agents.

Each scenario takes the scripted server, sets its script, builds real LlamaIndex agents on the
real OpenAI client and returns the run, not started: ``await scenario(server)()`` runs it once
(inside a root span of the caller's, for example with ``runs.traced_run``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.tools import FunctionTool
from openinference.semconv.trace import SpanAttributes as SA

from otel_bridge import LLMCall, RunTrace, Telemetry, derive
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.scripted import (
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    demo_script,
    react_action,
    react_answer,
    scripted_openai_llm,
)
from otel_bridge.spans import SpanRecord

Run = Callable[[], Awaitable[Any]]
Scenario = Callable[[ScriptedLLMServer], Run]

TWO_TOOLS_ANSWER = "2+3=5 and 4*5=20."


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool exploded: {reason}")


def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def two_tools(server: ScriptedLLMServer) -> Run:
    """A FunctionAgent calls two tools in one turn, then answers; streamed, with usage."""
    server.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("add", {"a": 2, "b": 3}),
                    ToolCallSpec("multiply", {"a": 4, "b": 5}),
                ],
                usage=Usage(120, 30, cached=64, reasoning=7),
            ),
            Reply(content=TWO_TOOLS_ANSWER, usage=Usage(180, 12)),
        ]
    )
    agent = FunctionAgent(
        name="calculator",
        system_prompt="You are a calculator.",
        tools=[add, multiply],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    return lambda: agent.run(user_msg="What is 2+3 and 4*5?")


def add_and_count(server: ScriptedLLMServer, chunk_delay_s: float = 0.0) -> Run:
    """A streaming FunctionAgent calling two tools at once, then answering (its answer streamed
    with ``chunk_delay_s`` between chunks)."""
    server.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("add", {"a": 2, "b": 3}),
                    ToolCallSpec("word_count", {"text": "two plus three"}),
                ],
                usage=Usage(90, 9, cached=64, reasoning=3),
            ),
            Reply(
                content="2 + 3 = 5, in three words.",
                usage=Usage(120, 6),
                chunk_delay_s=chunk_delay_s,
            ),
        ]
    )
    agent = FunctionAgent(
        name="calculator",
        description="Adds and counts.",
        system_prompt="You are the calculator.",
        tools=[FunctionTool.from_defaults(add), FunctionTool.from_defaults(word_count)],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    return lambda: agent.run(user_msg="What is 2 + 3, and how many words is that?")


def react(server: ScriptedLLMServer) -> Run:
    """A ReAct agent: an action in text, an observation, an answer."""
    server.set_script(
        [
            Reply(content=react_action("add", {"a": 20, "b": 22}), usage=Usage(200, 20)),
            Reply(content=react_answer("The sum is 42."), usage=Usage(260, 15)),
        ]
    )
    agent = ReActAgent(
        name="reasoner", tools=[add], llm=scripted_openai_llm(server, include_usage=True)
    )
    return lambda: agent.run(user_msg="What is 20 + 22?")


def handoff(server: ScriptedLLMServer) -> Run:
    """The demo: a researcher searches and hands off to a writer, who checks and answers."""
    script = demo_script()
    server.set_script(script.router())
    workflow = script.workflow(scripted_openai_llm(server, include_usage=True))
    return lambda: workflow.run(user_msg=script.user_msg)


def chain(server: ScriptedLLMServer) -> Run:
    """Three agents, two handoffs: planner -> solver (adds) -> reviewer."""

    def to(agent: str, why: str) -> ToolCallSpec:
        return ToolCallSpec("handoff", {"to_agent": agent, "reason": why})

    server.set_script(
        [
            Reply(agent="You are the planner.", tool_calls=[to("solver", "plan ready")],
                  usage=Usage(100, 10)),
            Reply(agent="You are the solver.", tool_calls=[ToolCallSpec("add", {"a": 20, "b": 22})],
                  usage=Usage(200, 20)),
            Reply(agent="You are the solver.", tool_calls=[to("reviewer", "solved")],
                  usage=Usage(300, 30)),
            Reply(agent="You are the reviewer.", content="Reviewed: 42.", usage=Usage(400, 40)),
        ]
    )  # fmt: skip
    llm = scripted_openai_llm(server, include_usage=True)

    def agent(name: str, tools: list[Any], to: list[str]) -> FunctionAgent:
        return FunctionAgent(
            name=name,
            description=f"The {name}.",
            system_prompt=f"You are the {name}.",
            tools=tools,
            llm=llm,
            can_handoff_to=to,
        )

    workflow = AgentWorkflow(
        agents=[agent("planner", [], ["solver"]), agent("solver", [add], ["reviewer"]),
                agent("reviewer", [], [])],
        root_agent="planner",
    )  # fmt: skip
    return lambda: workflow.run(user_msg="Add 20 and 22.")


def tool_raises(server: ScriptedLLMServer) -> Run:
    """A tool raises; the agent reads the error and answers."""
    server.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("explode", {"reason": "bad input"})], usage=Usage(50, 5)
            ),
            Reply(content="The tool failed.", usage=Usage(80, 6)),
        ]
    )
    agent = FunctionAgent(
        name="fragile",
        system_prompt="You are fragile.",
        tools=[explode],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    return lambda: agent.run(user_msg="Try the tool.")


def assert_handoff_spans_name_their_agents(
    spans: Sequence[SpanRecord], trace: RunTrace, keys: Sequence[str]
) -> None:
    """The demo run's spans (``handoff``) as a backend got them: each LLM and tool call names its
    one agent under every key of ``keys``, and the handoff span is a transfer to the writer."""
    by_id = {s.span_id_hex: s for s in spans}

    def named(span_id: str) -> str:
        attributes = by_id[span_id].attributes
        (agent,) = {attributes[key] for key in keys}
        return str(agent)

    assert [named(c.span_id) for c in trace.llm_calls] == [
        "researcher",
        "researcher",
        "writer",
        "writer",
    ]
    assert [(t.name, named(t.span_id)) for t in trace.tool_calls] == [
        ("search", "researcher"),
        ("handoff", "researcher"),
        ("word_count", "writer"),
    ]
    (handoff,) = [s for s in spans if genai.TRANSFER_TARGET_NAME in s.attributes]
    assert (
        handoff.attributes[SA.TOOL_NAME],
        handoff.attributes[genai.AGENT_NAME],
        handoff.attributes[genai.TRANSFER_TARGET_NAME],
        handoff.attributes[genai.TRANSFER_MODE],
    ) == ("handoff", "researcher", "writer", "pass_control")


@dataclass(frozen=True)
class StreamedRun:
    """An ``add_and_count`` run whose answer streamed slowly: what was captured of it."""

    trace_id: str
    captured: list[SpanRecord]
    answer: LLMCall  # the streamed answer, as derived
    floor_s: float  # the least the answer lasted at the server


async def streamed_run(
    telemetry: Telemetry, server: ScriptedLLMServer, delay_s: float
) -> StreamedRun:
    """``add_and_count`` with ``delay_s`` between the answer's chunks, under ``telemetry``
    (shut down after); checks that LlamaIndex's own span of the answer ended early."""
    run = add_and_count(server, chunk_delay_s=delay_s)
    try:
        with telemetry.start_run("stream-run") as root:
            await run()
        trace_id = f"{root.get_span_context().trace_id:032x}"
        telemetry.force_flush()
        captured = telemetry.spans(trace_id)
    finally:
        telemetry.shutdown()
    answer = derive(captured).llm_calls[-1]
    floor = 3 * delay_s  # a streamed answer is at least a role chunk, a text chunk, a finish chunk
    captured_answer = next(s for s in captured if s.span_id_hex == answer.span_id)
    assert captured_answer.duration_ns / 1e9 < floor  # the span LlamaIndex closes early
    return StreamedRun(trace_id, captured, answer, floor)


# The runs every instrumentation records (tests/instrumented/record.py).
SCENARIOS: dict[str, Scenario] = {f.__name__: f for f in (two_tools, handoff, chain, tool_raises)}
