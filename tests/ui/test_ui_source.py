"""``otel-bridge ui SOURCE``: the web UI and its query API, read-only, over a span source; and
the start lines of ``ui`` and ``collector serve``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.collector_fixtures import start_collector
from support.ui_fixtures import EventReader, provider, send_run, ui_collector

from otel_bridge import Telemetry
from otel_bridge.sources import open_source
from otel_bridge.ui import SourceUI

UNKNOWN = "0af7651916cd43dd8448eb211c80319c"


def write_runs(path: Path) -> list[str]:
    """Three small runs (two of session s-1) written by Telemetry's OTLP/JSON file exporter."""
    telemetry = Telemetry(otlp_json_file=path, service_name="from-file")
    ids = []
    for name, session in (("turn-1", "s-1"), ("turn-2", "s-1"), ("other", "s-2")):
        with (
            telemetry.start_run(name, {"session.id": session}) as root,
            telemetry.tracer.start_as_current_span("step"),
        ):
            pass
        ids.append(f"{root.get_span_context().trace_id:032x}")
    telemetry.shutdown()
    return ids


def test_the_ui_over_a_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.otlp.json"
    first, second, other = write_runs(path)
    with (
        SourceUI(open_source(path)) as served,
        httpx.Client(base_url=served.url, timeout=30) as api,
    ):
        listed = api.get("/api/traces").json()
        assert [t["root_name"] for t in listed["traces"]] == ["other", "turn-2", "turn-1"]
        assert listed["next_cursor"] is None
        top = listed["traces"][0]
        assert top["service"] == "from-file" and top["span_count"] == 2
        assert top["open"] is False and top["status"] == "ok"
        assert top["run"] is not None and top["run"]["agents"] == []
        page = api.get("/api/traces", params={"limit": 2}).json()
        assert [t["trace_id"] for t in page["traces"]] == [other, second]
        rest = api.get("/api/traces", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert [t["trace_id"] for t in rest["traces"]] == [first]
        assert rest["next_cursor"] is None
        found = api.get("/api/traces", params={"q": "TURN-2"}).json()["traces"]
        assert [t["trace_id"] for t in found] == [second]
        assert [t["trace_id"] for t in api.get("/api/traces", params={"session": "s-2"}
        ).json()["traces"]] == [other]  # fmt: skip
        assert api.get("/api/traces", params={"status": "later"}).status_code == 400

        assert api.get(f"/api/traces/{first}").json()["root_name"] == "turn-1"
        assert api.get(f"/api/traces/{first}/run").json()["trace_id"] == first
        spans = api.get(f"/api/traces/{first}/spans").json()
        names = {s["name"] for rs in spans["resourceSpans"] for ss in rs["scopeSpans"]
                 for s in ss["spans"]}  # fmt: skip
        assert names == {"turn-1", "step"}
        missing = api.get(f"/api/traces/{UNKNOWN}")
        assert missing.status_code == 404
        assert missing.json() == {"error": f"no spans of trace {UNKNOWN}"}
        assert api.get(f"/api/traces/{UNKNOWN}/report").status_code == 404

        session = api.get("/api/sessions/s-1").json()
        assert [r["root_name"] for r in session["runs"]] == ["turn-1", "turn-2"]
        assert session["totals"]["runs"] == 2 and session["totals"]["errors"] == 0
        report = api.get(f"/api/traces/{second}/report")
        assert report.status_code == 200 and second in report.text
        diff = api.get("/api/diff", params={"a": first, "b": second}).json()
        assert "steps" in diff

        index = api.get("/runs/" + first)
        assert index.status_code == 200 and "<html" in index.text
        assert "script-src 'self'" in index.headers["content-security-policy"]
        with EventReader(served.url) as reader:
            _, name, hello = reader.next()
            assert name == "hello" and hello["live"] is False
    assert reader.ended()


def test_a_source_that_went_away_says_so(tmp_path: Path) -> None:
    with ui_collector(tmp_path) as running:
        trace_id = send_run(provider(running.http_url, "gone"), "soon-gone")
        ui = SourceUI(open_source(running.http_url)).start()
    try:
        with httpx.Client(base_url=ui.url, timeout=30) as api:
            listed = api.get("/api/traces")
            assert listed.status_code == 503
            assert listed.json()["error"].startswith("The source cannot be read: ")
            page = api.get(f"/api/traces/{trace_id}/report")
            assert page.status_code == 503
            assert "The source cannot be read" in page.text
            assert '<a href="/" target="_top">Back to the runs</a>' in page.text
            assert api.get("/healthz").status_code == 200
    finally:
        ui.stop()


def test_the_ui_needs_a_token_when_given_one(tmp_path: Path) -> None:
    path = tmp_path / "runs.otlp.json"
    write_runs(path)
    with (
        SourceUI(open_source(path), token="tok") as served,
        httpx.Client(base_url=served.url, timeout=30) as api,
    ):
        assert api.get("/api/traces").status_code == 401
        assert api.get("/").headers["location"] == "/login?next=%2F"
        cookie = api.post("/login", data={"token": "tok"}).headers["set-cookie"]
        assert api.get("/api/traces", headers={"Cookie": cookie.split(";")[0]}).status_code == 200


def test_refuses_a_remote_host_without_allow_remote(tmp_path: Path) -> None:
    path = tmp_path / "runs.otlp.json"
    write_runs(path)
    with pytest.raises(ValueError, match=r"refusing to listen on '0\.0\.0\.0'"):
        SourceUI(open_source(path), host="0.0.0.0")


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "otel_bridge.cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "80"},
    )


def test_ui_command_says_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "runs.otlp.json"
    write_runs(path)
    process = _cli("ui", str(path), "--port", "0")
    assert process.stderr is not None
    try:
        lines = [process.stderr.readline(), process.stderr.readline()]
        assert lines[0].startswith("otel-bridge ui ready: 3 run(s) of ")
        match = re.fullmatch(
            r"Web UI: (http://127\.0\.0\.1:\d+)/ \(read-only; Ctrl-C stops it\)\n", lines[1]
        )
        assert match, lines
        assert len(lines[1].rstrip("\n")) <= 80
        assert httpx.get(match.group(1) + "/api/traces").json()["traces"][0]["root_name"] == (
            "other"
        )
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(20) == 0
        assert process.stderr.read() == "otel-bridge ui stopped\n"
        process.stderr.close()


def test_ui_command_on_a_missing_source_is_one_error_line(tmp_path: Path) -> None:
    process = _cli("ui", str(tmp_path / "missing.otlp.json"), "--port", "0")
    assert process.stderr is not None
    assert process.wait(60) == 2
    out = process.stderr.read()
    process.stderr.close()
    assert out.startswith("otel-bridge: error: ") and out.count("\n") == 1, out


def test_collector_serve_says_the_ui_url(tmp_path: Path) -> None:
    """Where it listens, a line each within 80 columns, the Web UI's last."""
    process, said = start_collector(tmp_path / "spans.db")
    assert process.stderr is not None
    try:
        url = said["OTLP/HTTP, query API"]
        assert list(said)[-1] == "Web UI" and said["Web UI"] == f"{url}/"
        assert said["ready"] == "otel-bridge collector ready (no token)"
        widths = {label: len(f"  {label:<20}  {value}") for label, value in said.items()}
        assert all(width <= 80 for label, width in widths.items() if label != "database"), widths
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "<html" in page.text
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(20)
        process.stderr.close()
