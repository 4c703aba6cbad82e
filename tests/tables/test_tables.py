"""Runs as tables: real MASEval-labelled runs -> the embedded collector -> `otel-bridge export`
-> Parquet / CSV / JSON Lines, read back by DuckDB, Polars and pandas; to_tables/to_dataframes.

Ground truth: the scripted demo run (researcher -> writer) is 4 LLM calls, 3 tool calls, 1
handoff, 10 messages and 2,363 tokens (2,240 in, 123 out, 896 cached), whatever reads it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from support.adapter_fixtures import scripted_server
from support.recorded_runs import OPEN_TRACE, Recorded, recorded

from otel_bridge import (
    ConfigError,
    RunTrace,
    to_dataframes,
    to_tables,
)
from otel_bridge.cli import main
from otel_bridge.tables import COLUMNS, PartWriter, TableWriter, write_tables

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
    totals = [t.to_dict()["cost"]["total_usd"] for t in recorded.traces]
    assert None not in totals
    assert cost == pytest.approx(sum(total or 0.0 for total in totals))
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


# ---- every column of every table, from a hand-written RunTrace JSON ---------------------------

T = "0af7651916cd43dd8448eb211c80319c"
RUN_LABELS = {"session_id": "s-1", "task_id": "t-7", "repetition": 2, "framework": "llama_index"}
USAGE = {
    "input_tokens": 300, "output_tokens": 40, "total_tokens": 340, "cached_input_tokens": 64,
    "reasoning_tokens": 7, "complete": True, "missing_calls": 0,
}  # fmt: skip
TOKENS = {
    "input_tokens": 300, "output_tokens": 40, "total_tokens": 340, "cached_input_tokens": 64,
    "reasoning_tokens": 7, "tokens_complete": True,
}  # fmt: skip
NO_TOKENS = {
    "input_tokens": None, "output_tokens": None, "total_tokens": None,
    "cached_input_tokens": None, "reasoning_tokens": None, "tokens_complete": False,
}  # fmt: skip
COST = {"total_usd": 0.5, "input_usd": 0.375, "output_usd": 0.125, "complete": True}
COST_COLUMNS = {
    "cost_usd": 0.5, "input_cost_usd": 0.375, "output_cost_usd": 0.125, "cost_complete": True,
}  # fmt: skip
RUN_JSON: dict[str, Any] = {
    "trace_id": T, "status": "error", "input": "Find it.", "output": "Found.",
    "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:10Z", "labels": RUN_LABELS,
    "agents": {
        "finder": {
            "usage": USAGE, "cost": COST, "llm_calls": 2, "tool_calls": 1,
            "duration_s": 9.5, "errors": 1,
        },
    },
    "usage": {**USAGE, "missing_calls": 1},
    "cost": COST,
    "handoffs": [
        {"from": "finder", "to": "checker", "reason": "check it", "at": "2026-01-01T00:00:04Z",
         "tool_call_id": "call_h"},
    ],
    "delegations": [
        {"from": "finder", "to": "reader", "task": "read it", "at": "2026-01-01T00:00:07Z",
         "tool_call_id": "call_d"},
    ],
    "evaluation": {"status": "completed", "passed": False, "score": 0.25,
                   "evaluators": [{"name": "exact", "passed": False}]},
    "messages": [
        {"role": "user", "content": "Find it.", "agent": "finder"},
        {"role": "assistant", "content": None, "agent": "finder",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "search", "arguments": "{}"}}]},
        {"role": "tool", "content": [{"type": "text", "text": "hit"}], "agent": "finder",
         "tool_call_id": "call_1", "name": "search"},
    ],
    "llm_calls": [
        {"span_id": "00000000000000a1", "agent": "finder", "model": "gpt-4o", "provider": "openai",
         "start": "2026-01-01T00:00:01Z", "end": "2026-01-01T00:00:03Z", "duration_s": 2.0,
         "time_to_first_token_s": 0.25, "usage": USAGE, "cost": COST,
         "finish_reason": "tool_calls", "status": "ok"},
        {"span_id": "00000000000000a2", "agent": "finder", "model": "gpt-4o", "provider": "openai",
         "start": "2026-01-01T00:00:05Z", "end": "2026-01-01T00:00:06Z", "duration_s": 1.0,
         "time_to_first_token_s": None, "usage": {**USAGE, "complete": False}, "cost": None,
         "finish_reason": None, "status": "error"},
    ],
    "tool_calls": [
        {"span_id": "00000000000000b1", "agent": "finder", "name": "search",
         "tool_call_id": "call_1", "arguments": {"q": "it"}, "output": {"hits": 1},
         "start": "2026-01-01T00:00:03Z", "end": "2026-01-01T00:00:04.5Z", "duration_s": 1.5,
         "status": "error", "error": "ValueError: no"},
    ],
    "timings": {"wall_s": 10.0, "llm_s": 3.0, "tool_s": 1.5, "other_s": 5.5,
                "per_agent_s": {"finder": 9.5}},
    "issues": ["tokens_missing"],
}  # fmt: skip


EXPECTED: dict[str, list[dict[str, Any]]] = {}
EXPECTED["runs"] = [
    {
        "trace_id": T, **RUN_LABELS, "status": "error",
        "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:10Z",
        "wall_s": 10.0, "llm_s": 3.0, "tool_s": 1.5, "other_s": 5.5,
        "input": "Find it.", "output": "Found.", "agents": '["finder"]', "agent_count": 1,
        "llm_calls": 2, "tool_calls": 1, "handoffs": 1, "delegations": 1, "messages": 3,
        "errors": 2, **TOKENS, "missing_calls": 1, **COST_COLUMNS,
        "issues": '["tokens_missing"]', "task_status": "completed", "passed": False,
        "score": 0.25, "evaluation": '[{"name": "exact", "passed": false}]',
    }
]  # fmt: skip
EXPECTED["agents"] = [
    {
        "trace_id": T, "agent": "finder", **RUN_LABELS, "llm_calls": 2, "tool_calls": 1,
        "errors": 1, "duration_s": 9.5, **TOKENS, "missing_calls": 0, **COST_COLUMNS,
    }
]  # fmt: skip
EXPECTED["llm_calls"] = [
    {
        "trace_id": T, "span_id": "00000000000000a1", "agent": "finder", **RUN_LABELS,
        "model": "gpt-4o", "provider": "openai", "start": "2026-01-01T00:00:01Z",
        "end": "2026-01-01T00:00:03Z", "duration_s": 2.0, "time_to_first_token_s": 0.25,
        **TOKENS, "finish_reason": "tool_calls", "status": "ok", **COST_COLUMNS,
    },
    {
        "trace_id": T, "span_id": "00000000000000a2", "agent": "finder", **RUN_LABELS,
        "model": "gpt-4o", "provider": "openai", "start": "2026-01-01T00:00:05Z",
        "end": "2026-01-01T00:00:06Z", "duration_s": 1.0, "time_to_first_token_s": None,
        **NO_TOKENS, "finish_reason": None, "status": "error", "cost_usd": None,
        "input_cost_usd": None, "output_cost_usd": None, "cost_complete": None,
    },
]  # fmt: skip
EXPECTED["tool_calls"] = [
    {
        "trace_id": T, "span_id": "00000000000000b1", "agent": "finder", **RUN_LABELS,
        "name": "search", "tool_call_id": "call_1", "arguments": '{"q": "it"}',
        "output": '{"hits": 1}', "start": "2026-01-01T00:00:03Z",
        "end": "2026-01-01T00:00:04.5Z", "duration_s": 1.5, "status": "error",
        "error": "ValueError: no",
    }
]  # fmt: skip
EXPECTED["messages"] = [
    {
        "trace_id": T, "position": 0, "agent": "finder", **RUN_LABELS, "role": "user",
        "content": "Find it.", "tool_call_id": None, "name": None, "tool_calls": None,
    },
    {
        "trace_id": T, "position": 1, "agent": "finder", **RUN_LABELS,
        "role": "assistant", "content": None, "tool_call_id": None, "name": None,
        "tool_calls": '[{"id": "call_1", "type": "function", '
        '"function": {"name": "search", "arguments": "{}"}}]',
    },
    {
        "trace_id": T, "position": 2, "agent": "finder", **RUN_LABELS, "role": "tool",
        "content": '[{"type": "text", "text": "hit"}]', "tool_call_id": "call_1",
        "name": "search", "tool_calls": None,
    },
]  # fmt: skip
EXPECTED["handoffs"] = [
    {
        "trace_id": T, "position": 0, **RUN_LABELS, "from_agent": "finder",
        "to_agent": "checker", "reason": "check it", "at": "2026-01-01T00:00:04Z",
        "tool_call_id": "call_h",
    }
]  # fmt: skip
EXPECTED["delegations"] = [
    {
        "trace_id": T, "position": 0, **RUN_LABELS, "from_agent": "finder",
        "to_agent": "reader", "task": "read it", "at": "2026-01-01T00:00:07Z",
        "tool_call_id": "call_d",
    }
]  # fmt: skip


def test_every_column_of_every_table_reads_its_own_value() -> None:
    assert to_tables([RUN_JSON]) == EXPECTED


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_json_lines_hold_every_value(fmt: str, tmp_path: Path) -> None:
    run = {**RUN_JSON, "output": "Trouvé, « fini »."}
    write_tables([run], tmp_path / fmt, format=fmt)  # type: ignore[arg-type]
    for table, expected in EXPECTED.items():
        expected = [
            {**row, "output": "Trouvé, « fini »."} if table == "runs" else row for row in expected
        ]
        (part,) = (tmp_path / fmt / table).glob(f"*.{fmt}")
        raw = part.read_bytes().decode("utf-8")  # UTF-8 whatever the locale
        if fmt == "jsonl":
            assert [json.loads(line) for line in raw.splitlines()] == expected
        else:  # null is an empty field, booleans are true/false
            text = {None: "", True: "true", False: "false"}
            assert list(csv.DictReader(io.StringIO(raw, newline=""))) == [
                {k: text.get(v, str(v)) if v is None or isinstance(v, bool) else str(v)
                 for k, v in row.items()}
                for row in expected
            ]  # fmt: skip
    runs = next((tmp_path / fmt / "runs").glob(f"*.{fmt}")).read_bytes()
    assert "Trouvé, « fini »".encode() in runs  # as written, not \u-escaped


def test_an_export_cannot_be_added_to_once_closed(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path / "closed", format="jsonl")
    writer.add(RUN_JSON)
    assert writer.close() == {
        "runs": 1, "agents": 1, "llm_calls": 2, "tool_calls": 1, "messages": 3, "handoffs": 1,
        "delegations": 1,
    }  # fmt: skip
    with pytest.raises(ConfigError, match="closed: this export is already closed"):
        writer.add(RUN_JSON)
    assert writer.close() == writer.rows  # closing again changes nothing


def test_a_run_without_labels_leaves_them_null_in_every_table() -> None:
    tables = to_tables([{**RUN_JSON, "labels": None}])
    for name, rows in tables.items():
        assert rows, name
        labels = {(r["session_id"], r["task_id"], r["repetition"], r["framework"]) for r in rows}
        assert labels == {(None, None, None, None)}, name


def as_read_back(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as Parquet gives them back: ISO-8601 times as UTC datetimes."""
    return [
        {
            k: datetime.fromisoformat(v.replace("Z", "+00:00"))
            if k in ("start", "end", "at") and v is not None
            else v
            for k, v in row.items()
        }
        for row in rows
    ]


def test_parquet_holds_every_value_and_appends_and_overwrites(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "parquet"
    assert write_tables([RUN_JSON], out) == {
        "runs": 1, "agents": 1, "llm_calls": 2, "tool_calls": 1, "messages": 3, "handoffs": 1,
        "delegations": 1,
    }  # fmt: skip
    for table, expected in EXPECTED.items():
        read = pq.read_table(out / table)
        assert read.column_names == [name for name, _ in COLUMNS[table]]  # type: ignore[index]
        assert read.to_pylist() == as_read_back(expected), table
    again = {**RUN_JSON, "trace_id": "1" * 32}
    write_tables([again], out, mode="append")
    assert sorted(r["trace_id"] for r in pq.read_table(out / "runs").to_pylist()) == [
        T,
        "1" * 32,
    ]
    write_tables([again], out, mode="overwrite")
    assert [r["trace_id"] for r in pq.read_table(out / "runs").to_pylist()] == ["1" * 32]
    frames = to_dataframes([RUN_JSON])
    assert frames["runs"][["tool_s", "other_s", "repetition"]].values.tolist() == [[1.5, 5.5, 2]]


def test_every_refusal_of_an_export_directory_says_why(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "cat.jpg").write_text("x")
    done = tmp_path / "done"
    write_tables([RUN_JSON], done, format="jsonl")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad-manifest").mkdir()
    (tmp_path / "bad-manifest" / "_otel_bridge.json").write_text("{")
    refusals = [
        (a_file, "parquet", "new", f"{a_file}: exists and is not a directory"),
        (tmp_path / "no" / "x", "parquet", "new", f"cannot create it, {tmp_path / 'no'} does not"),
        (done, "jsonl", "new", f"{done}: already exists; pass --append to add to it or"),
        (stranger, "csv", "overwrite", f"{stranger}: not an otel-bridge export (no _otel_bridge"),
        (stranger, "csv", "append", "refusing to append it"),
        (done, "csv", "append", f"{done}: holds jsonl tables of schema 3; cannot append csv tab"),
        (tmp_path / "bad-manifest", "csv", "append", "unreadable _otel_bridge.json"),
        (done, "xml", "new", "unknown format 'xml'; use one of parquet, csv, jsonl"),
        (done, "csv", "merge", "unknown mode 'merge'; use one of new, append, overwrite"),
    ]
    for directory, fmt, mode, says in refusals:
        with pytest.raises(ConfigError, match=re.escape(says)):
            write_tables([RUN_JSON], directory, format=fmt, mode=mode)  # type: ignore[arg-type]
    assert write_tables([RUN_JSON], tmp_path / "empty", format="csv")["runs"] == 1
    assert write_tables([RUN_JSON], done, format="jsonl", mode="append")["runs"] == 1
    assert len(list((done / "runs").glob("*.jsonl"))) == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_batches_become_row_groups_and_empty_tables_have_their_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    with pytest.raises(ConfigError, match="batch_rows must be at least 1, got 0"):
        TableWriter(tmp_path / "zero", batch_rows=0)
    with TableWriter(tmp_path / "threes", batch_rows=3) as writer:
        writer.add(RUN_JSON)  # a batch is written once it holds batch_rows rows: 3 messages
        assert writer.rows == {
            "runs": 0, "agents": 0, "llm_calls": 0, "tool_calls": 0, "messages": 3, "handoffs": 0,
            "delegations": 0,
        }  # fmt: skip
        writer.add(RUN_JSON)
    (part,) = (tmp_path / "threes" / "messages").glob("*.parquet")
    meta = pq.ParquetFile(part).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    with TableWriter(tmp_path / "ones", batch_rows=1) as writer:
        writer.add(RUN_JSON)
        assert writer.rows == {
            "runs": 1, "agents": 1, "llm_calls": 2, "tool_calls": 1, "messages": 3, "handoffs": 1,
            "delegations": 1,
        }  # fmt: skip
    frames = to_dataframes([])
    assert list(frames["runs"].columns) == RUNS_COLUMNS and len(frames["runs"]) == 0
    frames = to_dataframes([RUN_JSON])
    assert str(frames["runs"]["repetition"].dtype) == "Int64"
    assert str(frames["runs"]["tokens_complete"].dtype) == "boolean"


def test_missing_optional_packages_are_named_with_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"^to_dataframes needs pandas: pip install pandas$"):
        to_dataframes([RUN_JSON])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    says = r"^Parquet and DataFrames need pyarrow: pip install 'otel-bridge\[parquet\]'$"
    with pytest.raises(ConfigError, match=says):
        write_tables([RUN_JSON], tmp_path / "p")
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_counts_flags_and_text_of_a_smaller_run() -> None:
    run = {
        **RUN_JSON,
        "usage": None,
        "llm_calls": RUN_JSON["llm_calls"][:1],  # one call, which succeeded
        "tool_calls": [{**RUN_JSON["tool_calls"][0], "arguments": {"q": "café"}}],
    }
    tables = to_tables([run])
    (row,) = tables["runs"]
    assert (row["errors"], row["llm_calls"], row["total_tokens"], row["tokens_complete"]) == (
        1,  # the tool's error only
        1,
        None,
        False,  # no usage: unknown, not complete
    )
    assert tables["tool_calls"][0]["arguments"] == '{"q": "café"}'  # as written, not escaped


def test_writers_share_a_staging_directory_and_an_aborted_export_leaves_nothing(
    tmp_path: Path,
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    first, second = PartWriter(staging, "jsonl"), PartWriter(staging, "jsonl")
    assert (first.runs, second.runs) == (0, 0)
    first.add(RUN_JSON)
    first.add(RUN_JSON)
    second.add(RUN_JSON)
    assert (first.runs, second.runs) == (2, 1)
    assert first.close()["messages"] == 6 and second.close()["messages"] == 3
    assert len(list((staging / "messages").glob("*.jsonl"))) == 2
    with pytest.raises(RuntimeError, match="stop"), TableWriter(tmp_path / "gone") as writer:
        writer.add(RUN_JSON)
        raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staging"]  # no export, no staging
    with pytest.raises(ConfigError, match="already closed"):
        writer.add(RUN_JSON)
