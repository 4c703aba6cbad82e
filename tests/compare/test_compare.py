"""``otel-bridge compare``: a real MASEval benchmark run twice, the second time with changes.

The benchmark is examples/maseval_benchmark.py (three tasks, researcher -> writer, scored by
its own MASEval ``Evaluator``). The second run changes two tasks in its script: in
``brief-traces`` the writer counts words once more (one LLM call and one tool call more,
``EXTRA`` tokens), in ``brief-tokens`` the writer's answer is wrong (the evaluator's
``answer_correct`` fails). Each run writes its tables with ``BenchmarkExport`` and its spans
to an OTLP/JSON file: both kinds of set are compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result
from support.compare_benchmark import EXTRA, run_benchmark

from otel_bridge import Telemetry
from otel_bridge.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both benchmark runs: A as the example is, B with the two changes."""
    a_tables, a_spans = run_benchmark(tmp_path_factory.mktemp("before"), changed=False)
    b_tables, b_spans = run_benchmark(tmp_path_factory.mktemp("after"), changed=True)
    return {"a": a_tables, "b": b_tables, "a_spans": a_spans, "b_spans": b_spans}


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_runs_table_has_maseval_s_evaluation(runs: dict[str, Path]) -> None:
    rows = duckdb.execute(
        "SELECT task_id, task_status, passed, score, evaluation "
        f"FROM read_parquet('{runs['a']}/runs/*.parquet') ORDER BY task_id"
    ).fetchall()
    checks = {"answer_correct": True, "handed_off": True, "usage_complete": True}
    assert [(t, s, p, sc, json.loads(e)) for t, s, p, sc, e in rows] == [
        ("brief-handoffs", "success", True, 1.0, [checks]),
        ("brief-tokens", "success", True, 1.0, [checks]),
        ("brief-traces", "success", True, 1.0, [checks]),
    ]
    changed = duckdb.execute(
        f"SELECT passed, score, evaluation FROM read_csv('{runs['b']}/runs/*.csv') "
        "WHERE task_id = 'brief-tokens'"
    ).fetchall()
    assert changed == [
        (False, pytest.approx(2 / 3), json.dumps([{**checks, "answer_correct": False}]))
    ]


def test_compare_two_exports(runs: dict[str, Path]) -> None:
    result = cli("compare", str(runs["a"]), str(runs["b"]), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["matched"] == 3
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert {k: (t["verdict"], t["repetition"]) for k, t in tasks.items()} == {
        "brief-handoffs": ("same", 0),
        "brief-tokens": ("worse", 0),
        "brief-traces": ("same", 0),
    }
    extra = EXTRA.prompt + EXTRA.completion
    assert {k: t["change"]["total_tokens"] for k, t in tasks.items()} == {
        "brief-handoffs": 0,
        "brief-tokens": 0,
        "brief-traces": extra,
    }
    assert {k: (t["change"]["llm_calls"], t["change"]["tool_calls"]) for k, t in tasks.items()} == {
        "brief-handoffs": (0, 0),
        "brief-tokens": (0, 0),
        "brief-traces": (1, 1),
    }
    scored = tasks["brief-tokens"]
    assert (scored["a"]["score"], scored["b"]["passed"]) == (1.0, False)
    assert scored["b"]["score"] == pytest.approx(2 / 3)
    # brief-traces of A, as the example's script says: (300+2+20) + (380+2+25) + ... tokens.
    assert tasks["brief-traces"]["a"]["total_tokens"] == 1739 - 12
    overall = data["overall"]
    assert overall["verdicts"] == {"better": 0, "worse": 1, "same": 2, "unscored": 0}
    tokens = overall["metrics"]["total_tokens"]
    assert (tokens["n"], tokens["median_change"], tokens["up"], tokens["same"]) == (3, 0, 1, 2)
    assert tokens["mean_change"] == pytest.approx(extra / 3)
    low, high = tokens["mean_change_ci"]
    assert 0 <= low <= extra / 3 <= high <= extra  # resamples of (0, 0, extra)
    score = overall["metrics"]["score"]
    assert score["mean_change"] == pytest.approx(-1 / 9)
    assert data["unmatched"] == {"only_a": [], "only_b": [], "no_task_id_a": 0, "no_task_id_b": 0}
    assert data["bootstrap"] == {"resamples": 1000, "seed": 0, "level": 0.95}
    again = json.loads(cli("compare", str(runs["a"]), str(runs["b"]), "--json").stdout)
    assert again["overall"] == overall  # a fixed seed: the same intervals every time


def test_compare_in_the_terminal_fits_80_columns(runs: dict[str, Path]) -> None:
    result = cli("compare", str(runs["a"]), str(runs["b"]))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert "By score: 0 better  1 worse  2 same  0 unscored" in lines
    assert "3 task repetition(s) in both; unmatched: 0 only in A, 0 only in B" in lines
    worse = next(line.strip() for line in lines if line.strip().startswith("brief-tokens"))
    assert worse.split()[:4] == ["brief-tokens", "0", "worse", "1→0.667"]


def test_compare_two_span_files(runs: dict[str, Path]) -> None:
    """The same runs from their spans: matched by the adapter's labels; no scores there."""
    result = cli("compare", str(runs["a_spans"]), str(runs["b_spans"]), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    from_tables = json.loads(cli("compare", str(runs["a"]), str(runs["b"]), "--json").stdout)
    assert data["matched"] == 3
    assert [t["change"]["total_tokens"] for t in data["tasks"]] == [
        t["change"]["total_tokens"] for t in from_tables["tasks"]
    ]
    assert data["overall"]["verdicts"] == {"better": 0, "worse": 0, "same": 0, "unscored": 3}


def test_compare_page_links_each_task_to_its_diff(runs: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    result = cli("compare", str(runs["a"]), str(runs["b"]), "-o", str(page))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"Wrote {page} and 3 diff page(s) in {tmp_path / 'compare-diffs'}."
    )
    html = page.read_text()
    pages = sorted(p.name for p in (tmp_path / "compare-diffs").iterdir())
    assert pages == [
        "0001-brief-handoffs-r0.html",
        "0002-brief-tokens-r0.html",
        "0003-brief-traces-r0.html",
    ]
    assert all(f'href="compare-diffs/{name}"' in html for name in pages)
    inserted = (tmp_path / "compare-diffs" / pages[2]).read_text()
    assert "only in B: gpt-4o-mini: asks word_count(" in inserted
    wrong = (tmp_path / "compare-diffs" / pages[1]).read_text()
    assert "<ins>nothing to say.</ins>" in wrong


def test_bad_sets_are_one_error_line(
    runs: dict[str, Path], tmp_path: Path, llm: Any, telemetry: Telemetry, otlp_file: Path
) -> None:
    import asyncio

    from support import compare_pairs
    from support.runs import traced

    asyncio.run(traced(telemetry, compare_pairs.calculator(llm)))
    telemetry.force_flush()
    unlabelled = tmp_path / "unlabelled"
    assert cli("export", str(otlp_file), "--format", "jsonl", "-o", str(unlabelled)).exit_code == 0
    broken = tmp_path / "broken"
    assert cli("export", str(otlp_file), "--format", "jsonl", "-o", str(broken)).exit_code == 0
    for part in (broken / "handoffs").iterdir():
        part.unlink()
    (broken / "handoffs").rmdir()
    cases = {
        (str(runs["a"]), str(unlabelled)): "the two sets have no task in common (A: 3 run(s), "
        "3 with a task id; B: 1 run(s), 0 with a task id)",
        (str(runs["a"]), str(broken)): f"{broken}: the export has no handoffs table",
        (str(runs["a"]), str(tmp_path)): f"{tmp_path}: a directory, but not an otel-bridge export",
        (str(runs["a"]), str(tmp_path / "nowhere.json")): str(tmp_path / "nowhere.json"),
    }
    for (a, b), expected in cases.items():
        result = cli("compare", a, b)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
        assert result.stdout == ""


def test_an_export_from_before_the_evaluation_columns_compares_unscored(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    import pyarrow.parquet as pq

    old = tmp_path / "old"
    shutil.copytree(runs["a"], old)
    for part in (old / "runs").iterdir():
        table = pq.read_table(part)
        pq.write_table(table.drop(["task_status", "passed", "score", "evaluation"]), part)
    result = cli("compare", str(old), str(runs["b"]), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["matched"] == 3
    assert data["overall"]["verdicts"] == {"better": 0, "worse": 0, "same": 0, "unscored": 3}
    assert [t["change"]["total_tokens"] for t in data["tasks"]] == [0, 0, 480]
