"""The web UI over an export directory (`otel-bridge ui EXPORT`): the runs its tables hold,
their reports, a diff between them; no spans (an export keeps runs, not spans)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner
from support.records import handoff_trace

from otel_bridge import derive
from otel_bridge.cli import main
from otel_bridge.tables import write_tables
from otel_bridge.ui import ExportReader, SourceUI

UNKNOWN = "f" * 32


def export_two_runs(directory: Path) -> tuple[str, str]:
    """Two derived runs (the second an hour later, in another session) written as tables."""
    first = derive(handoff_trace().spans)
    later = handoff_trace()
    moved = [
        dataclasses.replace(s, trace_id=0xB0B, start_ns=s.start_ns + 3600 * 10**9,
                            end_ns=s.end_ns + 3600 * 10**9)
        for s in later.spans
    ]  # fmt: skip
    second = derive(moved)
    write_tables([first, second], directory)
    return first.trace_id, second.trace_id


def test_the_ui_over_an_export(tmp_path: Path) -> None:
    first, second = export_two_runs(tmp_path / "export")
    reader = ExportReader(tmp_path / "export")
    assert reader.check() == 2
    with (
        SourceUI(None, reader=reader) as served,
        httpx.Client(base_url=served.url, timeout=30) as api,
    ):
        listed = api.get("/api/traces").json()["traces"]
        assert [t["trace_id"] for t in listed] == [second, first]  # newest first
        top = listed[0]
        assert top["run"]["agents"] == ["researcher", "writer"]
        assert top["run"]["total_tokens"] == derive(handoff_trace().spans).usage.total_tokens
        assert top["root_name"] == "Brief me."  # the run's input: an export has no root span name
        assert api.get("/api/traces", params={"agent": "writer"}).json()["traces"]
        assert api.get("/api/traces", params={"agent": "nobody"}).json()["traces"] == []

        run = api.get(f"/api/traces/{first}/run").json()
        assert run["trace_id"] == first and [h["to"] for h in run["handoffs"]] == ["writer"]
        report = api.get(f"/api/traces/{first}/report")
        assert report.status_code == 200 and "researcher" in report.text
        diff = api.get("/api/diff", params={"a": first, "b": second}).json()
        assert {s["status"] for s in diff["steps"]} == {"equal"}  # the same run, an hour apart
        spans = api.get(f"/api/traces/{first}/spans")
        assert spans.status_code == 404
        assert spans.json()["error"].endswith(f"keeps the run of trace {first}, not its spans")
        assert api.get(f"/api/traces/{UNKNOWN}").status_code == 404
        assert api.get(f"/runs/{first}").status_code == 200  # the page, its report in a frame


def test_a_directory_that_is_not_an_export_is_one_line(tmp_path: Path) -> None:
    export_two_runs(tmp_path / "export")
    (tmp_path / "export" / "runs").rename(tmp_path / "export" / "gone")
    result = CliRunner().invoke(main, ["ui", str(tmp_path / "export"), "--port", "0"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "otel-bridge: error:" in result.output


def test_otel_bridge_ui_serves_an_export(tmp_path: Path) -> None:
    """The command as a person runs it: its start line names the export and the URL."""
    first, _ = export_two_runs(tmp_path / "export")
    process = subprocess.Popen(
        [sys.executable, "-m", "otel_bridge.cli", "ui", str(tmp_path / "export"), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        ready = process.stderr.readline()
        assert ready == f"otel-bridge ui ready: 2 run(s) of the export {tmp_path / 'export'}\n"
        url = process.stderr.readline().split()[2].rstrip("/")
        listed = httpx.get(f"{url}/api/traces", timeout=30).json()["traces"]
        assert first in {t["trace_id"] for t in listed}
        assert json.loads(httpx.get(f"{url}/api/traces/{first}/run", timeout=30).text)
    finally:
        process.terminate()
        process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
