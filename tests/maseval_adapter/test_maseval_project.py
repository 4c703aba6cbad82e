"""MASEval runs go to a Phoenix project named after the benchmark, unless the environment names one.

``LlamaIndexAgentAdapter(..., project=...)`` without a Telemetry uses the process-wide Telemetry
of that project (``project_telemetry``), configured by OTEL_* and overridden by
``OTEL_BRIDGE_PROJECT`` / ``PHOENIX_PROJECT_NAME``. The example benchmark passes its class name;
its runs, exported to a real Phoenix, land in that project and nowhere else.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from openinference.semconv.resource import ResourceAttributes
from support.adapter_fixtures import calc_agent, calc_replies, scripted_server
from support.paths import ROOT
from support.phoenix_server import PhoenixServer

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.errors import ConfigError
from otel_bridge.maseval_adapter import (
    LlamaIndexAgentAdapter,
    default_telemetry,
    project_name,
    project_telemetry,
)
from otel_bridge.scripted import ConversationRouter, ScriptedLLMServer

__all__ = ["scripted_server"]  # the fixture, imported for pytest

EXAMPLE = ROOT / "examples" / "maseval_benchmark.py"
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
    "OTEL_BRIDGE_PROJECT",
    "PHOENIX_PROJECT_NAME",
    "OTEL_BRIDGE_OTLP_JSON_FILE",
    "OTEL_BRIDGE_SEMCONV",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No OTEL_* / project variable from the machine's environment."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


class Stub:
    """An object with a workflow's ``run`` (never run here)."""

    def run(self, **kwargs: Any) -> None:
        raise NotImplementedError


def test_adapters_of_one_project_share_its_telemetry(clean_env: pytest.MonkeyPatch) -> None:
    first = LlamaIndexAgentAdapter(Stub(), "a", project="ProjectBenchOne")
    second = LlamaIndexAgentAdapter(Stub(), "b", project="ProjectBenchOne")
    other = LlamaIndexAgentAdapter(Stub(), "c", project="ProjectBenchTwo")
    plain = LlamaIndexAgentAdapter(Stub(), "d")
    assert first.telemetry is second.telemetry is project_telemetry("ProjectBenchOne")
    assert other.telemetry is not first.telemetry
    assert plain.telemetry is default_telemetry()
    assert first.telemetry.config.project_name == "ProjectBenchOne"
    assert other.telemetry.config.project_name == "ProjectBenchTwo"
    assert plain.telemetry.config.project_name is None
    resource = first.telemetry.config.resource()
    assert resource[ResourceAttributes.PROJECT_NAME] == "ProjectBenchOne"
    assert first.gather_config()["telemetry"]["project_name"] == "ProjectBenchOne"
    assert first.telemetry.config.otlp_endpoint is None  # no OTEL_* set: in memory only


def test_a_telemetry_given_keeps_its_own_project(clean_env: pytest.MonkeyPatch) -> None:
    with Telemetry(project_name="mine", claim_unscoped=False) as telemetry:
        adapter = LlamaIndexAgentAdapter(Stub(), "a", telemetry, project="ProjectBenchOne")
        assert adapter.telemetry is telemetry
        assert adapter.gather_config()["telemetry"]["project_name"] == "mine"


@pytest.mark.parametrize("variable", ["OTEL_BRIDGE_PROJECT", "PHOENIX_PROJECT_NAME"])
def test_the_environment_overrides_the_project(
    clean_env: pytest.MonkeyPatch, variable: str
) -> None:
    clean_env.setenv(variable, f"chosen-by-{variable.lower()}")
    adapter = LlamaIndexAgentAdapter(Stub(), "a", project="ProjectBenchThree")
    assert project_name("ProjectBenchThree") == f"chosen-by-{variable.lower()}"
    assert adapter.telemetry.config.project_name == f"chosen-by-{variable.lower()}"
    assert adapter.telemetry is project_telemetry("AnyOtherBench")  # one Telemetry: one project


def test_an_empty_project_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as error:
        LlamaIndexAgentAdapter(Stub(), "a", project="")
    assert str(error.value) == "project: a Phoenix project name must not be empty"


def test_a_shut_down_project_telemetry_is_made_again(
    clean_env: pytest.MonkeyPatch, scripted_server: ScriptedLLMServer
) -> None:
    scripted_server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    adapter = LlamaIndexAgentAdapter(calc_agent(scripted_server), "calc", project="ProjectBenchRe")
    assert adapter.run("What is 2 + 3?") == "The sum is 5."
    first = adapter.telemetry
    first.shutdown()
    adapter.reset_conversation()
    assert adapter.run("What is 2 + 3?") == "The sum is 5."
    assert adapter.telemetry is not first
    assert adapter.telemetry is project_telemetry("ProjectBenchRe")
    assert adapter.telemetry.config.project_name == "ProjectBenchRe"
    run = adapter.last_run
    assert run is not None and len(run.tool_calls) == 1
    assert first.spans(run.trace_id) == [] == adapter.telemetry.spans(run.trace_id)  # kept none


# ---- a real Phoenix ------------------------------------------------------------------------------


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("maseval_benchmark_project", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project_exists(phoenix: PhoenixServer, project: str) -> bool:
    answer = httpx.get(f"{phoenix.http_endpoint}/v1/projects/{project}", timeout=10)
    return answer.status_code == 200


@pytest.mark.phoenix
def test_the_example_benchmark_lands_in_its_phoenix_project(
    clean_env: pytest.MonkeyPatch, phoenix: PhoenixServer
) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix.http_endpoint)
    benchmark = example()
    reports = benchmark.run_benchmark(num_workers=2)  # no Telemetry: the project's
    project = "ResearchBriefBenchmark"
    assert project_telemetry(project).config.project_name == project

    for n, task_id in enumerate(benchmark.TOPICS):
        (report,) = [r for r in reports if r["task_id"] == task_id]
        assert report["status"] == "success", report["error"]
        team = report["traces"]["agents"]["team"]
        (trace_id,) = team["trace_ids"]
        phoenix.fetch_spans(trace_id, project=project, min_spans=32)  # the run's every span
        spans = load_spans(f"phoenix+{phoenix.http_endpoint}/{project}", trace_id)
        assert len(spans) == 32
        assert {s.resource[ResourceAttributes.PROJECT_NAME] for s in spans} == {project}
        run = derive(spans)
        assert run.trace_id == trace_id
        assert [(h.from_agent, h.to_agent) for h in run.handoffs] == [("researcher", "writer")]
        # The usage the scripted LLM reported for this task, read back from Phoenix.
        assert run.agents["researcher"].usage.total_tokens == (300 + n + 20) + (380 + n + 25)
        assert run.agents["writer"].usage.total_tokens == (450 + n + 30) + (500 + n + 22)
        default = httpx.get(
            f"{phoenix.http_endpoint}/v1/projects/default/spans",
            params={"trace_id": trace_id},
            timeout=10,
        )
        assert default.status_code in (200, 404)
        assert default.status_code == 404 or default.json()["data"] == []


@pytest.mark.phoenix
def test_the_environment_sends_a_benchmark_to_another_project(
    clean_env: pytest.MonkeyPatch, phoenix: PhoenixServer, scripted_server: ScriptedLLMServer
) -> None:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix.http_endpoint)
    clean_env.setenv("OTEL_BRIDGE_PROJECT", "maseval-project-override")
    scripted_server.set_script(ConversationRouter({"What is": calc_replies(4, 5)}))
    adapter = LlamaIndexAgentAdapter(calc_agent(scripted_server), "calc", project="OverriddenBench")
    try:
        assert adapter.run("What is 4 + 5?") == "The sum is 9."
    finally:
        adapter.telemetry.shutdown()  # sends what waits in the batch
    run = adapter.last_run
    assert run is not None
    phoenix.fetch_spans(run.trace_id, project="maseval-project-override", min_spans=5)
    assert not project_exists(phoenix, "OverriddenBench")
