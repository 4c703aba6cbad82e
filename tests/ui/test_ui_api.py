"""The query API the web UI reads, on a real collector fed by the real OTel SDK exporter:
the new /api/traces filters and ``open`` flag, sessions, report, diff and compare pages, and
the event stream."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace as trace_api
from support.collector_fixtures import export_demo
from support.ui_fixtures import EventReader, provider, send_run, ui_collector

from otel_bridge import Telemetry
from otel_bridge.collector import _live
from otel_bridge.scripted import ScriptedLLMServer

UNKNOWN = "0af7651916cd43dd8448eb211c80319c"
EMBED_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def test_filters_open_runs_and_sessions(tmp_path: Path) -> None:
    with ui_collector(tmp_path) as running, httpx.Client(base_url=running.http_url) as api:
        before = provider(running.http_url, "before")
        after = provider(running.http_url, "after")
        first = send_run(before, "turn-1", session="s-1", task="t1")
        send_run(before, "turn-2", session="s-1", task="t2", error=True)
        send_run(before, "alone", session="s-2")
        send_run(after, "turn-1b", task="t1")
        send_run(after, "turn-2b", task="t2")
        # A run still going: its child was exported, its root span not yet.
        tracer = before.get_tracer("ui-tests")
        root = tracer.start_span("still-going")
        with tracer.start_as_current_span("step", context=trace_api.set_span_in_context(root)):
            pass
        going = f"{root.get_span_context().trace_id:032x}"

        listed = api.get("/api/traces", params={"status": "open"}).json()["traces"]
        by_id = {t["trace_id"]: t for t in listed}
        assert by_id[going]["open"] is True and by_id[going]["root_name"] is None
        # Ended runs that got spans in the last 5 seconds are open too.
        assert by_id[first]["open"] is True
        summary = api.get(f"/api/traces/{going}").json()
        assert summary["open"] is True

        texts = api.get("/api/traces", params={"q": "TURN-2"}).json()["traces"]
        assert {t["root_name"] for t in texts} == {"turn-2", "turn-2b"}
        assert [t["trace_id"] for t in api.get("/api/traces", params={"q": first[4:20].upper()}
        ).json()["traces"]] == [first]  # fmt: skip
        assert api.get("/api/traces", params={"q": "S-2"}).json()["traces"][0]["root_name"] == (
            "alone"
        )

        session = api.get("/api/sessions/s-1").json()
        assert session["session_id"] == "s-1"
        assert [r["root_name"] for r in session["runs"]] == ["turn-1", "turn-2"]
        assert [r["task_id"] for r in session["runs"]] == ["t1", "t2"]
        totals = session["totals"]
        assert totals["runs"] == 2 and totals["errors"] == 1
        assert all(r["run"] is not None for r in session["runs"])  # derived for the totals

        missing = api.get("/api/sessions/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": "no runs of session nope"}

        compared = api.get("/api/compare", params={"a": "service=before", "b": "service=after"})
        assert compared.status_code == 200, compared.text
        result = compared.json()
        assert result["matched"] == 2
        assert [t["task_id"] for t in result["tasks"]] == ["t1", "t2"]
        page = api.get(
            "/api/compare", params={"a": "service=before", "b": "service=after", "format": "html"}
        )
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.headers["content-security-policy"] == EMBED_CSP
        assert '<base target="_top">' in page.text and "/diff?a=" in page.text
        nothing = api.get("/api/compare", params={"a": "service=before", "b": "service=none"})
        assert nothing.status_code == 422
        assert "no task in common" in nothing.json()["error"]
        bad = api.get("/api/compare", params={"a": "status=later", "b": ""})
        assert bad.status_code == 400
        assert bad.json() == {"error": "a: status must be 'ok', 'error' or 'open', got 'later'"}


def test_bad_parameters_are_400_in_words(tmp_path: Path) -> None:
    with ui_collector(tmp_path) as running, httpx.Client(base_url=running.http_url) as api:
        for path, params, says in [
            ("/api/traces", {"status": "fine"}, "status must be 'ok', 'error' or 'open'"),
            ("/api/traces", {"limit": "many"}, "limit must be an integer, got 'many'"),
            ("/api/diff", {"a": UNKNOWN}, "give two runs: /api/diff?a=TRACE_ID&b=TRACE_ID"),
            ("/api/diff", {"a": "xyz", "b": UNKNOWN}, "a: "),
            ("/api/diff", {"a": UNKNOWN, "b": UNKNOWN, "format": "pdf"}, "format must be"),
            ("/api/compare", {"a": "cursor=abc"}, "a: a set is chosen by filters"),
        ]:
            answer = api.get(path, params=params)
            assert answer.status_code == 400, (path, params)
            assert says in answer.json()["error"]
        page = api.get("/api/traces/xyz/report")
        assert page.status_code == 400 and "text/html" in page.headers["content-type"]
        assert '<a href="/" target="_top">Back to the runs</a>' in page.text


async def test_report_diff_and_agent_filter_of_a_real_run(
    tmp_path: Path, llm_server: ScriptedLLMServer
) -> None:
    with ui_collector(tmp_path) as running, httpx.Client(base_url=running.http_url) as api:
        telemetry = Telemetry(otlp_endpoint=running.http_url, service_name="ui-agent")
        trace_id = await export_demo(telemetry, llm_server)
        deadline = time.monotonic() + 10
        while api.get(f"/api/traces/{trace_id}").json()["run"] is None:  # derived ahead
            assert time.monotonic() < deadline, "the run was not derived ahead"
            time.sleep(0.1)
        summary = api.get(f"/api/traces/{trace_id}").json()
        assert summary["run"]["agents"] == ["researcher", "writer"]
        for params in ({"agent": "writer"}, {"q": "RESEARCH"}, {"agent": "researcher"}):
            found = api.get("/api/traces", params=params).json()["traces"]
            assert [t["trace_id"] for t in found] == [trace_id], params
        assert api.get("/api/traces", params={"agent": "writ"}).json()["traces"] == []

        report = api.get(f"/api/traces/{trace_id}/report")
        assert report.status_code == 200
        assert report.headers["content-type"] == "text/html; charset=utf-8"
        assert report.headers["content-security-policy"] == EMBED_CSP
        assert report.headers["x-content-type-options"] == "nosniff"
        assert "writer" in report.text and "researcher" in report.text

        gone = api.get(f"/api/traces/{UNKNOWN}/report")
        assert gone.status_code == 404
        assert f"No run with trace id {UNKNOWN}." in gone.text
        assert '<a href="/" target="_top">Back to the runs</a>' in gone.text

        diff = api.get("/api/diff", params={"a": trace_id, "b": trace_id}).json()
        assert diff["first_divergence"] is None
        assert {s["status"] for s in diff["steps"]} == {"equal"}
        page = api.get("/api/diff", params={"a": trace_id, "b": trace_id, "format": "html"})
        assert page.status_code == 200 and page.headers["content-security-policy"] == EMBED_CSP
        missing = api.get("/api/diff", params={"a": trace_id, "b": UNKNOWN})
        assert missing.status_code == 404
        assert missing.json() == {"error": f"no run with trace id {UNKNOWN}"}
        missing_page = api.get("/api/diff", params={"a": UNKNOWN, "b": trace_id, "format": "html"})
        assert missing_page.status_code == 404 and UNKNOWN in missing_page.text


def test_events_say_hello_then_each_new_run_within_a_second(tmp_path: Path) -> None:
    with ui_collector(tmp_path) as running:
        live = running.live
        assert live is not None
        traced = provider(running.http_url, "live")
        send_run(traced, "before-anyone-listens")
        assert live._task is None and not live._dirty  # no reader: no work
        with EventReader(running.http_url) as reader:
            _, name, hello = reader.next()
            assert name == "hello" and hello["live"] is True
            assert len(hello["server_id"]) == 16
            assert reader.headers["content-type"].startswith("text/event-stream")
            for number in range(3):
                trace_id = send_run(traced, f"run-{number}", session="live-s")
                acked = time.monotonic()  # the exporter returned: the root span is stored
                at, summary = reader.wait_for(trace_id, root_name=f"run-{number}")
                assert at - acked < 1.0, f"event {at - acked:.3f} s after the root span"
                assert summary["span_count"] == 2 and summary["session_id"] is None
                assert summary["open"] is True
            # Its run derived ahead: another event carries the run's facts.
            _, derived = reader.wait_for(trace_id, timeout_s=10, session_id="live-s")
            assert derived["run"] is not None
    assert reader.ended()  # the stream ended with the server
    assert live._task is None or live._task.done()


def test_an_ended_run_is_sent_again_when_its_open_window_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page showing a run "in progress" (its late spans' window) hears when it is over."""
    monkeypatch.setattr(_live, "OPEN_WINDOW_S", 1.0)
    with ui_collector(tmp_path) as running, EventReader(running.http_url) as reader:
        reader.next()  # hello
        trace_id = send_run(provider(running.http_url, "live"), "ends")
        first_at, first = reader.wait_for(trace_id, root_name="ends")
        assert first["open"] is True
        closed_at, closed = reader.wait_for(trace_id, timeout_s=5, open=False)
        assert closed["root_name"] == "ends" and closed["span_count"] == 2
        assert 0.5 < closed_at - first_at < 3.0, f"sent {closed_at - first_at:.2f} s later"


def test_a_restarted_collector_has_another_server_id(tmp_path: Path) -> None:
    ids = []
    for _ in range(2):
        with ui_collector(tmp_path) as running, EventReader(running.http_url) as reader:
            _, name, hello = reader.next()
            assert name == "hello"
            ids.append(hello["server_id"])
        assert reader.ended()  # the collector's stop ended the stream at once
    assert ids[0] != ids[1]
