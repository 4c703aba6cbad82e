"""Record live LlamaIndex agent runs under one instrumentation, for tests/test_instrumentations.py.

Usage: ``python tests/instrumented/record.py MODE OUTDIR`` with MODE one of ``openinference``
(otel-bridge's Telemetry), ``genai`` (OpenTelemetry's GenAI instrumentation for LlamaIndex and
the OpenAI client, content captured in spans), ``genai-no-content`` (the same, without content
capture, its default), ``openllmetry`` (OpenLLMetry's LlamaIndex and OpenAI
instrumentations), or ``mixed-genai`` / ``mixed-openllmetry`` (otel-bridge's Telemetry plus
that instrumentation of the OpenAI client: each model call is recorded twice). Each
instrumentation patches LlamaIndex or the client for the whole process, so each mode runs in a
process of its own. Every scenario runs against the scripted
OpenAI-compatible server through the real OpenAI client; its spans are written as OTLP/JSON to
``OUTDIR/<scenario>.otlp.json`` and what the server saw and sent to ``<scenario>.truth.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

MODES = (
    "openinference",
    "genai",
    "genai-no-content",
    "openllmetry",
    "mixed-genai",
    "mixed-openllmetry",
)


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool exploded: {reason}")


def search(query: str) -> str:
    """Search the notes."""
    return f"notes about {query}"


def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


async def two_tools(server: Any) -> Any:
    """A FunctionAgent calls two tools in one turn, then answers; streamed, with usage."""
    from llama_index.core.agent.workflow import FunctionAgent

    from otel_bridge.scripted import Reply, ToolCallSpec, Usage, scripted_openai_llm

    server.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("add", {"a": 2, "b": 3}),
                    ToolCallSpec("multiply", {"a": 4, "b": 5}),
                ],
                usage=Usage(120, 30, cached=64, reasoning=7),
            ),
            Reply(content="2+3=5 and 4*5=20.", usage=Usage(180, 12)),
        ]
    )
    agent = FunctionAgent(
        name="calculator",
        system_prompt="You are a calculator.",
        tools=[add, multiply],
        llm=scripted_openai_llm(server, include_usage=True),
    )
    return await agent.run(user_msg="What is 2+3 and 4*5?")


async def handoff(server: Any) -> Any:
    """The demo: a researcher searches and hands off to a writer, who checks and answers."""
    from otel_bridge.scripted import demo_script, scripted_openai_llm

    script = demo_script()
    server.set_script(script.router())
    llm = scripted_openai_llm(server, include_usage=True)
    workflow = script.workflow(llm, search=search, word_count=word_count)
    return await workflow.run(user_msg=script.user_msg)


async def chain(server: Any) -> Any:
    """Three agents, two handoffs: planner -> solver (adds) -> reviewer."""
    from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent

    from otel_bridge.scripted import Reply, ToolCallSpec, Usage, scripted_openai_llm

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
    return await workflow.run(user_msg="Add 20 and 22.")


async def tool_raises(server: Any) -> Any:
    """A tool raises; the agent reads the error and answers."""
    from llama_index.core.agent.workflow import FunctionAgent

    from otel_bridge.scripted import Reply, ToolCallSpec, Usage, scripted_openai_llm

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
    return await agent.run(user_msg="Try the tool.")


SCENARIOS: dict[str, Callable[[Any], Awaitable[Any]]] = {
    f.__name__: f for f in (two_tools, handoff, chain, tool_raises)
}


def instrument(mode: str) -> tuple[Any, Any, Callable[[str], Any]]:
    """(provider, in-memory exporter, root-span factory) with ``mode``'s instrumentation on."""
    from contextlib import nullcontext

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    memory = InMemorySpanExporter()
    if mode == "genai":
        # Without it the spans hold no content; ``true`` is not a valid value (no content).
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    if mode.startswith(("openinference", "mixed")):
        from otel_bridge import Telemetry

        telemetry = Telemetry(service_name=f"instrumented-{mode}")
        provider: Any = telemetry.provider
        root: Callable[[str], Any] = telemetry.start_run
    else:
        provider, root = TracerProvider(), lambda _name: nullcontext()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if mode.startswith("genai"):
        from opentelemetry.instrumentation.genai.llama_index import LlamaIndexInstrumentor

        LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    if mode.startswith("genai") or mode == "mixed-genai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    if mode == "openllmetry":
        from opentelemetry.instrumentation.llamaindex import LlamaIndexInstrumentor as Traceloop

        Traceloop().instrument(tracer_provider=provider)
    if mode in ("openllmetry", "mixed-openllmetry"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as TraceloopOpenAI

        TraceloopOpenAI().instrument(tracer_provider=provider)
    return provider, memory, root


def truth(server: Any, answer: str | None, error: str | None) -> dict[str, Any]:
    """What the scripted server saw and sent: each exchange's system prompt, usage, call ids."""
    from otel_bridge.scripted import system_prompt

    return {
        "answer": answer,
        "error": error,
        "exchanges": [
            {
                "system": system_prompt(e.request_json),
                "usage": None
                if e.usage_sent is None
                else {
                    "prompt": e.usage_sent.prompt,
                    "completion": e.usage_sent.completion,
                    "cached": e.usage_sent.cached,
                    "reasoning": e.usage_sent.reasoning,
                },
                "tool_call_ids": list(e.tool_call_ids),
            }
            for e in server.log
        ],
    }


async def record(mode: str, out: Path) -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from otel_bridge.otlp import request_to_json
    from otel_bridge.scripted import ScriptedLLMServer

    provider, memory, root = instrument(mode)
    out.mkdir(parents=True, exist_ok=True)
    with ScriptedLLMServer() as server:
        for name, scenario in SCENARIOS.items():
            server.clear_log()
            memory.clear()
            answer = error = None
            try:
                with root(name):
                    answer = str(await scenario(server))
            except Exception as exc:  # the scenario's own failure is part of the record
                error = f"{type(exc).__name__}: {exc}"
            provider.force_flush()
            body = request_to_json(encode_spans(memory.get_finished_spans()))
            (out / f"{name}.otlp.json").write_text(json.dumps(body))
            (out / f"{name}.truth.json").write_text(json.dumps(truth(server, answer, error)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    asyncio.run(record(sys.argv[1], Path(sys.argv[2])))
