"""Runs as tables: real MASEval-labelled runs -> the embedded collector -> `otel-bridge export`
-> Parquet / CSV / JSON Lines, read back by DuckDB, Polars and pandas; to_tables/to_dataframes.

Ground truth: the scripted demo run (researcher -> writer) is 4 LLM calls, 3 tool calls, 1
handoff, 10 messages and 2,363 tokens (2,240 in, 123 out, 896 cached), whatever reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from adapter_fixtures import scripted_server
from click.testing import CliRunner
from recorded_runs import OPEN_TRACE, Recorded, recorded

from otel_bridge import (
    ConfigError,
    RunTrace,
    to_dataframes,
    to_tables,
)
from otel_bridge.cli import main
from otel_bridge.tables import COLUMNS, TableWriter, write_tables

__all__ = ["recorded", "scripted_server"]  # fixtures, imported for pytest
RUNS_COLUMNS = [
    "trace_id", "session_id", "task_id", "repetition", "framework", "status", "start", "end",
    "wall_s", "llm_s", "tool_s", "other_s", "input", "output", "agents", "agent_count",
    "llm_calls", "tool_calls", "handoffs", "delegations", "messages", "errors", "input_tokens",
    "output_tokens", "total_tokens", "cached_input_tokens", "reasoning_tokens", "tokens_complete",
    "missing_calls", "cost_usd", "input_cost_usd", "output_cost_usd", "cost_complete", "issues",
    "task_status", "passed", "score", "evaluation",
]  # fmt: skip


def export(*args: str) -> Any:
    return CliRunner().invoke(main, ["export", *args])


def sql(query: str) -> list[tuple[Any, ...]]:
    return duckdb.execute(query).fetchall()


# ---- Parquet through the CLI, read back by DuckDB ------------------------------------------------


def test_export_parquet_totals_match_the_runs(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = export(recorded.url, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 3 runs" in result.stderr
    assert "skipped 1 open run without" in result.stderr  # the open run is not half-derived
    # The RunTraces the adapter derived in memory say the same as the ground truth ...
    assert [t.usage.total_tokens for t in recorded.traces] == [2363, 2363, 2363]
    # ... and so do the tables, read back by DuckDB.
    runs = f"read_parquet('{out}/runs/*.parquet')"
    assert sql(
        f"SELECT count(*), sum(total_tokens), sum(input_tokens), sum(cached_input_tokens), "
        f"sum(llm_calls), sum(tool_calls), sum(handoffs), sum(messages) FROM {runs}"
    ) == [(3, 7089, 6720, 2688, 12, 9, 3, 30)]
    assert sql(
        f"SELECT task_id, repetition, total_tokens FROM {runs} ORDER BY task_id, repetition"
    ) == [("t1", 0, 2363), ("t1", 1, 2363), ("t2", 0, 2363)]
    assert sorted(r[0] for r in sql(f"SELECT session_id FROM {runs}")) == sorted(recorded.sessions)
    assert sorted(r[0] for r in sql(f"SELECT trace_id FROM {runs}")) == sorted(
        t.trace_id for t in recorded.traces
    )
    # Per agent and per LLM call, the totals add up to the runs'.
    assert sql(
        f"SELECT agent, count(*), sum(total_tokens), sum(llm_calls) "
        f"FROM read_parquet('{out}/agents/*.parquet') GROUP BY agent ORDER BY agent"
    ) == [("researcher", 3, 2994, 6), ("writer", 3, 4095, 6)]  # 433 + 565, 645 + 720
    assert sql(
        f"SELECT count(*), sum(total_tokens), count(DISTINCT span_id) "
        f"FROM read_parquet('{out}/llm_calls/*.parquet')"
    ) == [(12, 7089, 12)]
    assert sql(
        f"SELECT from_agent, to_agent, count(*), min(task_id) "
        f"FROM read_parquet('{out}/handoffs/*.parquet') GROUP BY ALL"
    ) == [("researcher", "writer", 3, "t1")]
    assert sql(
        f"SELECT count(*), count(DISTINCT name) FROM read_parquet('{out}/tool_calls/*.parquet')"
    ) == [(9, 3)]
    assert sql(
        f"SELECT role, count(*) FROM read_parquet('{out}/messages/*.parquet') "
        "GROUP BY role ORDER BY role"
    ) == [("assistant", 12), ("system", 6), ("tool", 9), ("user", 3)]
    # Cost: what each run's RunTrace says, summed.
    (cost,) = sql(f"SELECT sum(cost_usd) FROM {runs}")[0]
    assert cost == pytest.approx(sum(t.to_dict()["cost"]["total_usd"] for t in recorded.traces))
    assert cost > 0


def test_parts_from_several_writers_are_read_as_one(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "shared"
    for session in recorded.sessions:  # three workers, one session each
        result = export(recorded.url, "-o", str(out), "--append", "--session", session)
        assert result.exit_code == 0, result.output
    assert len(list((out / "runs").glob("*.parquet"))) == 3
    assert sql(f"SELECT count(*), sum(total_tokens) FROM read_parquet('{out}/runs/*.parquet')") == [
        (3, 7089)
    ]
    import pandas as pd
    import polars as pl

    assert pl.read_parquet(out / "llm_calls" / "*.parquet")["total_tokens"].sum() == 7089
    frame = pd.read_parquet(out / "agents")
    assert (len(frame), int(frame["total_tokens"].sum())) == (6, 7089)


def test_csv_and_json_lines_have_the_documented_columns(recorded: Recorded, tmp_path: Path) -> None:
    for fmt in ("csv", "jsonl"):
        out = tmp_path / fmt
        result = export(recorded.url, "-o", str(out), "--format", fmt, "--limit", "2")
        assert result.exit_code == 0, result.output
        (part,) = (out / "runs").glob(f"part-*.{fmt}")
        reader = "read_csv" if fmt == "csv" else "read_json"
        got = duckdb.execute(f"SELECT * FROM {reader}('{part}')")
        if fmt == "csv":
            assert [column[0] for column in got.description] == RUNS_COLUMNS
        assert sql(f"SELECT count(*), sum(total_tokens) FROM {reader}('{part}')") == [(2, 4726)]
    first = json.loads(
        (next((tmp_path / "jsonl" / "runs").glob("*.jsonl"))).read_text().split("\n")[0]
    )
    assert list(first) == RUNS_COLUMNS
    assert json.loads(first["agents"]) == ["researcher", "writer"]
    assert [name for name, _ in COLUMNS["runs"]] == RUNS_COLUMNS


def test_open_runs_are_included_on_request(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "all"
    result = export(recorded.url, "-o", str(out), "--include-open")
    assert result.exit_code == 0, result.output
    assert sql(
        f"SELECT status, issues FROM read_parquet('{out}/runs/*.parquet') "
        f"WHERE trace_id = '{OPEN_TRACE:032x}'"
    ) == [("ok", '["orphan_spans", "no_root_span", "no_llm_calls"]')]


# ---- bad input: the output directory ----------------------------------------------------------


def test_an_existing_directory_is_refused_unless_append_or_overwrite(
    recorded: Recorded, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert export(recorded.url, "-o", str(out), "--limit", "1").exit_code == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    again = export(recorded.url, "-o", str(out))
    assert again.exit_code == 2
    assert again.stderr == (
        f"otel-bridge: error: {out}: already exists; pass --append to add to it or "
        "--overwrite to replace it\n"
    )
    wrong = export(recorded.url, "-o", str(out), "--append", "--format", "csv")
    assert "cannot append csv tables" in wrong.stderr and wrong.exit_code == 2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # untouched
    replaced = export(recorded.url, "-o", str(out), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert sql(f"SELECT count(*) FROM read_parquet('{out}/runs/*.parquet')") == [(3,)]
    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "cat.jpg").write_bytes(b"meow")
    refused = export(recorded.url, "-o", str(stranger), "--overwrite")
    assert "not an otel-bridge export" in refused.stderr and refused.exit_code == 2
    assert [p.name for p in stranger.iterdir()] == ["cat.jpg"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failure_midway_leaves_nothing_behind(recorded: Recorded, tmp_path: Path) -> None:
    def runs_then_failure() -> Iterator[RunTrace]:
        yield recorded.traces[0]
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_tables(runs_then_failure(), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []  # no directory, no hidden staging left
    existing = tmp_path / "existing"
    write_tables(recorded.traces[:1], existing)
    before = sorted(p.relative_to(existing) for p in existing.rglob("*"))
    for mode in ("append", "overwrite"):
        with pytest.raises(RuntimeError, match="went away"):
            write_tables(runs_then_failure(), existing, mode=mode)
        assert sorted(p.relative_to(existing) for p in existing.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["existing"]


def test_writer_bounds_memory_with_row_groups(recorded: Recorded, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    with TableWriter(tmp_path / "small", batch_rows=4) as writer:
        for trace in recorded.traces:
            writer.add(trace)
    assert writer.rows == {
        "runs": 3, "agents": 6, "llm_calls": 12, "tool_calls": 9, "messages": 30, "handoffs": 3,
        "delegations": 0,
    }  # fmt: skip
    (part,) = (tmp_path / "small" / "messages").glob("*.parquet")
    # Written out whenever 4 rows or more wait: after each run's 10 messages.
    assert pq.ParquetFile(part).metadata.num_row_groups == 3
    assert pq.read_table(part).num_rows == 30
    with pytest.raises(ConfigError, match="unknown format 'xlsx'"):
        TableWriter(tmp_path / "x", "xlsx")  # type: ignore[arg-type]


# ---- in memory ------------------------------------------------------------------------------


def test_to_tables_and_to_dataframes(recorded: Recorded) -> None:
    tables = to_tables(recorded.traces)
    assert {name: len(rows) for name, rows in tables.items()} == {
        "runs": 3, "agents": 6, "llm_calls": 12, "tool_calls": 9, "messages": 30, "handoffs": 3,
        "delegations": 0,
    }  # fmt: skip
    first = tables["llm_calls"][0]
    assert list(first) == [name for name, _ in COLUMNS["llm_calls"]]
    assert (first["agent"], first["model"], first["tokens_complete"]) == (
        "researcher",
        "gpt-4o-mini",
        True,
    )
    # From RunTrace JSON too (e.g. `derive --json` output read back): the same rows.
    assert to_tables(t.to_dict() for t in recorded.traces) == tables
    frames = to_dataframes(recorded.traces)
    runs = frames["runs"]
    assert int(runs["total_tokens"].sum()) == 7089
    assert str(runs["start"].dtype) == "datetime64[us, UTC]"
    assert str(runs["repetition"].dtype) == "Int64"  # null-able: the labels may be missing
    assert (
        frames["handoffs"][["from_agent", "to_agent"]].values.tolist()
        == [["researcher", "writer"]] * 3
    )


def test_unknown_token_counts_stay_null(recorded: Recorded) -> None:
    data = recorded.traces[0].to_dict()
    call = data["llm_calls"][0]
    call["usage"] = {**call["usage"], "complete": False, "missing_calls": 1, "input_tokens": 0}
    row = to_tables([data])["llm_calls"][0]
    assert (row["input_tokens"], row["total_tokens"], row["tokens_complete"]) == (None, None, False)


def test_worker_processes_write_one_part_each(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "parallel"
    result = export(recorded.url, "-o", str(out), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert len(list((out / "llm_calls").glob("part-*.parquet"))) == 2
    runs = f"read_parquet('{out}/runs/*.parquet')"
    assert sql(f"SELECT count(*), sum(total_tokens), sum(llm_calls) FROM {runs}") == [(3, 7089, 12)]
    assert [p.name for p in tmp_path.iterdir()] == ["parallel"]  # no staging left behind
