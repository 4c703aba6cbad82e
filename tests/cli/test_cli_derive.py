"""`otel-bridge derive`: JSON Lines for one run or many, the summary, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result
from support.adapter_fixtures import scripted_server
from support.recorded_runs import OPEN_TRACE, Recorded, recorded
from support.records import TraceBuilder, assistant, user

from otel_bridge.cli import main
from otel_bridge.otlp import request_to_json, to_request

__all__ = ["recorded", "scripted_server"]  # fixtures, imported for pytest


def _file(tmp_path: Path) -> tuple[Path, list[str]]:
    traces = []
    for tid, answer in ((0x1, "first"), (0x2, "second")):
        b = TraceBuilder(trace_id=tid)
        root = b.root()
        b.llm(b.step(root, "solo", 0, 10), 1, 9, [user("q")], [assistant(answer)], usage=(7, 3))
        traces.append(b.spans)
    path = tmp_path / "run.otlp.json"
    path.write_text("\n".join(json.dumps(request_to_json(to_request(t))) for t in traces))
    return path, [f"{1:032x}", f"{2:032x}"]


def derive(*args: str) -> Result:
    return CliRunner().invoke(main, ["derive", *args])


def test_derive_json_lines_for_many_runs_and_one(tmp_path: Path) -> None:
    path, ids = _file(tmp_path)
    result = derive(str(path), "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line)["trace_id"] for line in lines] == ids  # the file's order
    assert [json.loads(line)["output"] for line in lines] == ["first", "second"]
    one = derive(str(path), "--json", "--trace-id", ids[1].upper())
    (line,) = one.stdout.splitlines()  # one run: one line too
    assert json.loads(line)["output"] == "second"


def test_derive_summary(tmp_path: Path) -> None:
    path, ids = _file(tmp_path)
    result = derive(str(path), "--messages")
    assert result.exit_code == 0
    assert ids[0] in result.output and "solo" in result.output
    assert "7 in / 3 out" in " ".join(result.output.split())


def test_your_prices_override_and_a_bad_table_is_one_line(tmp_path: Path) -> None:
    path, _ = _file(tmp_path)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"GPT-4o-mini": {"input_mtok": 1000, "output_mtok": 2000}}))
    result = derive(str(path), "--json", "--prices", str(prices))
    assert result.exit_code == 0, result.output
    costs = [json.loads(line)["cost"] for line in result.stdout.splitlines()]
    # 7 input tokens at $1,000 and 3 output tokens at $2,000 per million, each run.
    assert costs == [
        {"total_usd": 0.013, "input_usd": 0.007, "output_usd": 0.006, "complete": True,
         "unpriced_calls": 0}
    ] * 2  # fmt: skip
    prices.write_text(json.dumps({"gpt-4o-mini": {"input_mtok": "cheap"}}))
    bad = derive(str(path), "--prices", str(prices))
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and str(prices) in bad.stderr


def _one_line_error(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "otel_bridge.cli", *args], capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""
    return proc.stderr.strip()


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"not": "otlp"}')
    assert _one_line_error("derive", str(wrong)) == (
        f"otel-bridge: error: {wrong}: not OTLP/JSON traces (no 'resourceSpans' key)"
    )
    missing = tmp_path / "missing.json"
    assert _one_line_error("derive", str(missing)) == (
        f"otel-bridge: error: {missing}: no such file or directory"
    )
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert _one_line_error("derive", str(empty)) == f"otel-bridge: error: {empty}: holds no spans"
    no_spans = tmp_path / "no-spans.json"
    no_spans.write_text('{"resourceSpans": []}')
    assert _one_line_error("derive", str(no_spans)).endswith("no-spans.json: holds no spans")
    assert _one_line_error("derive", "ftp://host/run.json") == (
        "otel-bridge: error: ftp://host/run.json: unsupported scheme 'ftp'; use a file or folder "
        "path, http(s)://HOST:PORT, jaeger+http(s)://..., jaeger-legacy+http(s)://..., "
        "phoenix+http(s)://..."
    )
    path, _ = _file(tmp_path)
    assert "--messages is for the summary" in _one_line_error(
        "derive", str(path), "--json", "--messages"
    )
    assert "no spans of trace ffff" in _one_line_error("derive", str(path), "--trace-id", "f" * 32)
    assert "--trace-id names one run" in _one_line_error(
        "derive", str(path), "--trace-id", "1", "--all"
    )


def test_a_url_without_trace_id_is_asked_first() -> None:
    for command in ("derive", "report"):
        assert _one_line_error(command, "http://127.0.0.1:9") == (
            "otel-bridge: error: http://127.0.0.1:9/api/traces: cannot connect ([Errno 111] "
            "Connection refused); is it running?"
        )


def test_a_url_of_many_runs_says_how_many_and_how_to_list_them(recorded: Recorded) -> None:
    result = derive(recorded.url)
    assert result.exit_code == 2
    assert result.stderr == (
        f"otel-bridge: error: {recorded.url} holds 4 runs: pass --trace-id ID (list them "
        f"with: otel-bridge traces {recorded.url}) or --all\n"
    )


# ---- many runs from the collector ------------------------------------------------------------


def test_derive_all_from_the_collector(recorded: Recorded) -> None:
    result = derive(recorded.url, "--all", "--json")
    assert result.exit_code == 0, result.output
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    newest_first = [t.trace_id for t in reversed(recorded.traces)]
    assert [run["trace_id"] for run in runs] == newest_first
    assert [run["usage"]["total_tokens"] for run in runs] == [2363, 2363, 2363]
    assert "skipped 1 open run without a root span" in result.stderr
    every = derive(recorded.url, "--all", "--json", "--include-open")
    assert [json.loads(line)["trace_id"] for line in every.stdout.splitlines()] == [
        *newest_first,
        f"{OPEN_TRACE:032x}",  # its step is stamped in 2001
    ]
    two = derive(recorded.url, "--all", "--json", "--limit", "2")
    assert [json.loads(line)["trace_id"] for line in two.stdout.splitlines()] == newest_first[:2]
    session = derive(recorded.url, "--all", "--json", "--session", recorded.sessions[1])
    assert [json.loads(line)["trace_id"] for line in session.stdout.splitlines()] == [
        recorded.traces[1].trace_id
    ]
    none = derive(recorded.url, "--all", "--since", "2099-01-01")
    assert none.exit_code == 2
    assert none.stderr == (
        f"otel-bridge: error: {recorded.url}: no runs match --since/--until/--session\n"
    )
    one = derive(recorded.url, "--trace-id", recorded.traces[0].trace_id, "--json")
    assert json.loads(one.stdout)["usage"]["total_tokens"] == 2363


def test_a_progress_bar_on_a_terminal_only(recorded: Recorded, tmp_path: Path) -> None:
    import os
    import pty

    command = [sys.executable, "-m", "otel_bridge.cli", "derive", recorded.url, "--all", "--json"]
    piped = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 3
    assert "deriving" not in piped.stderr  # stderr is not a terminal: no bar
    main_fd, terminal = pty.openpty()
    with open(tmp_path / "out.jsonl", "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=terminal)
        os.close(terminal)
        drawn = b""
        while True:  # read as it draws: a full terminal buffer would block the command
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the command exited and closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        os.close(main_fd)
        assert proc.wait(120) == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3  # JSON Lines untouched
    assert b"deriving" in drawn and b"3/3" in drawn
