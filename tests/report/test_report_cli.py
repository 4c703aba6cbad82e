"""`otel-bridge report`, writing reports to disk all or nothing, and the terminal summary."""

from __future__ import annotations

import dataclasses
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from click.testing import CliRunner, Result
from rich.console import Console
from support.records import TraceBuilder, assistant, handoff_trace, user

from otel_bridge import RunTrace, derive
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.errors import ConfigError, TraceIdError
from otel_bridge.otlp import request_to_json, to_request
from otel_bridge.report import render_summary, write_report_dir, write_run_report

FIRST, SECOND = f"{0xA1:032x}", f"{0xA2:032x}"


def two_runs(tmp_path: Path) -> Path:
    """An OTLP/JSON file with a handoff run and a one-agent run."""
    handoff = handoff_trace()
    solo = TraceBuilder(trace_id=0xA2)
    root = solo.root()
    solo.llm(solo.step(root, "solo", 1, 9), 2, 8, [user("q")], [assistant("a")], usage=(7, 3))
    bodies = []
    for spans, trace_id in ((handoff.spans, 0xA1), (solo.spans, 0xA2)):
        moved = [dataclasses.replace(s, trace_id=trace_id) for s in spans]
        bodies.append(json.dumps(request_to_json(to_request(moved))))
    path = tmp_path / "runs.otlp.json"
    path.write_text("\n".join(bodies))
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args])


def test_one_run_to_a_page(tmp_path: Path) -> None:
    source = two_runs(tmp_path)
    out = tmp_path / "run.html"
    result = invoke(str(source), "--trace-id", SECOND.upper(), "-o", str(out))

    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert SECOND in page and FIRST not in page
    assert '<dd data-total="total_tokens">10</dd>' in page
    assert result.stdout.startswith(f"Wrote {out} (")
    assert f"run {SECOND} ok, 1 agent, 0 handoffs." in result.stdout
    handoff = invoke(str(source), "--trace-id", FIRST, "-o", str(tmp_path / "h.html"))
    assert f"run {FIRST} ok, 2 agents, 1 handoff." in handoff.stdout


def test_a_page_named_without_html_is_written_as_named_with_a_note(tmp_path: Path) -> None:
    """A browser decides by the suffix whether a file is a page: one without it shows as text."""
    source = two_runs(tmp_path)
    out = tmp_path / "run.report"
    result = invoke(str(source), "--trace-id", SECOND, "-o", str(out))

    assert result.exit_code == 0, result.output
    assert SECOND in out.read_text()
    assert result.stdout.splitlines()[1] == (
        "Note: run.report does not end in .html, so a browser may show it as text."
    )
    named = invoke(str(source), "--trace-id", SECOND, "-o", str(tmp_path / "run.HTML"))
    assert "Note:" not in named.stdout


def test_one_rule_for_a_page_and_a_directory_nothing_replaced_without_overwrite(
    tmp_path: Path,
) -> None:
    source = two_runs(tmp_path)
    out = tmp_path / "run.html"
    out.write_text("mine")
    refused = invoke(str(source), "--trace-id", SECOND, "-o", str(out))
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"otel-bridge: error: {out} exists; pass --overwrite to replace it, or -o another file\n"
    )
    assert out.read_text() == "mine"
    replaced = invoke(str(source), "--trace-id", SECOND, "-o", str(out), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert out.read_text().startswith("<!doctype html>")
    directory = tmp_path / "all"
    assert invoke(str(source), "--all", "-o", str(directory)).exit_code == 0
    again = invoke(str(source), "--all", "-o", str(directory))
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    written = invoke(str(source), "--all", "-o", str(directory), "--overwrite")
    assert written.stdout == f"Wrote {directory / 'index.html'} and 2 run pages in {directory}.\n"


def test_several_runs_and_no_choice_is_one_line_naming_the_ways_out(tmp_path: Path) -> None:
    source = two_runs(tmp_path)
    result = invoke(str(source), "-o", str(tmp_path / "run.html"))

    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message == (
        f"otel-bridge: error: {source} holds 2 runs: pick one with --trace-id (the first is "
        f"{FIRST}), or write them all with --all -o DIR"
    )
    assert not (tmp_path / "run.html").exists()


def test_all_runs_to_a_directory_then_refuse_then_overwrite(tmp_path: Path) -> None:
    source = two_runs(tmp_path)
    out = tmp_path / "reports" / "today"
    first = invoke(str(source), "--all", "-o", str(out))

    assert first.exit_code == 0, first.output
    written = sorted(p.name for p in out.iterdir())
    assert written == [f"{FIRST}.html", f"{SECOND}.html", "index.html"]
    assert first.stderr == ""  # no progress bar off a terminal
    index = (out / "index.html").read_text()
    assert f'href="{FIRST}.html"' in index and f'href="{SECOND}.html"' in index
    assert 'href="index.html">← all runs' in (out / f"{FIRST}.html").read_text()

    (out / "notes.txt").write_text("mine")
    again = invoke(str(source), "--all", "-o", str(out))
    assert again.exit_code == 2
    assert "exists and is not empty" in again.stderr
    assert (out / "notes.txt").read_text() == "mine"

    replaced = invoke(str(source), "--all", "-o", str(out), "--overwrite")
    assert replaced.exit_code == 0
    assert not (out / "notes.txt").exists() and (out / "index.html").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["today"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all"], "--all writes a directory: name it with -o DIR"),
        (["--all", "-o", "x", "--trace-id", FIRST], "not both"),
        (["--trace-id", "nothex"], "invalid trace id"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(str(two_runs(tmp_path)), *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_a_failure_midway_leaves_the_old_report_or_nothing(tmp_path: Path) -> None:
    good = derive(handoff_trace().spans)

    def runs(bad_id: str) -> Iterator[object]:
        yield good
        yield {**good.to_dict(), "trace_id": bad_id}

    with pytest.raises(TraceIdError):
        write_report_dir(runs("../../escape"), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []

    kept = tmp_path / "kept"
    write_report_dir([good], kept)
    before = {p.name: p.read_bytes() for p in kept.iterdir()}
    with pytest.raises(TraceIdError):
        write_report_dir(runs("zz"), kept, overwrite=True)
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


def test_a_page_is_replaced_whole_and_a_directory_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    page.write_text("old")
    write_run_report(derive(handoff_trace().spans), page)
    assert page.read_text().startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["run.html"]
    assert oct(page.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(ConfigError, match="is a directory"):
        write_run_report(derive(handoff_trace().spans), tmp_path)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# ---- the terminal summary ---------------------------------------------------------------


def _summary(traces: list[object], width: int = 80) -> str:
    out = io.StringIO()
    render_summary(traces, console=Console(file=out, width=width), messages=True)
    return out.getvalue()


def test_summary_of_run_trace_json_equals_that_of_the_run_trace() -> None:
    trace: RunTrace = derive(handoff_trace().spans)
    assert _summary([trace.to_dict()]) == _summary([trace])
    text = _summary([trace])
    assert "tokens 550 in / 52 out" in text and "researcher → writer" in text


def test_summary_shows_the_runs_task_repetition_and_session() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    assert "session" not in _summary([data])  # no labels: no line for them
    data["labels"] = {"session_id": "s-1", "task_id": "brief-tokens", "repetition": 0}
    lines = _summary([data]).splitlines()
    assert any(
        line.split("│")[1].strip() == "task brief-tokens   repetition 0   session s-1"
        for line in lines
        if "│" in line
    )


def test_summary_shows_names_as_text_and_cost_when_there_is_one() -> None:
    data = cast(dict[str, Any], derive(handoff_trace().spans).to_dict())
    data["agents"] = {"[red]boss[/red]": data["agents"]["researcher"]}
    data["cost"] = {"total_usd": 0.0123, "complete": True}
    text = _summary([data])
    assert "[red]boss[/red]" in text and "cost $0.0123" in text
    data["cost"] = {"total_usd": 0.0123, "complete": False}
    assert "cost unknown" in _summary([data])


def test_piped_summary_is_80_columns_even_from_a_wide_terminal(tmp_path: Path) -> None:
    """stdout to a pipe, stdin and stderr on a 200-column terminal: 80 columns, not 200."""
    source = two_runs(tmp_path)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "otel_bridge.cli", "derive", str(source), "--messages"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0
    assert max(len(line) for line in lines) == 80  # the panel fills the 80 columns, no more
    assert any("researcher" in line for line in lines)


def test_a_collectors_runs_are_chosen_as_derive_chooses_them(tmp_path: Path) -> None:
    source = two_runs(tmp_path)
    with Collector(tmp_path / "spans.db") as collector:
        for line in source.read_text().splitlines():
            posted = httpx.post(
                f"{collector.http_url}/v1/traces",
                content=line,
                headers={"content-type": "application/json"},
            )
            assert posted.status_code == 200
        url = collector.http_url
        no_choice = invoke(url, "-o", str(tmp_path / "run.html"))
        newest = invoke(url, "--all", "--limit", "1", "-o", str(tmp_path / "newest"))
        one = invoke(url, "--trace-id", FIRST, "-o", str(tmp_path / "first.html"))

    assert no_choice.exit_code == 2
    assert no_choice.stderr.strip() == (
        f"otel-bridge: error: {url} holds 2 runs: pass --trace-id ID (list them with: "
        f"otel-bridge traces {url}) or --all -o DIR"
    )
    assert newest.exit_code == 0, newest.output
    pages = sorted(p.name for p in (tmp_path / "newest").iterdir())
    assert len(pages) == 2 and "index.html" in pages  # one run page and the index
    assert one.exit_code == 0, one.output
    assert FIRST in (tmp_path / "first.html").read_text()


def test_summary_names_the_framework() -> None:
    data = derive(handoff_trace().spans).to_dict()
    assert any(line.split("│")[1].strip() == "framework llama_index"
               for line in _summary([data]).splitlines() if "│" in line)  # fmt: skip
