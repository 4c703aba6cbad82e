"""The OpenAI Agents SDK team the tests share: researcher -> (handoff) writer -> (as a tool)
checker, on the real ``AsyncOpenAI`` client against the scripted model."""

from __future__ import annotations

from typing import Any

from agents import Agent, Model, OpenAIChatCompletionsModel, OpenAIResponsesModel, function_tool
from openai import AsyncOpenAI

from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, ToolCallSpec, Usage

FACT = "OpenTelemetry is a CNCF project."
ANSWER = "OTel is a CNCF project."


@function_tool
def search(query: str) -> str:
    """Search the web."""
    return FACT


@function_tool
def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool exploded: {reason}")


def team_router() -> ConversationRouter:
    """researcher: search, hand off -> writer: ask the checker (an agent as a tool), answer.

    After the handoff the writer is sent the researcher's two turns: its replies start at 2.
    """
    unused = Reply(content="(unused)")
    return ConversationRouter(
        {
            "[researcher]": [
                Reply(tool_calls=[ToolCallSpec("search", {"query": "otel"})], usage=Usage(100, 10)),
                Reply(tool_calls=[ToolCallSpec("transfer_to_writer", {})], usage=Usage(50, 5)),
            ],
            "[writer]": [
                unused,
                unused,
                Reply(
                    tool_calls=[ToolCallSpec("ask_checker", {"input": "check it"})],
                    usage=Usage(70, 7),
                ),
                Reply(content=ANSWER, usage=Usage(60, 6, cached=32)),
                Reply(content="Second answer.", usage=Usage(90, 4)),
            ],
            "[checker]": [Reply(content="looks right", usage=Usage(20, 2))],
        }
    )


def scripted_model(server: ScriptedLLMServer, api: str = "chat") -> Model | None:
    """The SDK's model on the real ``AsyncOpenAI`` client: chat completions, the Responses API,
    or ("default") none, so that the SDK picks its default (the Responses API, with a client
    made from ``OPENAI_BASE_URL``)."""
    if api == "default":
        return None
    client = AsyncOpenAI(base_url=server.base_url, api_key="fake", max_retries=0)
    if api == "responses":
        return OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
    return OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)


def team(server: ScriptedLLMServer, api: str = "chat") -> Agent[Any]:
    model = scripted_model(server, api)
    checker = Agent(name="checker", instructions="[checker] You check.", model=model)
    writer = Agent(
        name="writer",
        instructions="[writer] You write.",
        model=model,
        tools=[checker.as_tool(tool_name="ask_checker", tool_description="Check a text")],
    )
    return Agent(
        name="researcher",
        instructions="[researcher] You research.",
        model=model,
        tools=[search],
        handoffs=[writer],
    )
