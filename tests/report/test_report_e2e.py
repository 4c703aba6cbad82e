"""Real runs as HTML reports, opened in the system's headless Chromium.

Real LlamaIndex agents under real OpenInference instrumentation talk to the scripted
OpenAI-compatible server; each run is derived, rendered, and opened by playwright-core
(``tests/browser``) in ``/usr/bin/chromium``, never a downloaded browser. The checks read the
DOM: a lane per agent, an edge per handoff, the token totals of the scripted usage, no console
error, no request, and a ``<script>`` in a tool output shown as text, not run. Screenshots are
kept in ``$OTEL_BRIDGE_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from support import scenarios
from support.paths import BROWSER, DATA, ROOT
from support.runs import traced_run

from otel_bridge import RunTrace, Telemetry
from otel_bridge.report import run_html, write_report_dir
from otel_bridge.scripted import (
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    scripted_openai_llm,
)
from otel_bridge.spans import iso_ns

DRIVER_DIR = BROWSER
CHROMIUM = "/usr/bin/chromium"
PAYLOAD = '<script>window.__pwned = true</script><img src="x" onerror="window.__pwned = true">'

Inspect = Callable[..., dict[str, Any]]


# ---- the runs ---------------------------------------------------------------------------


def render_snippet(topic: str) -> str:
    """Return an HTML snippet about a topic."""
    return f"{PAYLOAD} about {topic}"


async def demo_run(llm: ScriptedLLMServer, telemetry: Telemetry) -> RunTrace:
    """The demo's researcher -> writer run."""
    _, trace = await traced_run(telemetry, scenarios.handoff(llm))
    return trace


async def chain_run(llm: ScriptedLLMServer, telemetry: Telemetry) -> RunTrace:
    """planner -> solver (adds) -> reviewer: two handoffs."""
    _, trace = await traced_run(telemetry, scenarios.chain(llm))
    return trace


async def tool_error_run(llm: ScriptedLLMServer, telemetry: Telemetry) -> RunTrace:
    """One agent: a tool returns HTML with a script in it, another tool raises."""
    llm.set_script(
        [
            Reply(
                tool_calls=[
                    ToolCallSpec("render_snippet", {"topic": "tracing"}),
                    ToolCallSpec("explode", {"reason": "bad input"}),
                ],
                usage=Usage(50, 5, cached=16, reasoning=3),
            ),
            Reply(content="One tool failed.", usage=Usage(80, 6)),
        ]
    )
    agent = FunctionAgent(
        name="fragile",
        tools=[render_snippet, scenarios.explode],
        llm=scripted_openai_llm(llm, include_usage=True),
    )
    _, trace = await traced_run(telemetry, lambda: agent.run(user_msg="Try the tools."))
    return trace


# ---- the browser ------------------------------------------------------------------------


def _browser_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (DRIVER_DIR / "node_modules" / "playwright-core").is_dir():
        return (
            "playwright-core is not installed: "
            "cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci"
        )
    return None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept after the run."""
    path = Path(os.environ.get("OTEL_BRIDGE_ARTIFACTS", ROOT / "build" / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def inspect() -> Inspect:
    """Open a page in headless Chromium and return what the driver saw (JSON)."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs the browser and the driver: missing is a CI bug
        pytest.skip(missing)

    driver = str(DRIVER_DIR / "inspect_report.mjs")

    def run(mode: str, page: Path, screenshot: Path, size: str = "1280x900", **env: str) -> Any:
        done = subprocess.run(
            ["node", driver, mode, str(page), str(screenshot), size],
            capture_output=True,
            text=True,
            timeout=180,  # a hang guard, not a speed test
            env={**os.environ, **env},
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def _clean(seen: dict[str, Any]) -> None:
    assert seen["consoleErrors"] == [] and seen["pageErrors"] == []
    assert seen["requests"] == []


# ---- tests ------------------------------------------------------------------------------


LABELS = {"session_id": "brief-session-7", "task_id": "brief-tokens", "repetition": 2}


def _lead_pct(data: Mapping[str, Any]) -> float:
    """How far into the run (%) its first call starts, from the RunTrace's own times."""
    start, end = iso_ns(data["start"]), iso_ns(data["end"])
    calls = [*data["llm_calls"], *data["tool_calls"]]
    first = min(iso_ns(call["start"]) for call in calls)
    return (first - start) * 100 / (end - start)


@pytest.mark.browser
@pytest.mark.parametrize("size", ["1280x900", "800x900"])
async def test_demo_run_in_chromium(
    llm: ScriptedLLMServer,
    telemetry: Telemetry,
    tmp_path: Path,
    inspect: Inspect,
    artifacts: Path,
    size: str,
) -> None:
    trace = await demo_run(llm, telemetry)
    data = {**trace.to_dict(), "labels": LABELS}
    page = tmp_path / "demo.html"
    page.write_text(run_html(data), encoding="utf-8")
    seen = inspect("run", page, artifacts / f"report-demo-{size}.png", size)

    _clean(seen)
    # the labels people group runs by, in the header
    assert seen["labels"] == {
        "task": "brief-tokens",
        "repetition": "2",
        "session": "brief-session-7",
    }
    layout = seen["layout"]
    assert layout["narrowestBar"] >= 5  # the shortest call is still there to click
    assert layout["badgesOnBars"] == 0 and layout["marksOnBars"] == 0
    # nothing scrolls sideways at 800 px: the agent table shows its cost column
    assert layout["tablesScrollSideways"] == 0 and layout["pageScrollsSideways"] is False
    assert layout["lastAgentColumn"] == "cost" and layout["lastAgentColumnVisible"] is True
    # every legend item points at something on the timeline (this run has no error)
    found = {what: item["shown"] for what, item in seen["legend"].items()}
    lead = _lead_pct(data) >= 3
    assert found == {
        **{"llm": 4, "tool": 2, "handoff": 1, "error": 0, "ttft": 4, "arrow": 1},
        **({"lead": 1} if lead else {}),
    }
    if lead:  # the stretch before the first call says what it is, in the legend at least
        assert seen["leadKey"].endswith(" before the first LLM call")
    assert seen["status"] == "ok" and seen["output"] == trace.output
    assert seen["lanes"] == ["researcher", "writer"]
    assert seen["nodes"] == ["researcher", "writer"]
    assert seen["edges"] == ["1. researcher → writer: The research notes are ready."]
    [arrow] = seen["arrows"]
    assert arrow.startswith("handoff 1: researcher → writer at ")
    assert seen["totals"]["input_tokens"] == "2,240"
    assert seen["totals"]["cached_input_tokens"] == "896"
    assert seen["totals"]["output_tokens"] == "123"
    assert seen["totals"]["total_tokens"] == "2,363"
    assert [row[:8] for row in seen["agentRows"]] == [
        ["researcher", "2", "2", "950", "384", "48", "0", "998"],
        ["writer", "2", "1", "1,290", "512", "75", "0", "1,365"],
    ]
    assert seen["bars"] == {"llm": 4, "tool": 2, "handoff": 1, "error": 0, "ttft": 4}
    assert [(m["agent"], m["role"]) for m in seen["messages"]][-4:] == [
        ("writer", "system"),
        ("writer", "assistant"),
        ("writer", "tool"),
        ("writer", "assistant"),
    ]
    assert seen["clicked"]["tool"] == "search" and seen["clicked"]["agent"] == "researcher"
    assert seen["zoomedWidthRatio"] == pytest.approx(2, rel=0.02)


@pytest.mark.browser
async def test_the_demo_page_explains_the_wait_before_the_first_call(
    llm: ScriptedLLMServer, tmp_path: Path, inspect: Inspect, artifacts: Path
) -> None:
    """The demo's own run: a quarter of a second or so passes before its first LLM call."""
    from otel_bridge.cli._demo import DemoOptions, run_demo

    result = await asyncio.to_thread(run_demo, DemoOptions(out=tmp_path / "run.otlp.json"))
    assert result.trace is not None
    data = result.trace.to_dict()
    page = tmp_path / "demo.html"
    page.write_text(run_html(data), encoding="utf-8")
    for size in ("1280x900", "800x900"):
        seen = inspect("run", page, artifacts / f"report-cli-demo-{size}.png", size)
        _clean(seen)
        assert seen["labels"] == {
            "session": data["labels"]["session_id"],
            "framework": "llama_index",
        }
        if _lead_pct(data) >= 3:
            assert seen["leadKey"].endswith(" before the first LLM call")
            if _lead_pct(data) >= 15:  # and inside itself when it is wide enough
                assert seen["lead"] == seen["leadKey"]
            assert seen["legend"]["lead"]["shown"] == 1
        assert seen["layout"]["badgesOnBars"] == seen["layout"]["marksOnBars"] == 0
        assert seen["layout"]["narrowestBar"] >= 5
        assert seen["layout"]["pageScrollsSideways"] is False


@pytest.mark.browser
async def test_three_agent_chain_in_chromium(
    llm: ScriptedLLMServer, telemetry: Telemetry, tmp_path: Path, inspect: Inspect, artifacts: Path
) -> None:
    trace = await chain_run(llm, telemetry)
    page = tmp_path / "chain.html"
    page.write_text(run_html(trace), encoding="utf-8")
    seen = inspect("run", page, artifacts / "report-chain.png")

    _clean(seen)
    assert seen["lanes"] == ["planner", "solver", "reviewer"]
    assert seen["layout"]["badgesOnBars"] == seen["layout"]["marksOnBars"] == 0
    assert seen["edges"] == ["1. planner → solver: plan ready", "2. solver → reviewer: solved"]
    assert [a.split(" at ")[0] for a in seen["arrows"]] == [
        "handoff 1: planner → solver",
        "handoff 2: solver → reviewer",
    ]
    assert seen["totals"]["input_tokens"] == "1,000"
    assert seen["totals"]["output_tokens"] == "100"
    assert seen["totals"]["total_tokens"] == "1,100"
    assert {row[0]: (row[3], row[5]) for row in seen["agentRows"]} == {
        "planner": ("100", "10"),
        "solver": ("500", "50"),
        "reviewer": ("400", "40"),
    }


@pytest.mark.browser
@pytest.mark.parametrize("size", ["1280x900", "800x900"])
def test_a_smolagents_managed_agent_is_a_delegation_arrow_in_chromium(
    tmp_path: Path, inspect: Inspect, artifacts: Path, size: str
) -> None:
    """A real smolagents run (recorded by support/record_smolagents.py: a manager that calls
    its managed researcher), written by ``otel-bridge report`` as a person would."""
    from click.testing import CliRunner

    from otel_bridge.cli import main

    page = tmp_path / "managed.html"
    wrote = CliRunner().invoke(
        main, ["report", str(DATA / "smolagents" / "managed.otlp.json"), "-o", str(page)]
    )
    assert wrote.exit_code == 0, wrote.output
    assert wrote.stdout.endswith(" ok, 2 agents, 0 handoffs, 1 delegation.\n")
    seen = inspect("run", page, artifacts / f"report-smolagents-managed-{size}.png", size)

    _clean(seen)
    assert seen["lanes"] == ["manager", "researcher"]
    assert seen["arrows"] == []  # no handoff: control came back to the manager
    [arrow] = seen["delegationArrows"]
    assert (arrow["mark"], arrow["down"], arrow["style"]) == ("D1", True, "dashed")
    assert arrow["title"].startswith("delegation D1: manager → researcher at ")
    assert "(control returns to manager): find facts about otel" in arrow["title"]
    at = arrow["title"].split(" at ")[1].split(" ")[0]
    [listed] = seen["delegationList"]
    assert listed.startswith(f"D1 manager delegated to researcher at {at} (control returns")
    legend = {what: item["shown"] for what, item in seen["legend"].items()}
    assert (legend["delegation"], legend["arrow"]) == (1, 0)  # each finds its own kind only
    layout = seen["layout"]
    assert layout["badgesOnBars"] == 0 and layout["pageScrollsSideways"] is False


@pytest.mark.browser
async def test_tool_error_and_a_script_in_a_tool_output(
    llm: ScriptedLLMServer, telemetry: Telemetry, tmp_path: Path, inspect: Inspect, artifacts: Path
) -> None:
    trace = await tool_error_run(llm, telemetry)
    page = tmp_path / "tool-error.html"
    page.write_text(run_html(trace), encoding="utf-8")
    seen = inspect("run", page, artifacts / "report-tool-error.png")

    _clean(seen)  # the <img src="x"> was not loaded
    assert seen["pwned"] is False and seen["scriptsInBody"] == 0
    results = [m["text"] for m in seen["messages"] if m["role"] == "tool"]
    assert any(f"{PAYLOAD} about tracing" in text for text in results)  # shown as text
    assert any("tool exploded: bad input" in text for text in results)
    assert seen["bars"]["error"] == 1 and seen["lanes"] == ["fragile"]
    assert "tool exploded: bad input" in seen["clicked"]["error"]
    assert seen["clicked"]["status"] == "error"
    assert seen["totals"]["cached_input_tokens"] == "16"
    assert seen["totals"]["reasoning_tokens"] == "3"
    assert seen["totals"]["total_tokens"] == "141"
    assert seen["edges"] == [] and seen["arrows"] == []


@pytest.mark.browser
async def test_index_of_runs_sorts_and_filters_in_chromium(
    llm: ScriptedLLMServer, telemetry: Telemetry, tmp_path: Path, inspect: Inspect, artifacts: Path
) -> None:
    traces = [
        await demo_run(llm, telemetry),
        await chain_run(llm, telemetry),
        await tool_error_run(llm, telemetry),
    ]
    labelled = [
        {**t.to_dict(), "labels": {"session_id": "s1", "task_id": task, "repetition": rep}}
        for t, (task, rep) in zip(traces, [("sum", 0), ("brief", 0), ("sum", 1)], strict=True)
    ]
    out = write_report_dir(reversed(labelled), tmp_path / "reports")  # given oldest last
    shot = artifacts / "report-index.png"
    seen = inspect("index", out / "index.html", shot, REPORT_FILTER="planner")

    _clean(seen)
    newest_first = [f"{t.trace_id}.html" for t in reversed(traces)]
    assert [r["href"] for r in seen["rows"]] == newest_first
    assert [r["labels"] for r in seen["rows"]] == [
        {"task": "sum", "repetition": "1", "session": "s1"},
        {"task": "brief", "repetition": "0", "session": "s1"},
        {"task": "sum", "repetition": "0", "session": "s1"},
    ]
    # a filter per label that tells runs apart (one session: no filter for it)
    assert seen["byLabel"] == {
        "task": {"values": ["brief", "sum"], "first": [traces[1].trace_id]},
        "repetition": {"values": ["0", "1"], "first": [traces[1].trace_id, traces[0].trace_id]},
    }
    narrow = inspect("index", out / "index.html", artifacts / "report-index-800.png", "800x900")
    assert narrow["layout"] == {"pageScrollsSideways": False, "tableScrollsSideways": False}
    assert seen["layout"] == narrow["layout"]
    assert all((out / r["href"]).is_file() for r in seen["rows"])
    assert [r["trace"] for r in seen["filtered"]] == [traces[1].trace_id]
    assert seen["errorsOnly"] == []  # a failing tool does not fail the run
    assert seen["byTokensAscending"] == [141, 1100, 2363]
    assert seen["byTokensDescending"] == [2363, 1100, 141]
