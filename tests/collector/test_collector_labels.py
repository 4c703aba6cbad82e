"""The collector's trace list: labels and run facts kept once a run is derived, and filters."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx
from support.records import TraceBuilder, assistant, user

from otel_bridge.collector import Collector
from otel_bridge.otlp import to_request
from otel_bridge.sources import list_runs
from otel_bridge.spans import SpanRecord

PROTOBUF = {"content-type": "application/x-protobuf"}


def _run(trace_id: int, session: str, task: str) -> list[SpanRecord]:
    """Root, step and one LLM call of 10 + 5 tokens; the labels on the root."""
    b = TraceBuilder(trace_id)
    root = b.span("team.run", 0, 100, attrs={"session.id": session, "maseval.task.id": task})
    step = b.step(root, "researcher", 1, 99)
    b.llm(step, 2, 98, [user("q")], [assistant("a")], usage=(10, 5))
    now = time.time_ns()
    return [replace(s, start_ns=s.start_ns + now, end_ns=s.end_ns + now) for s in b.spans]


def _listed(url: str, **params: str) -> list[dict[str, object]]:
    body = httpx.get(f"{url}/api/traces", params=params).json()
    return [{k: t[k] for k in ("trace_id", "session_id", "task_id", "run")} for t in body["traces"]]


def test_labels_filters_and_run_facts_on_the_trace_list(tmp_path: Path) -> None:
    a, b = 0xA1, 0xB2
    with Collector(tmp_path / "spans.db", grpc_port=None, prepare_runs=False) as collector:
        url = collector.http_url
        for spans in (_run(a, "s1", "t1"), _run(b, "s2", "t2")):
            body = to_request(spans).SerializeToString()
            httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).raise_for_status()
        time.sleep(0.3)  # committed by the writer thread
        # Nothing derived yet: no labels, no facts.
        assert [t["session_id"] for t in _listed(url)] == [None, None]
        # A filtered listing reads the labels of the runs that have none yet.
        assert _listed(url, task="t2") == [
            {"trace_id": f"{b:032x}", "session_id": "s2", "task_id": "t2", "run": None}
        ]
        assert [t["trace_id"] for t in _listed(url, session="s1")] == [f"{a:032x}"]
        assert _listed(url, session="s1", task="t2") == []
        # Derived once (/run), the run's facts stay on its summary for every listing.
        run = httpx.get(f"{url}/api/traces/{a:032x}/run").json()
        assert run["usage"]["total_tokens"] == 15
        deadline = time.monotonic() + 5
        while _listed(url, session="s1")[0]["run"] is None and time.monotonic() < deadline:
            time.sleep(0.05)  # kept by the store's own thread
        assert _listed(url, session="s1")[0]["run"] == {
            "agents": ["researcher"],
            "total_tokens": 15,
            "tokens_complete": True,
            "cost_usd": 4.5e-06,  # gpt-4o-mini: 10 x $0.15/M in + 5 x $0.60/M out
        }
        (summary,) = list_runs(url, session="s1", details=False)
        assert (summary.agents, summary.total_tokens, summary.task_id) == (
            ("researcher",),
            15,
            "t1",
        )
        bad = httpx.get(f"{url}/api/traces", params={"session": "s1", "limit": "0"})
        assert bad.status_code == 400


def test_derive_and_report_of_a_url_holding_one_run_take_it(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from otel_bridge.cli import main

    with Collector(tmp_path / "spans.db", grpc_port=None) as collector:
        url = collector.http_url
        body = to_request(_run(0xC3, "s3", "t3")).SerializeToString()
        httpx.post(f"{url}/v1/traces", content=body, headers=PROTOBUF).raise_for_status()
        time.sleep(0.3)
        derived = CliRunner().invoke(main, ["derive", url, "--json"])
        page = tmp_path / "run.html"
        reported = CliRunner().invoke(main, ["report", url, "-o", str(page)])
    assert derived.exit_code == 0, derived.output
    (run,) = [json.loads(line) for line in derived.stdout.splitlines()]
    assert (run["trace_id"], run["labels"]["task_id"]) == (f"{0xC3:032x}", "t3")
    assert reported.exit_code == 0, reported.output
    assert page.stat().st_size > 1000
