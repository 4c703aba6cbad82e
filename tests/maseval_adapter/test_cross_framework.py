"""examples/cross_framework.py: one task in four frameworks, one Benchmark, one table set.

The table per framework is checked against the scripted server's request log: the calls it
received from each framework's agents, the usage it sent back and the tool calls it scripted.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from support.paths import ROOT

from otel_bridge import Telemetry
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.tables import read_export

EXAMPLE = ROOT / "examples" / "cross_framework.py"
FRAMEWORKS = ["llama_index", "smolagents", "langgraph", "openai_agents"]
# gpt-4o-mini, USD per token: input, cached input, output (OpenAI's list prices)
PRICES = (0.15e-6, 0.075e-6, 0.6e-6)


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cross_framework_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _ground_truth(server: ScriptedLLMServer, router: Any) -> dict[str, dict[str, Any]]:
    """Per framework, from the server's log: calls, usage sent, and the scripted tool calls."""
    teams = {"LlamaIndex": "llama_index", "smolagents": "smolagents"}
    teams |= {"LangGraph": "langgraph", "OpenAI Agents SDK": "openai_agents"}
    truth: dict[str, dict[str, Any]] = {}
    for exchange in server.log:
        assert exchange.status == 200, exchange.error
        marker = router.marker_for(exchange.request_json)
        (framework,) = [f for team, f in teams.items() if f"of the {team} team" in marker]
        row = truth.setdefault(framework, Counter())
        assert exchange.usage_sent is not None and exchange.reply is not None
        row["llm_calls"] += 1
        row["input_tokens"] += exchange.usage_sent.prompt
        row["cached_input_tokens"] += exchange.usage_sent.cached or 0
        row["output_tokens"] += exchange.usage_sent.completion
        for call in exchange.reply.tool_calls:
            row[f"call:{call.name}"] += 1
    return truth


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    example = _example()
    out = tmp_path_factory.mktemp("cross") / "out"
    router = example.scripted_conversations()
    with (
        ScriptedLLMServer(example.PromptCache(router)) as server,
        Telemetry(service_name="cross-framework-test") as telemetry,
    ):
        started = time.perf_counter()
        reports, export = example.run_benchmark(
            example.Endpoint(server.base_url), out, telemetry=telemetry
        )
        elapsed = time.perf_counter() - started
        truth = _ground_truth(server, router)
    return {
        "example": example,
        "reports": reports,
        "export": export,
        "out": out,
        "truth": truth,
        "elapsed": elapsed,
    }


def test_every_framework_runs_the_task_and_passes(benchmark_run: dict[str, Any]) -> None:
    reports = benchmark_run["reports"]
    assert sorted(r["task_id"] for r in reports) == sorted(f"brief-{f}" for f in FRAMEWORKS)
    for report in reports:
        assert report["status"] == "success", report["error"]
        assert report["eval"] == [
            {"searched": True, "writer_reached": True, "words_counted": True, "answered": True}
        ]
    assert benchmark_run["export"].errors == 0
    assert benchmark_run["export"].runs == 4


def test_the_table_per_framework_is_the_servers_ground_truth(benchmark_run: dict[str, Any]) -> None:
    example, truth = benchmark_run["example"], benchmark_run["truth"]
    table = example.per_framework(benchmark_run["out"] / "tables")
    assert list(table) == FRAMEWORKS  # the runs' order, one row each
    assert sorted(truth) == sorted(FRAMEWORKS)

    # What each framework's run is, in literals: the calls the script makes it make.
    assert {f: truth[f]["llm_calls"] for f in FRAMEWORKS} == {
        "llama_index": 4,
        "smolagents": 5,  # the writer answers the researcher, who answers the user
        "langgraph": 4,
        "openai_agents": 4,
    }
    handoff_tools = {"llama_index": "handoff", "langgraph": "transfer_to_writer"}
    handoff_tools["openai_agents"] = "transfer_to_writer"
    for framework in FRAMEWORKS:
        row, sent = table[framework], truth[framework]
        for column in ("llm_calls", "input_tokens", "cached_input_tokens", "output_tokens"):
            assert row[column] == sent[column], (framework, column)
        handoffs = sent[f"call:{handoff_tools[framework]}"] if framework in handoff_tools else 0
        delegations = sent["call:writer"]  # smolagents calls its managed agent by its name
        assert (row["handoffs"], row["delegations"]) == (handoffs, delegations), framework
        tool_calls = sum(n for key, n in sent.items() if key.startswith("call:"))
        assert row["tool_calls"] == tool_calls - delegations, framework  # a delegation is not
        cost = (
            (sent["input_tokens"] - sent["cached_input_tokens"]) * PRICES[0]
            + sent["cached_input_tokens"] * PRICES[1]
            + sent["output_tokens"] * PRICES[2]
        )
        assert row["cost_usd"] == pytest.approx(cost, rel=1e-9), framework
        assert 0 < row["wall_s"] < benchmark_run["elapsed"]
    assert (table["smolagents"]["handoffs"], table["smolagents"]["delegations"]) == (0, 1)
    # smolagents' long system prompt is the only one past the 1,024 tokens prompt caching needs
    assert table["smolagents"]["cached_input_tokens"] > 0
    assert table["llama_index"]["cached_input_tokens"] == 0


def test_one_table_set_with_the_framework_column(benchmark_run: dict[str, Any]) -> None:
    tables = read_export(benchmark_run["out"] / "tables")
    assert Counter(r["framework"] for r in tables["runs"]) == Counter(FRAMEWORKS)
    truth = benchmark_run["truth"]
    calls = Counter(r["framework"] for r in tables["llm_calls"])
    assert calls == Counter({f: truth[f]["llm_calls"] for f in FRAMEWORKS})
    links = {(r["framework"], r["from_agent"], r["to_agent"]) for r in tables["handoffs"]}
    assert links == {(f, "researcher", "writer") for f in ("llama_index", "langgraph")} | {
        ("openai_agents", "researcher", "writer")
    }
    (delegation,) = tables["delegations"]
    assert (delegation["framework"], delegation["from_agent"], delegation["to_agent"]) == (
        "smolagents",
        "researcher",
        "writer",
    )
    agents = {(r["framework"], r["agent"]) for r in tables["agents"]}
    assert agents == {(f, a) for f in FRAMEWORKS for a in ("researcher", "writer")}
    for run in tables["runs"]:
        assert run["passed"] is True and run["task_id"] == f"brief-{run['framework']}"


def test_one_report_page_per_run_linked_from_the_index(benchmark_run: dict[str, Any]) -> None:
    report = benchmark_run["out"] / "report"
    pages = sorted(p.name for p in report.glob("*.html") if p.name != "index.html")
    assert len(pages) == 4
    index = (report / "index.html").read_text(encoding="utf-8")
    assert "One task, four frameworks" in index
    for page in pages:
        assert f'href="{page}"' in index


def test_the_printed_table_fits_80_columns(benchmark_run: dict[str, Any]) -> None:
    example = benchmark_run["example"]
    text = example.render(example.per_framework(benchmark_run["out"] / "tables"))
    lines = text.splitlines()
    assert lines[0].split() == [
        "framework", "LLM", "tools", "handoffs", "deleg.", "input", "cached", "output",
        "cost", "$", "wall", "s",
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == FRAMEWORKS
    assert max(len(line) for line in lines) <= 80


def test_the_command_prints_the_table_and_refuses_an_used_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": ""}
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    command = [sys.executable, str(EXAMPLE), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [*command, "--framework", "openai_agents", "--framework", "smolagents"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Per run (median of 1), from the runs table:"
    assert [line.split()[0] for line in lines[2:4]] == ["smolagents", "openai_agents"]
    assert lines[2].split()[1:5] == ["5", "4", "0", "1"]  # calls, tools, handoffs, delegations
    assert lines[3].split()[1:5] == ["4", "3", "1", "0"]
    assert max(len(line) for line in lines[:4]) <= 80  # then where the files are
    assert (tmp_path / "out" / "report" / "index.html").is_file()
    assert sorted(read_export(tmp_path / "out" / "tables", tables=["runs"])) == ["runs"]

    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 2
    assert "already holds tables or a report" in again.stderr.splitlines()[-1]


def test_any_openai_compatible_endpoint_and_model(tmp_path: Path) -> None:
    """--base-url and --model: here a scripted server of the test's own, and a model name that
    OpenAI does not list (LlamaIndex then needs its OpenAI-compatible client) and no price."""
    example = _example()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-from-env"}
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    with ScriptedLLMServer(example.PromptCache(example.scripted_conversations())) as server:
        done = subprocess.run(
            [
                sys.executable, str(EXAMPLE), "--out", str(tmp_path / "out"),
                "--base-url", server.base_url, "--model", "llama3.2",
                "--framework", "llama_index", "--framework", "langgraph",
            ],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
        log = server.log
    assert done.returncode == 0, done.stderr
    assert len(log) == 8  # 4 calls each
    assert {exchange.request_json["model"] for exchange in log} == {"llama3.2"}
    rows = done.stdout.splitlines()[2:4]
    assert [row.split()[0] for row in rows] == ["llama_index", "langgraph"]
    for row in rows:
        assert row.split()[1] == "4" and row.split()[8] == "n/a"  # no price for llama3.2
