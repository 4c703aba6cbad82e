"""Scripted LangGraph runs several tests share: tools, scripts and real agents.

Each scenario sets the scripted server's script and returns a compiled LangGraph graph (real
``langchain.agents.create_agent`` / ``langgraph.prebuilt.create_react_agent`` agents, swarms and
supervisors on the real ``langchain_openai.ChatOpenAI`` client); ``invoke(graph)`` runs it once
with ``QUERY``. The expected figures are literals in the scripts (``Usage``) and the server log.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command
from langgraph_supervisor import create_supervisor
from langgraph_swarm import create_handoff_tool, create_swarm

from otel_bridge.scripted import Reply, ScriptedLLMServer, ToolCallSpec, Usage

QUERY = "Tell me about otel"
SEARCH_RESULT = "OpenTelemetry is a CNCF project."
ANSWER = "OTel is a CNCF project."
Scenario = Callable[[ScriptedLLMServer], Any]


@tool
def search(query: str) -> str:
    """Search the web."""
    return SEARCH_RESULT


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


@tool
def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool exploded: {reason}")


def chat_model(
    server: ScriptedLLMServer, *, streaming: bool = False, usage: bool = True
) -> ChatOpenAI:
    """The real OpenAI chat client of LangChain, on the scripted server."""
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=server.base_url,
        api_key="fake",  # type: ignore[arg-type]
        streaming=streaming,
        stream_usage=usage,
        max_retries=0,
    )


def invoke(graph: Any, query: str = QUERY) -> dict[str, Any]:
    """One run of the graph with a user message."""
    result: dict[str, Any] = graph.invoke({"messages": [{"role": "user", "content": query}]})
    return result


ONE_TOOL_REPLIES = (
    Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(100, 10)),
    Reply(content=ANSWER, usage=Usage(130, 8, cached=64)),
)


def one_tool_agent(
    server: ScriptedLLMServer, *, streaming: bool = False, usage: bool = True
) -> Any:
    """A create_agent agent with ``search`` (the script is the caller's)."""
    model = chat_model(server, streaming=streaming, usage=usage)
    return create_agent(model, [search], system_prompt="You research.", name="researcher")


def one_tool(server: ScriptedLLMServer, *, streaming: bool = False, usage: bool = True) -> Any:
    """One agent calls ``search`` once, then answers."""
    server.set_script(list(ONE_TOOL_REPLIES))
    return one_tool_agent(server, streaming=streaming, usage=usage)


def parallel_tools(server: ScriptedLLMServer) -> Any:
    """One agent calls two tools in one turn, then answers."""
    server.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("search", {"query": "otel"}),
                    ToolCallSpec("word_count", {"text": "open telemetry rocks"}),
                ],
                usage=Usage(120, 20),
            ),
            Reply(content=ANSWER, usage=Usage(180, 9, cached=100)),
        ]
    )
    return create_agent(
        chat_model(server), [search, word_count], system_prompt="You count.", name="counter"
    )


def tool_raises(server: ScriptedLLMServer) -> Any:
    """The agent's tool raises; the agent's tool node passes the error back to the model."""
    from langgraph.prebuilt import ToolNode

    server.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("explode", {"reason": "boom"})], usage=Usage(90, 7)),
            Reply(content="The tool failed.", usage=Usage(110, 5)),
        ]
    )
    tools = ToolNode([explode], handle_tool_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(chat_model(server), tools, prompt="You try.", name="tryer")


def react_agent(server: ScriptedLLMServer) -> Any:
    """langgraph.prebuilt's (deprecated) create_react_agent with one tool call."""
    server.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(100, 10)),
            Reply(content=ANSWER, usage=Usage(130, 8)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(
            chat_model(server), [search], prompt="You research.", name="researcher"
        )


SWARM_USAGE = (Usage(100, 10), Usage(50, 5), Usage(60, 6, cached=32))


SWARM_REPLIES = (
    Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=SWARM_USAGE[0]),
    Reply(tool_calls=[ToolCallSpec("transfer_to_writer", {})], usage=SWARM_USAGE[1]),
    Reply(content=ANSWER, usage=SWARM_USAGE[2]),
)


def swarm_graph(server: ScriptedLLMServer, *, checkpointer: Any = None) -> Any:
    """A langgraph-swarm of a researcher (search, handoff to the writer) and a writer."""
    model = chat_model(server)
    researcher = create_agent(
        model,
        [search, create_handoff_tool(agent_name="writer")],
        system_prompt="You research.",
        name="researcher",
    )
    writer = create_agent(model, [], system_prompt="You write.", name="writer")
    swarm_ = create_swarm([researcher, writer], default_active_agent="researcher")
    return swarm_.compile(checkpointer=checkpointer)


def swarm(server: ScriptedLLMServer) -> Any:
    """A langgraph-swarm: the researcher searches, hands off to the writer, who answers."""
    server.set_script(list(SWARM_REPLIES))
    return swarm_graph(server)


SUPERVISOR_USAGE = (Usage(80, 8), Usage(100, 10), Usage(120, 6), Usage(150, 5, cached=64))


def supervisor(server: ScriptedLLMServer) -> Any:
    """A langgraph-supervisor: it transfers to the researcher, who searches and answers; control
    goes back to the supervisor, which answers."""
    server.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("transfer_to_researcher", {})], usage=SUPERVISOR_USAGE[0]
            ),
            Reply(
                tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=SUPERVISOR_USAGE[1]
            ),
            Reply(content="Found: " + SEARCH_RESULT, usage=SUPERVISOR_USAGE[2]),
            Reply(content=ANSWER, usage=SUPERVISOR_USAGE[3]),
        ]
    )
    model = chat_model(server)
    researcher = create_agent(model, [search], system_prompt="You research.", name="researcher")
    return create_supervisor(
        [researcher], model=model, prompt="You manage.", supervisor_name="supervisor"
    ).compile()


def command_goto(server: ScriptedLLMServer) -> Any:
    """A node of a graph returns ``Command(goto="writer")``: control passes to the writer agent."""
    server.set_script(
        [
            Reply(content="Draft: otel.", usage=Usage(40, 4)),
            Reply(content=ANSWER, usage=Usage(70, 7)),
        ]
    )
    model = chat_model(server)
    planner = create_agent(model, [], system_prompt="You plan.", name="planner")
    writer = create_agent(model, [], system_prompt="You write.", name="writer")

    def route(state: MessagesState) -> Command:
        return Command(goto="writer")

    graph = StateGraph(MessagesState)
    graph.add_node("planner", planner)
    graph.add_node("route", route)
    graph.add_node("writer", writer)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", "route")
    graph.add_edge("writer", END)
    return graph.compile()
