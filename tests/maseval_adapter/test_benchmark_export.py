"""A whole MASEval Benchmark run as Parquet tables and an HTML report (BenchmarkExport)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import duckdb
import pytest
from support.paths import ROOT

from otel_bridge import Telemetry
from otel_bridge.maseval_adapter import BenchmarkExport

EXAMPLE = ROOT / "examples" / "maseval_benchmark.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("maseval_benchmark_export_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_benchmark_run_as_tables_and_a_report(tmp_path: Path) -> None:
    example = _example()
    export = BenchmarkExport(tmp_path / "tables", report_dir=tmp_path / "report")
    with Telemetry(service_name="benchmark-export-test") as telemetry:
        reports = example.run_benchmark(num_workers=2, telemetry=telemetry, callbacks=[export])

    assert (export.runs, export.errors) == (3, 0)
    runs = str(tmp_path / "tables" / "runs" / "*.parquet")
    rows = duckdb.execute(
        f"SELECT task_id, repetition, status, total_tokens, cached_input_tokens, handoffs "
        f"FROM read_parquet('{runs}') ORDER BY task_id"
    ).fetchall()
    # The scripted usage of task n: (300+n+20) + (380+n+25) + (450+n+30) + (500+n+22) tokens.
    assert rows == [
        ("brief-handoffs", 0, "ok", 1735, 640, 1),
        ("brief-tokens", 0, "ok", 1731, 640, 1),
        ("brief-traces", 0, "ok", 1727, 640, 1),
    ]
    by_report = {
        r["task_id"]: r["traces"]["agents"]["team"]["usage"]["total_tokens"] for r in reports
    }
    assert {task: tokens for task, _, _, tokens, _, _ in rows} == by_report
    agents = str(tmp_path / "tables" / "agents" / "*.parquet")
    per_agent = duckdb.execute(
        f"SELECT agent, count(*), sum(llm_calls) FROM read_parquet('{agents}') GROUP BY agent "
        "ORDER BY agent"
    ).fetchall()
    assert per_agent == [("researcher", 3, 6), ("writer", 3, 6)]

    pages = sorted(p.name for p in (tmp_path / "report").iterdir())
    assert len(pages) == 4 and "index.html" in pages
    index = (tmp_path / "report" / "index.html").read_text()
    assert all(task in index for task in by_report)
    json.dumps(reports, default=str)  # the reports stay as MASEval made them


def test_the_example_says_where_it_wrote_its_tables_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables, report = tmp_path / "tables", tmp_path / "report"
    assert _example().main(["--tables", str(tables), "--report", str(report)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3  # a JSON line per task, nothing else
    assert err.splitlines()[-2:] == [
        f"Tables of the 3 runs (Parquet) in {tables}/: runs, agents, llm_calls, tool_calls, "
        f"messages, handoffs (e.g. duckdb: SELECT * FROM '{tables}/runs/*.parquet')",
        f"HTML report: {report / 'index.html'} (a page per run)",
    ]
    assert (report / "index.html").is_file() and list((tables / "runs").glob("*.parquet"))


def test_export_problems_never_reach_the_benchmark(tmp_path: Path) -> None:
    example = _example()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something.txt").write_text("not an export")
    export = BenchmarkExport(taken)  # mode "new": a directory holding something else is refused
    with Telemetry(service_name="benchmark-export-test") as telemetry:
        reports = example.run_benchmark(num_workers=1, telemetry=telemetry, callbacks=[export])
    assert [r["status"] for r in reports] == ["success"] * 3
    assert export.errors == 1 and export.runs == 3
    assert sorted(p.name for p in taken.iterdir()) == ["something.txt"]
