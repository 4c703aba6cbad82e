"""Telemetry and the rest of the process: the global tracer provider, LlamaIndex instrumented by
someone else first, ``activate()``, and ``Telemetry.from_env()`` exporting a real run.

What touches process-wide state (the global provider is set once per process, LlamaIndex is
instrumented once) runs in a fresh interpreter: ``tests/support/fresh_process.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from openinference.semconv.resource import ResourceAttributes
from opentelemetry import trace as trace_api
from support.paths import SUPPORT

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.collector import Collector
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    Usage,
    scripted_openai_llm,
)

FRESH_PROCESS = SUPPORT / "fresh_process.py"
OTEL_ENV = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_BRIDGE_PROJECT",
    "PHOENIX_PROJECT_NAME",
    "OTEL_BRIDGE_OTLP_JSON_FILE",
)


def in_fresh_process(scenario: str) -> dict[str, Any]:
    """Run a scenario of tests/support/fresh_process.py in a new interpreter; what it observed."""
    env = {k: v for k, v in os.environ.items() if k not in OTEL_ENV}
    done = subprocess.run(
        [sys.executable, str(FRESH_PROCESS), scenario],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,  # a hang guard: the scenario takes a few seconds
    )
    assert done.returncode == 0, done.stderr
    observed: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return observed


# ---- the global tracer provider ------------------------------------------------------------


@pytest.fixture(scope="module")
def default_then_set_global() -> dict[str, Any]:
    """A default Telemetry, then one with ``set_global=True``, in one fresh process."""
    return in_fresh_process("default_then_set_global")


def test_the_global_provider_is_left_alone_by_default(
    default_then_set_global: dict[str, Any],
) -> None:
    assert default_then_set_global["default"] == {
        "global_before": "ProxyTracerProvider",
        "global_unchanged": True,
        "answer": "first answer",
        "user_span_recording": False,  # the user's own tracer still has no provider
        "captured": ["first"],
    }


def test_a_telemetry_in_this_process_does_not_replace_the_global_provider() -> None:
    before = trace_api.get_tracer_provider()
    with Telemetry() as telemetry:
        with telemetry.start_run("a run"):
            pass
        assert trace_api.get_tracer_provider() is before
        assert trace_api.get_tracer_provider() is not telemetry.provider


def test_set_global_makes_the_telemetrys_provider_the_global_one(
    default_then_set_global: dict[str, Any],
) -> None:
    assert default_then_set_global["set_global"] == {
        "global_is_telemetry_provider": True,
        "answer": "second answer",
        "captured": ["second"],
        "run_is_in_user_trace": True,  # an agent run inside the user's own span joins it
        "root_span": "user-span",
    }


def test_llamaindex_instrumented_by_someone_else_first() -> None:
    """As after Phoenix's ``register()``: the user's global provider is instrumented first.

    Runs in a Telemetry's ``start_run`` reach that Telemetry (and not the user's provider);
    runs outside any scope go to the most recently opened Telemetry that claims them (the
    default), else to the global provider, as before.
    """
    observed = in_fresh_process("instrumented_first")
    assert observed == {
        "before_telemetry": "first answer",
        "user_saw_before": ["first"],
        "in_run": "second answer",
        "outside_run": "third answer",
        "claiming_captured": ["second", "third"],
        "user_saw_while_claiming": ["first"],
        "scoped_in_run": "fourth answer",
        "scoped_outside_run": "fifth answer",
        "scoped_captured": ["fourth"],
        "user_saw_at_the_end": ["first", "fifth"],
        "global_is_users": True,
        "warnings": [
            "otel-bridge: LlamaIndex was already instrumented; re-instrumenting so that each "
            "Telemetry receives its runs (runs outside any Telemetry still go to the global "
            "tracer provider)."
        ],
    }


# ---- activate() ----------------------------------------------------------------------------


def solo_agent(llm: ScriptedLLMServer) -> FunctionAgent:
    """One agent that answers "<marker> answer" to a question holding a marker."""
    llm.set_script(
        ConversationRouter({m: [Reply(content=f"{m} answer")] for m in ("A:", "B:", "C:")})
    )
    return FunctionAgent(name="solo", tools=[], llm=scripted_openai_llm(llm))


def inputs(telemetry: Telemetry) -> list[str | None]:
    """The question of every run a Telemetry captured."""
    return [trace.input for trace in telemetry.run_traces()]


async def test_activate_sends_runs_of_this_task_only_to_that_telemetry(
    llm: ScriptedLLMServer,
) -> None:
    agent = solo_agent(llm)
    chosen = Telemetry(claim_unscoped=False)
    claiming = Telemetry()  # opened last: it would take every unscoped run
    try:

        async def activated() -> str:
            with chosen.activate() as active:
                assert active is chosen
                return str(await agent.run(user_msg="A: in the activated task"))

        async def plain() -> str:
            return str(await agent.run(user_msg="B: in a task of its own"))

        answers = await asyncio.gather(activated(), plain())
        assert answers == ["A: answer", "B: answer"]
        assert inputs(chosen) == ["A: in the activated task"]
        assert inputs(claiming) == ["B: in a task of its own"]
    finally:
        chosen.shutdown()
        claiming.shutdown()


def test_activate_is_per_thread(llm: ScriptedLLMServer) -> None:
    agent = solo_agent(llm)
    chosen = Telemetry(claim_unscoped=False)
    claiming = Telemetry()
    answers: list[str] = []

    def ask(question: str) -> None:
        async def run() -> str:
            return str(await agent.run(user_msg=question))

        answers.append(asyncio.run(run()))

    try:
        with chosen.activate():
            ask("A: on the activating thread")
            other = threading.Thread(target=ask, args=("C: on another thread",))
            other.start()
            other.join(60)
        assert not other.is_alive()
        assert answers == ["A: answer", "C: answer"]
        assert inputs(chosen) == ["A: on the activating thread"]
        assert inputs(claiming) == ["C: on another thread"]
    finally:
        chosen.shutdown()
        claiming.shutdown()


# ---- Telemetry.from_env(): a run exported where the environment says ------------------------


@pytest.fixture
def collector(tmp_path: Path) -> Any:
    """The embedded collector on 127.0.0.1 (free ports), requiring a bearer token."""
    with Collector(tmp_path / "spans.db", token="s3cret") as running:
        yield running


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No OTEL_* variable of the machine leaks into the test."""
    for name in OTEL_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
async def test_from_env_exports_a_run_to_the_endpoint_the_environment_names(
    llm: ScriptedLLMServer, collector: Collector, clean_env: pytest.MonkeyPatch, protocol: str
) -> None:
    endpoint = collector.http_url if protocol == "http/protobuf" else collector.grpc_endpoint
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret")
    clean_env.setenv("OTEL_SERVICE_NAME", "env-agents")
    clean_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,team=evals")
    clean_env.setenv("OTEL_BRIDGE_PROJECT", "env-project")
    llm.set_script([Reply(content="Configured by the environment.", usage=Usage(42, 5))])
    agent = FunctionAgent(name="envoy", tools=[], llm=scripted_openai_llm(llm, include_usage=True))

    telemetry = Telemetry.from_env()
    try:
        with telemetry.start_run("env-run") as span:
            answer = await agent.run(user_msg="Where do my spans go?")
    finally:
        telemetry.shutdown()  # flushes the export
    trace_id = f"{span.get_span_context().trace_id:032x}"

    assert str(answer) == "Configured by the environment."
    assert telemetry.export_errors() == {}
    spans = load_spans(collector.http_url, trace_id, token="s3cret")
    assert len(spans) == len(telemetry.spans(trace_id))
    run = derive(spans)
    assert (run.input, run.output) == ("Where do my spans go?", "Configured by the environment.")
    assert (run.usage.input_tokens, run.usage.output_tokens, run.usage.complete) == (42, 5, True)
    assert list(run.agents) == ["envoy"]
    resources = {
        (
            s.resource["service.name"],
            s.resource["deployment.environment"],
            s.resource["team"],
            s.resource[ResourceAttributes.PROJECT_NAME],
        )
        for s in spans
    }
    assert resources == {("env-agents", "ci", "evals", "env-project")}


async def test_from_env_without_the_token_the_collector_wants_reports_the_export_failed(
    llm: ScriptedLLMServer, collector: Collector, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_url)
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20wrong")
    llm.set_script([Reply(content="Nobody heard.", usage=Usage(10, 2))])
    agent = FunctionAgent(name="envoy", tools=[], llm=scripted_openai_llm(llm, include_usage=True))

    telemetry = Telemetry.from_env()
    try:
        with telemetry.start_run("env-run") as span:
            answer = await agent.run(user_msg="Anyone there?")
    finally:
        telemetry.shutdown()
    trace_id = f"{span.get_span_context().trace_id:032x}"

    assert str(answer) == "Nobody heard."
    assert list(telemetry.export_errors()) == [f"{collector.http_url}/v1/traces (OTLP/HTTP)"]
    run = telemetry.run_trace(trace_id)
    assert run.output == "Nobody heard." and run.issues == ["export_failed"]
