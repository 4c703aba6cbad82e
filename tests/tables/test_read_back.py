"""An export read back with ``read_export``: the same rows from Parquet, CSV and JSON Lines
(types, nulls, times as ISO-8601 text), a choice of columns, and every unreadable export named.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.host_settings import ascii_locale, time_zone
from support.table_run import LABELS, RUN, T

from otel_bridge import SourceError
from otel_bridge.tables import MANIFEST, ExportFormat, is_export, read_export, write_tables

RUNS_ROW = {
    "trace_id": T, **LABELS, "status": "ok", "start": "2026-01-01T00:00:00Z",
    "end": "2026-01-01T00:00:02Z", "wall_s": 2.0, "llm_s": 1.75, "tool_s": 0.0, "other_s": 0.25,
    "input": "Où est la gare ?", "output": "À gauche, 200 m.", "agents": '["guide"]',
    "agent_count": 1, "llm_calls": 1, "tool_calls": 0, "handoffs": 0, "delegations": 0,
    "messages": 2, "errors": 0, "input_tokens": 120, "output_tokens": 9, "total_tokens": 129,
    "cached_input_tokens": 0, "reasoning_tokens": 0, "tokens_complete": True,
    "missing_calls": 0, "cost_usd": None, "input_cost_usd": None, "output_cost_usd": None,
    "cost_complete": None, "issues": "[]", "task_status": "completed", "passed": True,
    "score": 1.0, "evaluation": "[]",
}  # fmt: skip
LLM_CALL_ROW = {
    "trace_id": T, "span_id": "00000000000000c1", "agent": "guide", **LABELS,
    "model": "gpt-4o-mini", "provider": None, "start": "2026-01-01T00:00:00Z",
    "end": "2026-01-01T00:00:02Z", "duration_s": 2.0, "time_to_first_token_s": None,
    "input_tokens": None, "output_tokens": None, "total_tokens": None,
    "cached_input_tokens": None, "reasoning_tokens": None, "tokens_complete": False,
    "finish_reason": None, "status": "ok", "cost_usd": None, "input_cost_usd": None,
    "output_cost_usd": None, "cost_complete": None,
}  # fmt: skip
FORMATS: list[ExportFormat] = ["parquet", "csv", "jsonl"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_the_same_typed_rows(fmt: ExportFormat, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN, {**RUN, "trace_id": "7" * 32, "labels": None}], out, fmt)
    assert is_export(out) and not is_export(tmp_path) and not is_export(out / MANIFEST)
    tables = read_export(out)
    first, second = sorted(tables["runs"], key=lambda r: r["trace_id"] != T)
    assert first == RUNS_ROW
    for value, kind in [(first["wall_s"], float), (first["repetition"], int)]:
        assert type(value) is kind  # 2.0 stays a float, 0 an int
    assert second == {**RUNS_ROW, "trace_id": "7" * 32, **dict.fromkeys(LABELS)}
    assert LLM_CALL_ROW in tables["llm_calls"]
    assert sorted((m["position"], m["role"], m["content"]) for m in tables["messages"]) == [
        (0, "user", "Où est la gare ?"),
        (0, "user", "Où est la gare ?"),
        (1, "assistant", "À gauche, 200 m."),
        (1, "assistant", "À gauche, 200 m."),
    ]
    assert tables["handoffs"] == [] and tables["delegations"] == []
    assert list(tables) == [
        "runs", "agents", "llm_calls", "tool_calls", "messages", "handoffs", "delegations"
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_chosen_tables_and_columns_only(fmt: ExportFormat, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN], out, fmt)
    chosen = read_export(out, ["llm_calls", "runs"], ["trace_id", "start", "passed", "nothing"])
    assert list(chosen) == ["llm_calls", "runs"]
    (call,) = chosen["llm_calls"]
    (run,) = chosen["runs"]
    # a column the table lacks reads as null (as one an older export's schema lacks)
    if fmt == "csv":  # CSV gives the columns its header has
        assert call == {"trace_id": T, "start": "2026-01-01T00:00:00Z"}
        assert run == {"trace_id": T, "start": "2026-01-01T00:00:00Z", "passed": True}
    else:
        assert call == {"trace_id": T, "start": "2026-01-01T00:00:00Z", "passed": None,
                        "nothing": None}  # fmt: skip
        assert run == {"trace_id": T, "start": "2026-01-01T00:00:00Z", "passed": True,
                       "nothing": None}  # fmt: skip


def test_parquet_times_read_back_as_utc_text_to_the_microsecond(tmp_path: Path) -> None:
    out = tmp_path / "out"
    call = {**RUN["llm_calls"][0], "start": "2026-01-01T01:00:00.25+01:00"}
    write_tables([{**RUN, "llm_calls": [call]}], out)
    (row,) = read_export(out, ["llm_calls"], ["start", "end"])["llm_calls"]
    assert row == {"start": "2026-01-01T00:00:00.250000Z", "end": "2026-01-01T00:00:02Z"}


def test_every_unreadable_export_is_named_with_why(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN], out, "csv")
    with pytest.raises(SourceError, match=f"^{re.escape(str(tmp_path))}: not an otel-bridge"):
        read_export(tmp_path)
    (part,) = (out / "runs").iterdir()
    part.write_bytes(b"trace_id,wall_s\nx,not-a-number\n")
    with pytest.raises(SourceError, match=f"^{re.escape(str(part))}: unreadable csv part: "):
        read_export(out, ["runs"])
    (out / MANIFEST).write_text('{"format": "xml"}')
    with pytest.raises(SourceError, match=re.escape(f"{out}: {MANIFEST} names no known format")):
        read_export(out)
    (out / MANIFEST).write_text("[")
    with pytest.raises(SourceError, match=re.escape(f"{out}: unreadable {MANIFEST}: ")):
        read_export(out)
    (out / MANIFEST).write_text('{"format": "csv"}')
    for table in ("handoffs", "delegations"):
        for leftover in (out / table).iterdir():
            leftover.unlink()
        (out / table).rmdir()
    with pytest.raises(SourceError, match=re.escape(f"{out}: the export has no handoffs, deleg")):
        read_export(out, ["runs"])


def test_an_evaluation_whose_values_have_other_types_leaves_them_null(tmp_path: Path) -> None:
    odd = {"status": "completed", "passed": "yes", "score": "high", "evaluators": None}
    write_tables([{**RUN, "evaluation": odd}], tmp_path / "out", "jsonl")
    (row,) = read_export(tmp_path / "out", ["runs"])["runs"]
    assert (row["task_status"], row["passed"], row["score"], row["evaluation"]) == (
        "completed",
        None,
        None,
        None,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_reading_back_depends_on_neither_the_locale_nor_the_time_zone(
    fmt: ExportFormat, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    text = "Où ?\r\nÀ gauche.\n"  # Windows and Unix line ends inside one text
    messages = [{"role": "user", "content": text, "agent": "guide"}]
    write_tables([{**RUN, "messages": messages}], out, fmt)
    with ascii_locale(), time_zone("America/New_York"):
        tables = read_export(out, ["runs", "messages"])
    assert tables["runs"] == [{**RUNS_ROW, "messages": 1}]
    assert [m["content"] for m in tables["messages"]] == [text]


def test_only_the_formats_visible_part_files_are_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN], out, "csv")
    (out / "runs" / "notes.txt").write_text("not a part")
    (out / "runs" / ".part-being-written.csv").write_text("trace_id\nhidden\n")
    (out / "runs" / "part-old.jsonl").write_text('{"trace_id": "other format"}\n')
    assert [r["trace_id"] for r in read_export(out, ["runs"])["runs"]] == [T]


def test_a_manifest_that_is_not_an_object_names_no_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN], out, "jsonl")
    (out / MANIFEST).write_text('["jsonl"]')
    with pytest.raises(
        SourceError, match=re.escape(f"{out}: {MANIFEST} names no known format (None)")
    ):
        read_export(out)
