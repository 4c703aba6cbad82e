"""Where the commands write: missing parent directories of an output are created (documented)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from support.collector_fixtures import ready_block

from otel_bridge.cli import main


def test_the_help_says_parent_directories_are_created() -> None:
    demo = CliRunner().invoke(main, ["demo", "--help"], env={"COLUMNS": "200"})
    serve = CliRunner().invoke(main, ["collector", "serve", "--help"], env={"COLUMNS": "200"})
    assert "missing parent directories are created" in " ".join(demo.output.split())
    assert "missing parent directories are created" in " ".join(serve.output.split())


def test_collector_serve_creates_the_databases_directories(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "spans.db"
    serve = [sys.executable, "-m", "otel_bridge.cli", "collector", "serve", "--db", str(db)]
    process = subprocess.Popen(
        [*serve, "--http-port", "0", "--grpc-port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        said = ready_block(process.stderr)
        assert said["ready"] == "otel-bridge collector ready (no token)", said
        assert said["database"] == str(db)
        assert said["Web UI"] == f"{said['OTLP/HTTP, query API']}/"
        assert db.exists()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_demo_writes_its_spans_into_a_new_directory(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "today" / "run.otlp.json"
    done = subprocess.run(
        [sys.executable, "-m", "otel_bridge.cli", "demo", "--offline", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 0
