"""Scripted smolagents runs: real ToolCallingAgents on ``OpenAIServerModel``, a scripted model.

Each scenario is a script for the scripted server and a function that builds the agent and runs
it; the server's log is the ground truth (what each call was sent and answered). Used by the
live tests and by ``record_smolagents.py``, which records them into ``tests/data/smolagents``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otel_bridge.scripted import Reply, ScriptedLLMServer, ToolCallSpec, Usage

MODEL = "gpt-4o-mini"
SEARCH_RESULT = "OpenTelemetry is a CNCF project."


class ToolFailed(RuntimeError):
    """What the failing tool raises."""


def search(query: str) -> str:
    """Search the web.

    Args:
        query: what to search
    """
    return SEARCH_RESULT


def word_count(text: str) -> int:
    """Count the words of a text.

    Args:
        text: the text
    """
    return len(text.split())


def flaky(city: str) -> str:
    """Read the weather of a city.

    Args:
        city: the city
    """
    raise ToolFailed(f"weather service down for {city}")


def model(server: ScriptedLLMServer) -> Any:
    """smolagents' own OpenAI client, pointed at the scripted server."""
    from smolagents import OpenAIServerModel

    return OpenAIServerModel(model_id=MODEL, api_base=server.base_url, api_key="scripted")


def agent(
    server: ScriptedLLMServer,
    tools: tuple[Callable[..., Any], ...] = (search,),
    name: str = "assistant",
    **options: Any,
) -> Any:
    """A ToolCallingAgent with the given plain functions as its tools."""
    from smolagents import ToolCallingAgent, tool

    return ToolCallingAgent(
        tools=[tool(t) for t in tools], model=model(server), name=name, verbosity_level=0, **options
    )


def team(server: ScriptedLLMServer) -> Any:
    """A manager with one managed agent, ``researcher`` (which has ``search``)."""
    from smolagents import ToolCallingAgent

    researcher = agent(server, name="researcher", description="Researches a topic.")
    return ToolCallingAgent(
        tools=[],
        model=model(server),
        managed_agents=[researcher],
        name="manager",
        verbosity_level=0,
    )


def answer(text: str, usage: Usage) -> Reply:
    """The ``final_answer`` tool call that ends a smolagents run."""
    return Reply(tool_calls=[ToolCallSpec("final_answer", {"answer": text})], usage=usage)


@dataclass(frozen=True)
class Scenario:
    """A script, the agent's run over it, and the answer it gives."""

    name: str
    replies: tuple[Reply, ...]
    run: Callable[[ScriptedLLMServer], Any]
    answer: str
    stream_usage: bool = True


def _single(server: ScriptedLLMServer, query: str, **options: Any) -> Any:
    return agent(server, tools=(search, word_count, flaky), **options).run(query)


def _two_turns(server: ScriptedLLMServer) -> Any:
    first = agent(server)
    first.run("What is OpenTelemetry?")
    return first.run("And who hosts it?", reset=False)


ONE_TOOL = Scenario(
    "one_tool",
    (
        Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(120, 12)),
        answer("OTel is a CNCF project.", Usage(160, 9, cached=64)),
    ),
    lambda server: _single(server, "What is OpenTelemetry?"),
    "OTel is a CNCF project.",
)
PARALLEL = Scenario(
    "parallel",
    (
        Reply(
            tool_calls=[
                ToolCallSpec("search", {"query": "otel"}),
                ToolCallSpec("word_count", {"text": "open telemetry rocks"}),
            ],
            usage=Usage(130, 20),
        ),
        answer("CNCF; 3 words.", Usage(190, 8)),
    ),
    lambda server: _single(server, "Search otel and count 'open telemetry rocks'."),
    "CNCF; 3 words.",
)
TOOL_ERROR = Scenario(
    "tool_error",
    (
        Reply(tool_calls=[ToolCallSpec("flaky", {"city": "Paris"})], usage=Usage(110, 10)),
        answer("The weather service is down.", Usage(170, 11)),
    ),
    lambda server: _single(server, "Weather in Paris?"),
    "The weather service is down.",
)
STREAMED = Scenario(
    "streamed",
    ONE_TOOL.replies,
    lambda server: _single(server, "What is OpenTelemetry?", stream_outputs=True),
    "OTel is a CNCF project.",
)
STREAMED_NO_USAGE = Scenario(
    "streamed_no_usage",
    ONE_TOOL.replies,
    STREAMED.run,
    "OTel is a CNCF project.",
    stream_usage=False,
)
MANAGED = Scenario(
    "managed",
    (
        Reply(
            tool_calls=[ToolCallSpec("researcher", {"task": "find facts about otel"})],
            usage=Usage(300, 15),
        ),
        Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(200, 10)),
        answer("OTel is CNCF.", Usage(240, 7)),
        answer("Done: OTel is CNCF.", Usage(380, 9, cached=128)),
    ),
    lambda server: team(server).run("Tell me about OpenTelemetry."),
    "Done: OTel is CNCF.",
)
TWO_TURNS = Scenario(
    "two_turns",
    (
        Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(120, 12)),
        answer("A CNCF project.", Usage(160, 9)),
        answer("The CNCF hosts it.", Usage(210, 8)),
    ),
    _two_turns,
    "The CNCF hosts it.",
)
MAX_STEPS = Scenario(
    "max_steps",
    (
        Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(120, 12)),
        Reply(content="OTel is a CNCF project, as far as I got.", usage=Usage(140, 14)),
    ),
    lambda server: _single(server, "What is OpenTelemetry?", max_steps=1),
    "OTel is a CNCF project, as far as I got.",
)

RECORDED = (
    ONE_TOOL,
    PARALLEL,
    TOOL_ERROR,
    STREAMED,
    STREAMED_NO_USAGE,
    MANAGED,
    TWO_TURNS,
    MAX_STEPS,
)
