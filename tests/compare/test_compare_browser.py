"""The diff and compare pages of real runs, opened in the system's headless Chromium.

The pages are made from live runs of the scripted server (a tool whose output carries a
``<script>``) and from a MASEval benchmark run twice (tests/support/compare_benchmark.py). The
driver
(``tests/browser/inspect_compare.mjs``, playwright-core on ``/usr/bin/chromium``) reads the DOM:
nothing is requested, no console error, the script in the data never runs, the step filter,
the details of a click, the verdict filter and the sort work. Screenshots at 1280 and 800 px
are kept in ``$OTEL_BRIDGE_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from llama_index.core.agent.workflow import FunctionAgent
from support.compare_benchmark import run_benchmark
from support.paths import BROWSER, ROOT
from support.runs import traced_run

from otel_bridge import Telemetry, diff_runs
from otel_bridge.cli import main
from otel_bridge.scripted import Reply, ScriptedLLMServer, ToolCallSpec, Usage, scripted_openai_llm

DRIVER = BROWSER / "inspect_compare.mjs"
CHROMIUM = "/usr/bin/chromium"
PAYLOAD = '<script>window.__pwned = true</script><img src="x" onerror="window.__pwned = true">'

Inspect = Callable[..., dict[str, Any]]


def render_snippet(topic: str) -> str:
    """Return an HTML snippet about a topic."""
    return f"{PAYLOAD} about {topic}"


@pytest.fixture(scope="module")
def inspect() -> Inspect:
    """Open a page in headless Chromium and return what the driver saw (JSON)."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed (apt-get install nodejs npm)"
    elif not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    elif not (DRIVER.parent / "node_modules" / "playwright-core").is_dir():
        missing = "playwright-core is not installed: cd tests/browser && npm ci"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs the browser and the driver: missing is a CI bug
        pytest.skip(missing)
    artifacts = Path(os.environ.get("OTEL_BRIDGE_ARTIFACTS", ROOT / "build" / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)

    def run(mode: str, page: Path, **env: str) -> Any:
        seen = None
        for size in ("800x900", "1280x900"):  # the wide one last: its result is returned
            done = subprocess.run(
                [
                    "node",
                    str(DRIVER),
                    mode,
                    str(page),
                    str(artifacts / f"{page.stem}-{size}.png"),
                    size,
                ],
                capture_output=True,
                text=True,
                timeout=180,  # a hang guard, not a speed test
                env={**os.environ, **env},
            )
            assert done.returncode == 0, done.stderr
            seen = json.loads(done.stdout)
            assert (seen["consoleErrors"], seen["pageErrors"], seen["requests"]) == ([], [], [])
            assert seen["pwned"] is False
        return seen

    return run


async def test_diff_page_in_chromium(
    llm: ScriptedLLMServer, telemetry: Telemetry, inspect: Inspect, tmp_path: Path
) -> None:
    def run(topic: str) -> Any:
        llm.set_script(
            [
                Reply(
                    tool_calls=[ToolCallSpec("render_snippet", {"topic": topic})],
                    usage=Usage(50, 5),
                ),
                Reply(content=f"Done: {PAYLOAD}", usage=Usage(80, 6)),
            ]
        )
        agent = FunctionAgent(
            name="<b>writer</b>",
            tools=[render_snippet],
            llm=scripted_openai_llm(llm, include_usage=True),
        )
        return lambda: agent.run(user_msg="Write about it.")

    _, a = await traced_run(telemetry, run("tracing"))
    _, b = await traced_run(telemetry, run("metrics"))
    page = tmp_path / "diff-in-chromium.html"
    page.write_text(diff_runs(a, b).to_html(), encoding="utf-8")

    seen = inspect("diff", page)
    assert seen["lanes"] == ["A <b>writer</b>", "B <b>writer</b>"]
    assert seen["bars"] == 6  # per run: two LLM calls, one tool call
    assert seen["scriptsInMain"] == 0
    assert seen["steps"] == ["changed", "changed", "equal", "equal"]
    assert seen["onlyDiffering"] == ["changed", "changed"]
    assert seen["firstDivergence"] == (
        "First divergence: step 1, <b>writer</b> · turn 1 (changed) "
        "asks render_snippet with topic: tracing → metrics"
    )
    tool_step = seen["stepTexts"][1]
    assert PAYLOAD in tool_step[1] and "about metrics" in tool_step[2]  # shown as text
    assert seen["answers"] == [f"Done: {PAYLOAD}", f"Done: {PAYLOAD}"]
    assert seen["clicked"]["run"] == "B"
    assert seen["clicked"]["tool"] == "render_snippet"
    assert seen["clicked"]["output"] == f"{PAYLOAD} about metrics"


def test_compare_page_in_chromium(inspect: Inspect, tmp_path: Path) -> None:
    a, _ = run_benchmark(tmp_path / "before", changed=False)
    b, _ = run_benchmark(tmp_path / "after", changed=True)
    page = tmp_path / "compare-in-chromium.html"
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "-o", str(page)])
    assert result.exit_code == 0, result.output

    seen = inspect("compare", page, COMPARE_FILTER="traces")
    assert [(r["task"], r["verdict"], r["tokens"]) for r in seen["rows"]] == [
        ("brief-handoffs", "same", "0"),
        ("brief-tokens", "worse", "0"),
        ("brief-traces", "same", "480"),
    ]
    assert [r["task"] for r in seen["worseOnly"]] == ["brief-tokens"]
    assert [r["task"] for r in seen["filtered"]] == ["brief-traces"]
    assert seen["byTokenChangeAscending"][-1] == "brief-traces"
    assert seen["overall"][:2] == ["score", "total tokens"]
    # Each task's link opens the diff of its two runs: a page that works as well.
    link = tmp_path / seen["rows"][2]["href"]
    diff = inspect("diff", link)
    assert diff["firstDivergence"].startswith(
        "First divergence: step 8, writer · turn 2 (only in B)"
    )
