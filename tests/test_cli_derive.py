"""`otel-bridge derive FILE`: JSON, one trace, summary, and clear errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from records import TraceBuilder, assistant, user

from otel_bridge.cli import main
from otel_bridge.otlp import request_to_json, to_request


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


def test_derive_json_all_and_one(tmp_path: Path) -> None:
    path, ids = _file(tmp_path)
    result = CliRunner().invoke(main, ["derive", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [t["trace_id"] for t in data] == ids
    assert [t["output"] for t in data] == ["first", "second"]
    one = CliRunner().invoke(main, ["derive", str(path), "--json", "--trace-id", ids[1].upper()])
    assert json.loads(one.output)["output"] == "second"


def test_derive_summary(tmp_path: Path) -> None:
    path, ids = _file(tmp_path)
    result = CliRunner().invoke(main, ["derive", str(path), "--messages"])
    assert result.exit_code == 0
    assert ids[0] in result.output and "solo" in result.output and "7 in / 3 out" in result.output


def test_bad_input_exit_code_2_and_one_line(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"not": "otlp"}')
    for args in (["derive", str(wrong)], ["derive", str(tmp_path / "missing.json")]):
        proc = subprocess.run(
            [sys.executable, "-m", "otel_bridge.cli", *args], capture_output=True, text=True
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith("otel-bridge: error:")
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    path, _ = _file(tmp_path)
    missing = CliRunner().invoke(main, ["derive", str(path), "--trace-id", "f" * 32])
    assert missing.exit_code == 2
