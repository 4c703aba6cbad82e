"""Scenarios that need a process of their own, run by tests/telemetry/test_telemetry_global.py.

OpenTelemetry's global tracer provider can be set once per process, and LlamaIndex is
instrumented once per process: what happens to them is only observable in a fresh interpreter.
``python tests/support/fresh_process.py SCENARIO`` runs one scenario (a real agent against a
scripted
server on 127.0.0.1, started and stopped here) and prints what it observed as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_bridge import Telemetry
from otel_bridge.scripted import ConversationRouter, Reply, ScriptedLLMServer, scripted_openai_llm

QUESTIONS = ("first", "second", "third", "fourth", "fifth")


def router() -> ConversationRouter:
    """One answer per question: "<question> answer"."""
    return ConversationRouter({q: [Reply(content=f"{q} answer")] for q in QUESTIONS})


def ask(agent: FunctionAgent, question: str) -> str:
    """One agent run on a new event loop, outside any run scope of ours."""

    async def run() -> str:
        return str(await agent.run(user_msg=question))

    return asyncio.run(run())


def ask_in(telemetry: Telemetry, agent: FunctionAgent, question: str) -> tuple[str, str]:
    """One agent run inside ``telemetry.start_run``: the answer and the run's trace id."""

    async def run() -> str:
        return str(await agent.run(user_msg=question))

    with telemetry.start_run(f"{question}-run") as span:
        answer = asyncio.run(run())
    return answer, f"{span.get_span_context().trace_id:032x}"


def questions_seen(exporter: InMemorySpanExporter) -> list[str]:
    """The questions of the agent runs whose spans reached a user's own provider."""
    asked: set[str] = set()
    for span in exporter.get_finished_spans():
        text = str((span.attributes or {}).get("llm.input_messages.0.message.content", ""))
        asked.update(q for q in QUESTIONS if q == text)
    return sorted(asked, key=QUESTIONS.index)


def questions_captured(telemetry: Telemetry) -> list[str]:
    """The questions of the runs a Telemetry captured, in capture order."""
    return [str(trace.input) for trace in telemetry.run_traces()]


def user_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider of the user's own, recording to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def default_then_set_global(agent: FunctionAgent) -> dict[str, Any]:
    """A Telemetry made without ``set_global`` leaves the global provider as it was; one made
    with ``set_global=True`` (later, in the same process) becomes the global provider."""
    before = trace_api.get_tracer_provider()
    telemetry = Telemetry()
    answer, _ = ask_in(telemetry, agent, "first")
    with trace_api.get_tracer("user-code").start_as_current_span("user-span") as span:
        user_span_recording = span.is_recording()
    after = trace_api.get_tracer_provider()
    telemetry.shutdown()
    default = {
        "global_before": type(before).__name__,
        "global_unchanged": after is before,
        "answer": answer,
        "user_span_recording": user_span_recording,
        "captured": questions_captured(telemetry),
    }

    telemetry = Telemetry(set_global=True)
    tracer = trace_api.get_tracer("user-code")
    with tracer.start_as_current_span("user-span") as span:
        user_trace = f"{span.get_span_context().trace_id:032x}"
        answer = ask(agent, "second")  # the user's span is the parent of the agent's run
    is_global = trace_api.get_tracer_provider() is telemetry.provider
    telemetry.shutdown()
    (run,) = telemetry.run_traces()
    return {
        "default": default,
        "set_global": {
            "global_is_telemetry_provider": is_global,
            "answer": answer,
            "captured": questions_captured(telemetry),
            "run_is_in_user_trace": run.trace_id == user_trace,
            "root_span": next(s.name for s in telemetry.spans(user_trace) if s.parent_id is None),
        },
    }


class Warnings(logging.Handler):
    """Collects the messages of otel-bridge's warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def instrumented_first(agent: FunctionAgent) -> dict[str, Any]:
    """LlamaIndex instrumented on the user's global provider before any Telemetry exists, the
    way Phoenix's ``register()`` does it."""
    from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

    warnings = Warnings()
    logging.getLogger("otel_bridge").addHandler(warnings)
    provider, users = user_provider()
    trace_api.set_tracer_provider(provider)
    LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    observed: dict[str, Any] = {"before_telemetry": ask(agent, "first")}
    observed["user_saw_before"] = questions_seen(users)

    claiming = Telemetry()
    observed["in_run"] = ask_in(claiming, agent, "second")[0]
    observed["outside_run"] = ask(agent, "third")
    observed["claiming_captured"] = questions_captured(claiming)
    observed["user_saw_while_claiming"] = questions_seen(users)
    claiming.shutdown()

    scoped_only = Telemetry(claim_unscoped=False)
    observed["scoped_in_run"] = ask_in(scoped_only, agent, "fourth")[0]
    observed["scoped_outside_run"] = ask(agent, "fifth")
    observed["scoped_captured"] = questions_captured(scoped_only)
    scoped_only.shutdown()
    observed["user_saw_at_the_end"] = questions_seen(users)
    observed["global_is_users"] = trace_api.get_tracer_provider() is provider
    observed["warnings"] = [m for m in warnings.messages if "already instrumented" in m]
    return observed


SCENARIOS: dict[str, Callable[[FunctionAgent], dict[str, Any]]] = {
    "default_then_set_global": default_then_set_global,
    "instrumented_first": instrumented_first,
}


def main(name: str) -> None:
    """Run one scenario and print its observations as JSON."""
    with ScriptedLLMServer(router()) as server:
        agent = FunctionAgent(name="solo", tools=[], llm=scripted_openai_llm(server))
        observed = SCENARIOS[name](agent)
    print(json.dumps(observed))


if __name__ == "__main__":
    main(sys.argv[1])
