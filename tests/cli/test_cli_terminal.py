"""What the terminal shows a person at 80 columns: errors, help, the demo's next steps, runs."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openinference.semconv.trace import SpanAttributes
from rich.console import Console
from support.records import handoff_trace

from otel_bridge.cli import main
from otel_bridge.cli._demo_next import Backend, Hint, hints_for, print_hints
from otel_bridge.cli._export import _lines
from otel_bridge.otlp import request_to_json, to_request

TRACE_ID = "ad2cf4c6b6dcffe601d0f4e84de4b3b0"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "80"})


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["export", "run.otlp.json", "--format", "xml", "-o", "out"],
            "otel-bridge: error: invalid value for '--format': 'xml' is not one of 'parquet', "
            "'csv', 'jsonl' (see: otel-bridge export --help)",
        ),
        (
            ["derive"],
            "otel-bridge: error: missing argument 'SOURCE' (see: otel-bridge derive --help)",
        ),
        (
            ["traces", "x", "--colour"],
            "otel-bridge: error: no such option '--colour' (see: otel-bridge traces --help)",
        ),
        (["nope"], "otel-bridge: error: no such command 'nope' (see: otel-bridge --help)"),
        (
            ["collector", "serve", "--http-port", "http"],
            "otel-bridge: error: invalid value for '--http-port': 'http' is not a valid integer "
            "(see: otel-bridge collector serve --help)",
        ),
    ],
)
def test_a_usage_error_is_one_line_like_every_other_error(args: list[str], line: str) -> None:
    result = run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")


def test_the_commands_are_described_by_whole_sentences() -> None:
    result = run("--help")
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:\n")[1]
    assert "..." not in commands
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    # each description ends its sentence before the next command starts
    entries = re.split(r"\n  (?=\S)", "\n" + commands.rstrip())[1:]
    assert [entry.split()[0] for entry in entries] == [
        *("collector", "compare", "demo", "derive", "diff", "export", "report", "schema"),
        *("traces", "ui"),
    ]
    assert all(entry.rstrip().endswith(".") for entry in entries)


def test_defaults_and_env_vars_stay_on_one_line() -> None:
    serve = run("collector", "serve", "--help").stdout
    assert "[default: otel-bridge-spans.db]" in serve
    assert "[env var: OTEL_BRIDGE_COLLECTOR_TOKEN]" in serve
    assert max(len(line) for line in serve.splitlines()) <= 80
    export = run("export", "--help").stdout
    assert re.search(r"--format \[parquet\|csv\|jsonl\]\s+File format of the tables", export)
    for command in (
        ["derive"],
        ["traces"],
        ["export"],
        ["report"],
        ["demo"],
        ["collector", "serve"],
    ):
        text = run(*command, "--help").stdout
        assert max(len(line) for line in text.splitlines()) <= 80, command
        assert not [line for line in text.splitlines() if line.endswith("-")], (
            command
        )  # no "non-⏎empty"


def _printed(hints: list[Hint], width: int = 80) -> list[str]:
    out = io.StringIO()
    print_hints(Console(file=out, width=width, color_system=None), hints)
    return out.getvalue().splitlines()


def test_next_steps_fit_80_columns_with_their_comments_in_one_column() -> None:
    hints = [
        Hint("otel-bridge report run.otlp.json", "run.html, a page of the run"),
        Hint("otel-bridge derive run.otlp.json --messages", "summary and conversation"),
        *hints_for([Backend("collector", "http://127.0.0.1:4318")], TRACE_ID, "demo"),
    ]
    lines = _printed(hints)
    assert lines == [
        "  otel-bridge report run.otlp.json              # run.html, a page of the run",
        "  otel-bridge derive run.otlp.json --messages   # summary and conversation",
        "  otel-bridge traces http://127.0.0.1:4318      # the runs the collector holds",
        "  # this run, from the collector",
        "  otel-bridge derive http://127.0.0.1:4318 \\",
        f"      --trace-id {TRACE_ID}",
    ]


def test_every_backends_hints_fit_80_columns() -> None:
    backends = [
        Backend("phoenix", "http://127.0.0.1:6006", "UHJvamVjdDox", at_endpoint=False),
        Backend("jaeger", "http://127.0.0.1:16686", at_endpoint=False),
    ]
    for found in (backends, []):
        lines = _printed(hints_for(found, TRACE_ID, "otel-bridge-demo"))
        assert max(len(line) for line in lines) <= 80
        assert not any(line.endswith(" ") for line in lines)
        pasted = " ".join(lines).replace(" \\      ", " ")
        assert pasted.count(f"--trace-id {TRACE_ID}") == 2


def test_an_exports_row_counts_wrap_between_tables_within_80_columns() -> None:
    counts = [
        "runs 10,000,000",
        "agents 20,000,000",
        "llm_calls 170,000,000",
        "tool_calls 160,000,000",
        "messages 437,890,123",
        "handoffs 1,234,567",
        "delegations 0",
    ]
    lines = _lines(counts).splitlines()
    assert len(lines) == 3 and max(map(len, lines)) <= 80
    assert all(line.startswith("  ") for line in lines)
    pieces = [p for line in lines for p in line.strip().removesuffix(",").split(", ")]
    assert pieces == counts  # every count whole on its line, in order


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    source = tmp_path / "run.otlp.json"
    source.write_text(json.dumps(request_to_json(to_request(handoff_trace().spans))))
    exported = run("export", str(source), "--format", "jsonl", "-o", str(tmp_path / "tables"))
    assert exported.exit_code == 0, exported.output
    assert exported.stderr.startswith(f"otel-bridge: exported 1 run to {tmp_path / 'tables'} ")
    counts = [line for line in exported.stderr.splitlines() if line.startswith("  ")]
    assert counts[0].startswith("  runs 1, agents 2, ") and max(map(len, counts)) <= 80
    page = run("report", str(source), "-o", str(tmp_path / "run.html"))
    assert page.stdout.endswith(" ok, 2 agents, 1 handoff.\n")
    listed = run("traces", str(source), "--limit", "1")
    assert listed.stderr == "otel-bridge: the newest run; --limit 0 lists them all\n"


def test_traces_shows_each_runs_session_to_the_second_within_80_columns(tmp_path: Path) -> None:
    spans = handoff_trace().spans
    session = {SpanAttributes.SESSION_ID: "brief-session-2026-12-06-a", "maseval.task.id": "t7"}
    labelled = [
        dataclasses.replace(s, attributes={**s.attributes, **session}) if s.parent_id is None else s
        for s in spans
    ]
    source = tmp_path / "run.otlp.json"
    source.write_text(json.dumps(request_to_json(to_request(labelled))))
    result = run("traces", str(source))
    assert result.exit_code == 0, result.output
    header, first, second, third = result.stdout.splitlines()
    assert header.startswith("trace id / session, task ")
    assert re.match(r"[0-9a-f]{32} \d\d-\d\d \d\d:\d\d:\d\d ok +researcher +602 ", first)
    assert second.split() == ["brief-session-2026-12-06-a", "writer"]
    assert third.split() == ["task", "t7"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
