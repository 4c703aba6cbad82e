"""Fixtures and builders for the MASEval adapter tests: real agents against the scripted server.

Import the fixtures into a test module (``from adapter_fixtures import scripted_server``;
``server`` needs ``scripted_server`` beside it);
the scripted OpenAI-compatible server is the only fake, reached through the real
``llama_index.llms.openai.OpenAI`` client.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.tools import FunctionTool

from otel_bridge import Telemetry
from otel_bridge.scripted import (
    ConversationRouter,
    DemoScript,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    demo_script,
    scripted_openai_llm,
)
from support.scenarios import add

CALC_PROMPT = "You are the calculator. Use the add tool."


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[ScriptedLLMServer]:
    """One scripted server per test module; each test sets its own script."""
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def server(scripted_server: ScriptedLLMServer) -> ScriptedLLMServer:
    """The module's server with an empty log."""
    scripted_server.clear_log()
    return scripted_server


@pytest.fixture(scope="module")
def module_telemetry() -> Iterator[Telemetry]:
    """An embedded Telemetry (in-memory capture) per test module."""
    with Telemetry(service_name="adapter-tests") as telemetry:
        yield telemetry


# ----------------------------------------------------------------------------- tools


def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"the tool failed: {reason}")


# ----------------------------------------------------------------------------- agents and scripts


def calc_agent(server: ScriptedLLMServer, **llm_kwargs: Any) -> FunctionAgent:
    """A FunctionAgent "calc" with tools ``add`` and ``explode`` (streams, like the default)."""
    return FunctionAgent(
        name="calc",
        description="Adds numbers.",
        system_prompt=CALC_PROMPT,
        tools=[FunctionTool.from_defaults(add), FunctionTool.from_defaults(explode)],
        llm=scripted_openai_llm(server, **llm_kwargs),
    )


def calc_replies(a: int, b: int, seed: int = 0) -> list[Reply]:
    """Call ``add`` then answer; explicit usage that differs by ``seed``."""
    return [
        Reply(
            tool_calls=[ToolCallSpec("add", {"a": a, "b": b})],
            usage=Usage(prompt=100 + seed, completion=10 + seed, cached=seed),
        ),
        Reply(content=f"The sum is {a + b}.", usage=Usage(prompt=130 + seed, completion=7)),
    ]


def demo() -> DemoScript:
    """The researcher -> writer demo run."""
    return demo_script()


def demo_workflow(server: ScriptedLLMServer, **llm_kwargs: Any) -> AgentWorkflow:
    """The demo's two-agent AgentWorkflow against the server."""
    return demo().workflow(scripted_openai_llm(server, **llm_kwargs))


def usage_by_marker(server: ScriptedLLMServer, router: ConversationRouter) -> dict[str, Usage]:
    """Ground truth: the usage the server sent, summed per conversation marker."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for exchange in server.log:
        if exchange.usage_sent is None:
            continue
        sent = exchange.usage_sent
        total = totals[router.marker_for(exchange.request_json)]
        total[0] += sent.prompt
        total[1] += sent.completion
        total[2] += sent.cached or 0
    return {marker: Usage(p, c, cached) for marker, (p, c, cached) in totals.items()}


def usage_sent(server: ScriptedLLMServer) -> Usage:
    """Ground truth: all usage the server sent since its log was cleared."""
    return server.usage_sent_total()
