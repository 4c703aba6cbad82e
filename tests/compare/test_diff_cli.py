"""``otel-bridge diff`` and ``SOURCE#TRACE_ID``: live runs in an OTLP/JSON file and an export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support import compare_pairs as pairs
from support.collector_fixtures import collector
from support.runs import traced

from otel_bridge import Telemetry
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.scripted import ScriptedLLMServer

__all__ = ["collector"]  # a fixture, imported for pytest


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
async def two_runs(
    llm: ScriptedLLMServer, telemetry: Telemetry, otlp_file: Path
) -> tuple[str, str]:
    """Two calculator runs in one OTLP/JSON file: add(2, 3), then add(2, 4)."""
    _, a = await traced(telemetry, pairs.calculator(llm, b=3))
    _, b = await traced(telemetry, pairs.calculator(llm, b=4))
    telemetry.force_flush()
    return f"{otlp_file}#{a}", f"{otlp_file}#{b}"


def error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("otel-bridge: error: ")
    return result.stderr


def test_diff_in_the_terminal_fits_80_columns(two_runs: tuple[str, str]) -> None:
    result = cli("diff", *two_runs)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "First divergence: step 1, calculator · turn 1 (changed)" in lines
    assert "  asks add with b: 3 → 4" in lines
    assert "4 aligned steps: 2 equal, 2 changed, 0 only in A, 0 only in B" in lines
    marked = [line.split()[:2] for line in lines if line.strip().startswith(("1 ", "2 "))]
    assert marked == [["1", "~"], ["2", "~"]]


def test_diff_as_json_and_as_a_page(two_runs: tuple[str, str], tmp_path: Path) -> None:
    page = tmp_path / "diff.html"
    result = cli("diff", *two_runs, "--json", "-o", str(page))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"first_divergence", "steps", "deltas"}
    assert data["a"]["trace_id"] == two_runs[0].rpartition("#")[2]
    assert data["first_divergence"]["step"] == "calculator · turn 1"
    assert [s["status"] for s in data["steps"]] == ["changed", "changed", "equal", "equal"]
    assert set(data["deltas"]) == {"run", "agents"}
    assert data["deltas"]["run"]["tool_calls"] == {"a": 1, "b": 1, "change": 0}
    assert result.stderr == f"Wrote {page}.\n"
    html = page.read_text()
    assert "asks add with b: 3 → 4" in html and "Content-Security-Policy" in html


def test_a_run_read_back_from_an_export_equals_the_run(
    two_runs: tuple[str, str], otlp_file: Path, tmp_path: Path
) -> None:
    for format in ("jsonl", "csv", "parquet"):
        out = tmp_path / format
        assert cli("export", str(otlp_file), "--format", format, "-o", str(out)).exit_code == 0
        trace_id = two_runs[0].rpartition("#")[2]
        result = cli("diff", f"{out}#{trace_id}", two_runs[0], "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["first_divergence"] is None, (format, data["first_divergence"])
        assert data["counts"]["equal"] == 4


def test_derive_and_report_take_source_hash_trace_id(
    two_runs: tuple[str, str], tmp_path: Path
) -> None:
    second = two_runs[1].rpartition("#")[2]
    derived = cli("derive", two_runs[1], "--json")
    assert derived.exit_code == 0, derived.output
    assert [json.loads(line)["trace_id"] for line in derived.stdout.splitlines()] == [second]
    page = tmp_path / "run.html"
    reported = cli("report", two_runs[1], "-o", str(page))
    assert reported.exit_code == 0, reported.output
    assert f"run {second} ok" in reported.stdout
    twice = cli("derive", two_runs[1], "--trace-id", second)
    assert "the trace id is given twice" in error_line(twice)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("{file}#{missing}", "no spans of trace {missing}"),
        ("{file}", "holds several runs: name one as {file}#TRACE_ID"),
        ("{file}#not-an-id", "after the '#' comes a trace id"),
        ("{export}#{missing}", "the export holds no run {missing}"),
        ("{export}", "holds 2 runs: name one as {export}#TRACE_ID"),
    ],
)
def test_a_reference_to_no_run_or_several_is_one_error_line(
    two_runs: tuple[str, str], otlp_file: Path, tmp_path: Path, reference: str, expected: str
) -> None:
    export = tmp_path / "export"
    assert cli("export", str(otlp_file), "--format", "jsonl", "-o", str(export)).exit_code == 0
    values: dict[str, Any] = {"file": otlp_file, "missing": "ab" * 16, "export": export}
    result = cli("diff", reference.format(**values), two_runs[0])
    assert expected.format(**values) in error_line(result)
    assert result.stdout == ""


def test_an_export_missing_a_table_is_one_error_line(
    two_runs: tuple[str, str], otlp_file: Path, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    assert cli("export", str(otlp_file), "--format", "jsonl", "-o", str(export)).exit_code == 0
    for part in (export / "tool_calls").iterdir():
        part.unlink()
    (export / "tool_calls").rmdir()
    result = cli("diff", f"{export}#{two_runs[0].rpartition('#')[2]}", two_runs[0])
    assert f"{export}: the export has no tool_calls table" in error_line(result)


async def test_runs_in_a_collector_named_by_url_hash_trace_id(
    collector: Collector,
    llm: ScriptedLLMServer,
) -> None:
    telemetry = Telemetry(otlp_endpoint=collector.http_url, service_name="diff-test")
    try:
        _, a = await traced(telemetry, pairs.calculator(llm, b=3))
        _, b = await traced(telemetry, pairs.calculator(llm, b=4))
    finally:
        telemetry.shutdown()  # every span exported
    url = collector.http_url
    result = cli("diff", f"{url}#{a}", f"{url}#{b}", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["a"]["trace_id"], data["b"]["trace_id"]) == (a, b)
    assert data["first_divergence"]["what"] == "asks add with b: 3 → 4"
    several = error_line(cli("diff", url, f"{url}#{b}"))
    assert f"{url} holds several runs: name one as {url}#TRACE_ID" in several
    missing = error_line(cli("diff", f"{url}#{'cd' * 16}", f"{url}#{b}"))
    assert "cd" * 16 in missing


def test_a_delegation_and_a_handoff_are_told_apart_on_the_diff_page(tmp_path: Path) -> None:
    """A smolagents manager calling its managed agent (recorded) against a LangGraph swarm's
    handoff (recorded): both timelines draw the passing of work, each in its own style."""
    from support.paths import DATA

    page = tmp_path / "diff.html"
    smol, swarm = DATA / "smolagents" / "managed.otlp.json", DATA / "langgraph" / "swarm.otlp.json"
    result = cli("diff", str(smol), str(swarm), "-o", str(page))
    assert result.exit_code == 0, result.output
    html = page.read_text()
    arrows = re.findall(r'<div class="arrow (?:down|up)( delegation)?"[^>]*title="(\w+)', html)
    assert arrows == [(" delegation", "delegation"), ("", "handoff")]  # A's, then B's
    legend = html.split('<div class="legend">')[1].split('<div class="zoom">')[0]
    assert '<i class="key arrow-key"></i>handoff' in legend
    assert '<i class="key arrow-key delegation"></i>delegation' in legend
    alone = tmp_path / "alone.html"
    assert cli("diff", str(swarm), str(swarm), "-o", str(alone)).exit_code == 0
    assert "arrow-key delegation" not in alone.read_text()  # no delegation: not in the legend
