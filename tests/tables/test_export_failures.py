"""An export directory when things go wrong: a full disk, a directory that changes under the
writer, a foreign manifest, a non-UTF-8 locale; and what appending and overwriting leave beside
the export (nothing).

Every failure is one ConfigError saying why, and leaves the directory as it was: no export, no
hidden staging directory next to it.
"""

from __future__ import annotations

import json
import locale
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.disk_full import disk_full
from support.host_settings import ascii_locale
from support.table_run import RUN, T

from otel_bridge import ConfigError
from otel_bridge.cli import main
from otel_bridge.tables import (
    MANIFEST,
    ExportFormat,
    ExportTarget,
    PartWriter,
    TableWriter,
    WriteMode,
    read_export,
    write_tables,
)

FORMATS = ["parquet", "csv", "jsonl"]
ROWS = {
    "runs": 1, "agents": 1, "llm_calls": 1, "tool_calls": 0, "messages": 2, "handoffs": 0,
    "delegations": 0,
}  # fmt: skip
FULL = "cannot write the export: .*File too large"
NOBODY = 65534  # an ordinary user's id


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_disk_fails_the_export_with_its_reason_and_leaves_nothing(
    fmt: ExportFormat, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    writer = TableWriter(out, fmt)
    writer.add(RUN)
    # The export's own directory is named, not the hidden one it was staged in.
    with disk_full(), pytest.raises(ConfigError, match=f"^{re.escape(str(out))}: {FULL}"):
        writer.close()  # the buffered rows, then the files' ends, cannot be written
    assert names(tmp_path) == []  # no export, no staging directory
    assert write_tables([RUN], out, fmt) == ROWS  # once there is room again


def test_the_export_command_on_a_full_disk_names_the_directory_it_was_asked_for(
    tmp_path: Path,
) -> None:
    source = Path(__file__).parents[1] / "data" / "smolagents" / "managed.otlp.json"
    out = tmp_path / "tables"
    with disk_full():
        done = CliRunner().invoke(main, ["export", str(source), "--format", "csv", "-o", str(out)])
    assert done.exit_code == 2, done.output
    assert done.output.startswith(f"otel-bridge: error: {out}: cannot write the export: ")
    assert "File too large" in done.output
    assert names(tmp_path) == []  # no export, no staging directory


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_part_whose_files_cannot_be_finished_says_so(fmt: ExportFormat, tmp_path: Path) -> None:
    for export in (None, tmp_path / "the export"):
        part = PartWriter(tmp_path, fmt, batch_rows=1, export=export)
        part.add(RUN)  # every row written at once: only the files' ends are left
        assert part.rows == ROWS
        named = re.escape(str(export or tmp_path))
        with disk_full(), pytest.raises(ConfigError, match=f"^{named}: {FULL}"):
            part.close()
        part.abort()  # as a worker does after a failure: quiet
    missing = tmp_path / "missing"
    with pytest.raises(
        ConfigError, match=f"^{re.escape(str(missing))}: cannot write the export: .*No such file"
    ):
        PartWriter(missing, fmt)


def test_a_directory_filled_before_the_commit_is_kept_and_the_export_refused(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()  # empty: a new export may go there
    target = ExportTarget(out, "csv", "new")
    assert target.finished is False
    part = PartWriter(target.staging, "csv")
    part.add(RUN)
    assert part.close() == ROWS
    (out / "notes.txt").write_text("written by someone else meanwhile")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(out))}: cannot write the export: "):
        target.commit()
    target.abort()  # as the CLI does after any failure: nothing left to remove
    assert target.finished is True
    assert names(out) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "written by someone else meanwhile"
    assert names(tmp_path) == ["out"]  # no staging left

    done = tmp_path / "done"
    target = ExportTarget(done, "jsonl", "new")
    PartWriter(target.staging, "jsonl").close()
    target.commit()
    target.abort()  # after the commit: the export stays
    assert read_export(done)["runs"] == []
    assert names(tmp_path) == ["done", "out"]


def test_appending_to_a_new_directory_makes_a_complete_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with TableWriter(out, "jsonl", "append") as writer:
        writer.add(RUN)
        # the parts are staged inside the export (hidden), nothing appears beside it
        assert names(tmp_path) == ["out"]
        (staging,) = out.iterdir()
        assert staging.name.startswith(".out.tmp-")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == "jsonl"
    assert manifest["schema_version"] == 3
    assert manifest["tables"]["handoffs"] == [
        ["trace_id", "string"], ["position", "int64"], ["session_id", "string"],
        ["task_id", "string"], ["repetition", "int64"], ["framework", "string"],
        ["from_agent", "string"], ["to_agent", "string"], ["reason", "string"],
        ["at", "timestamp"], ["tool_call_id", "string"],
    ]  # fmt: skip
    assert list(manifest["tables"]) == [
        "runs", "agents", "llm_calls", "tool_calls", "messages", "handoffs", "delegations"
    ]  # fmt: skip
    assert write_tables([{**RUN, "trace_id": "1" * 32}], out, "jsonl", "append") == ROWS
    assert sorted(r["trace_id"] for r in read_export(out)["runs"]) == ["1" * 32, T]
    assert names(tmp_path) == ["out"]


def test_overwriting_leaves_nothing_of_the_old_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tables([RUN], out, "csv")
    write_tables([{**RUN, "trace_id": "2" * 32}], out, "csv", "overwrite")
    assert [r["trace_id"] for r in read_export(out)["runs"]] == ["2" * 32]
    assert names(tmp_path) == ["out"]  # the old export removed, not left hidden beside it


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_a_manifest_that_is_not_an_object_is_not_an_export(mode: WriteMode, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text('["parquet", 3]')
    (out / "data.csv").write_text("a,b\n")
    with pytest.raises(ConfigError, match=f"not an otel-bridge export .*refusing to {mode} it"):
        write_tables([RUN], out, "csv", mode)
    assert names(out) == [MANIFEST, "data.csv"]
    assert names(tmp_path) == ["out"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_formats_and_the_manifest_are_utf8_whatever_the_locale(
    fmt: ExportFormat, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with ascii_locale():
        assert locale.getpreferredencoding(False) != "UTF-8"  # what a bare open() would use
        write_tables([RUN], out, fmt)
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        manifest["note"] = "exporté par l'équipe"  # a person's note, in their language
        (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        assert write_tables([{**RUN, "trace_id": "3" * 32}], out, fmt, "append") == ROWS
        runs = read_export(out)["runs"]  # the parts and the manifest read as UTF-8 too
    (part, _) = sorted((out / "messages").iterdir())
    assert "À gauche, 200 m.".encode() in part.read_bytes()
    assert sorted((r["trace_id"], r["input"]) for r in runs) == [
        ("3" * 32, "Où est la gare ?"),
        (T, "Où est la gare ?"),
    ]


@pytest.mark.parametrize(
    ("table", "change", "said"),
    [
        ("llm_calls", {"model": 42}, "llm_calls.model wants text: the run {T} gives 42"),
        (
            "llm_calls",
            {"duration_s": "two seconds"},
            "llm_calls.duration_s wants a number: the run {T} gives 'two seconds'",
        ),
        (
            "llm_calls",
            {"start": "yesterday"},
            "llm_calls.start wants an ISO-8601 time: the run {T} gives 'yesterday'",
        ),
        (
            "llm_calls",
            {"usage": {"input_tokens": "many", "output_tokens": 1, "total_tokens": 1}},
            "llm_calls.input_tokens wants an integer: the run {T} gives 'many'",
        ),
        (  # a value shown up to 60 characters, longer ones cut to 57 and "..."
            "llm_calls",
            {"usage": {"input_tokens": "x" * 58, "output_tokens": 1, "total_tokens": 1}},
            "llm_calls.input_tokens wants an integer: the run {T} gives '" + "x" * 58 + "'",
        ),
        (
            "llm_calls",
            {"usage": {"input_tokens": "x" * 59, "output_tokens": 1, "total_tokens": 1}},
            "llm_calls.input_tokens wants an integer: the run {T} gives '" + "x" * 56 + "...",
        ),
        (
            "runs",
            {"labels": {**RUN["labels"], "repetition": 2**70}},
            "runs.repetition wants an integer: the run {T} gives 1180591620717411303424",
        ),
        (
            "llm_calls",
            {"model": ["gpt-4o-mini", "gpt-4o"] * 10},
            "llm_calls.model wants text: the run {T} gives ['gpt-4o-mini', 'gpt-4o', "
            "'gpt-4o-mini', 'gpt-4o', 'gpt-4...",
        ),
    ],
)
def test_parquet_refuses_a_value_of_another_type_than_its_column(
    table: str, change: dict[str, Any], said: str, tmp_path: Path
) -> None:
    """Not RunTrace JSON: one ConfigError naming the column, the run and the value (never
    converted, e.g. 42 to "42"), and nothing left behind."""
    if table == "runs":
        run = {**RUN, **change}
    else:
        run = {**RUN, "llm_calls": [{**RUN["llm_calls"][0], **change}]}
    with pytest.raises(ConfigError) as refused:
        write_tables([run], tmp_path / "out")
    assert str(refused.value) == said.format(T=T)
    assert names(tmp_path) == []


def test_an_overwrite_succeeds_when_the_old_export_cannot_be_removed_entirely() -> None:
    """A folder of the old export that its owner made read-only: the new export still takes its
    place; what could not be removed stays hidden beside it. Run as an ordinary user (root may
    remove anything), in a child process, in a directory of its own that user can reach."""
    home = Path(tempfile.mkdtemp(prefix="otel-bridge-export-"))
    try:
        home.chmod(0o777)
        out = home / "out"
        write_tables([RUN], out, "csv")  # first as this test's own user: all of it goes
        write_tables([RUN], out, "csv", "overwrite")
        assert names(home) == ["out"]
        shutil.rmtree(out)
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only if the overwrite went as it should
            status = 1
            try:
                if os.geteuid() == 0:
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                write_tables([RUN], out, "csv")
                locked = out / "runs" / "locked"
                locked.mkdir()
                (locked / "kept.txt").write_text("x")
                locked.chmod(0o555)
                rows = write_tables([{**RUN, "trace_id": "4" * 32}], out, "csv", "overwrite")
                if rows == ROWS and [r["trace_id"] for r in read_export(out)["runs"]] == ["4" * 32]:
                    status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        (old,) = [p for p in home.iterdir() if p.name != "out"]
        assert old.name.startswith(".out.old-")
        assert (old / "runs" / "locked" / "kept.txt").exists()
    finally:
        for folder in home.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(home)
