"""A run the collector derived is kept (its RunTrace JSON, in the store) and reused: by ``/run``
after a restart, and by the export (``GET /api/runs``), which then derives none of it again.

Kept JSON is reused only while it is what deriving now would give: the trace has the spans it
was derived from, and the code asking is the code that derived it (``derivation_code()``).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support.records import TraceBuilder, assistant, user

from otel_bridge import derive, load_spans
from otel_bridge._derivation_code import derivation_code
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.otlp import PROTOBUF, to_request
from otel_bridge.sources import derived_runs, select_runs
from otel_bridge.spans import SpanRecord
from otel_bridge.tables import TABLES

NOW = time.time_ns()


def _run(trace_id: int, turns: int = 1) -> list[SpanRecord]:
    """A root, a step and ``turns`` LLM calls of 10 + 5 tokens each."""
    b = TraceBuilder(trace_id)
    root = b.span("team.run", 0, 100, attrs={"session.id": f"s-{trace_id:x}"})
    step = b.step(root, "researcher", 1, 99)
    for turn in range(turns):
        b.llm(step, 2 + turn, 3 + turn, [user(f"q{turn}")], [assistant("a")], usage=(10, 5))
    return [replace(s, start_ns=s.start_ns + NOW, end_ns=s.end_ns + NOW) for s in b.spans]


def _post(url: str, spans: list[SpanRecord]) -> None:
    body = to_request(spans).SerializeToString()
    answer = httpx.post(f"{url}/v1/traces", content=body, headers={"content-type": PROTOBUF})
    answer.raise_for_status()


def _kept(url: str, trace_ids: list[str], code: str | None = None) -> httpx.Response:
    params = httpx.QueryParams(
        [
            ("code", derivation_code() if code is None else code),
            *(("trace_id", t) for t in trace_ids),
        ]
    )
    return httpx.get(f"{url}/api/runs", params=params)


def _wait_kept(url: str, trace_ids: list[str]) -> list[dict[str, Any]]:
    """The kept runs once all of these are kept (the store writes them on a thread of its own)."""
    deadline = time.monotonic() + 10
    while True:
        lines = _kept(url, trace_ids).content.splitlines()
        if len(lines) == len(trace_ids) or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


def test_runs_derived_ahead_are_served_as_kept_json(tmp_path: Path) -> None:
    ids = [f"{tid:032x}" for tid in (0xA1, 0xB2)]
    with Collector(tmp_path / "spans.db", grpc_port=None) as collector:
        url = collector.http_url
        for tid in (0xA1, 0xB2):
            _post(url, _run(tid))
        kept = _wait_kept(url, ids)  # derived ahead: the runs have ended
        assert [run["trace_id"] for run in kept] == ids  # in the order asked
        answer = _kept(url, ids[::-1])
        assert answer.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line)["trace_id"] for line in answer.content.splitlines()] == ids[::-1]
        for run in kept:
            assert run == derive(load_spans(url, run["trace_id"])).to_dict()
            assert run == httpx.get(f"{url}/api/traces/{run['trace_id']}/run").json()
        # Derived by other code (another version of otel-bridge): none is reused.
        assert _kept(url, ids, code="0123456789abcdef").content == b""
        nameless = _kept(url, ids, code="")
        assert (nameless.status_code, nameless.json()) == (
            400,
            {
                "error": "give the code of the otel-bridge asking: /api/runs?code=CODE&trace_id="
                "ID... (otel_bridge.sources.derived_runs sends it; /api/traces/{id}/run needs none)"
            },
        )
        # Unknown traces are left out; bad requests say what is wrong.
        assert _kept(url, ["0" * 31 + "1"]).content == b""
        none = httpx.get(f"{url}/api/runs")
        assert none.status_code == 400
        asked = "give the traces to read: /api/runs?trace_id=ID&trace_id=ID..."
        assert none.json() == {"error": asked}
        assert _kept(url, ["0" * 31 + "1"] * 201).status_code == 400


def test_a_run_that_got_more_spans_is_derived_again(tmp_path: Path) -> None:
    tid = f"{0xC3:032x}"
    spans = _run(0xC3, turns=2)
    late = spans.pop()  # an LLM call that arrives after the run was derived
    with Collector(tmp_path / "spans.db", grpc_port=None, prepare_runs=False) as collector:
        url = collector.http_url
        _post(url, spans)
        time.sleep(0.3)  # committed
        first = httpx.get(f"{url}/api/traces/{tid}/run").json()
        assert first["usage"]["total_tokens"] == 15
        assert len(_wait_kept(url, [tid])) == 1
        _post(url, [late])
        deadline = time.monotonic() + 5
        while _kept(url, [tid]).content and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _kept(url, [tid]).content == b""  # kept for 3 spans, the trace has 4 now
        (again,) = select_runs(url).derivable()
        assert isinstance(again, list) and len(again) == 4  # its spans, to derive
        assert httpx.get(f"{url}/api/traces/{tid}/run").json()["usage"]["total_tokens"] == 30
        assert _wait_kept(url, [tid])[0]["usage"]["total_tokens"] == 30


def test_kept_runs_outlive_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tid = f"{0xD4:032x}"
    with Collector(tmp_path / "spans.db", grpc_port=None) as collector:
        _post(collector.http_url, _run(0xD4))
        (kept,) = _wait_kept(collector.http_url, [tid])

    def no_derivation(*args: object) -> None:
        raise AssertionError("derived again")

    monkeypatch.setattr("otel_bridge.collector._query_api.derive_run_json", no_derivation)
    with Collector(tmp_path / "spans.db", grpc_port=None, prepare_runs=False) as collector:
        assert httpx.get(f"{collector.http_url}/api/traces/{tid}/run").json() == kept
        assert derived_runs(collector.http_url, [tid]) == {tid: kept}


def test_the_export_derives_no_run_the_collector_derived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace_ids = [0xE5 + i for i in range(6)]
    with Collector(tmp_path / "spans.db", grpc_port=None) as collector:
        url = collector.http_url
        for tid in trace_ids:
            _post(url, _run(tid, turns=1 + tid % 3))
        _wait_kept(url, [f"{tid:032x}" for tid in trace_ids])
        slow = tmp_path / "slow"
        monkeypatch.setattr("otel_bridge.sources._collector.derivation_code", lambda: "other")
        done = CliRunner().invoke(main, ["export", url, "-o", str(slow), "--workers", "1"])
        assert done.exit_code == 0, done.output
        monkeypatch.undo()

        def no_derivation(*args: object) -> None:
            raise AssertionError("derived again")

        expected = sorted(
            json.dumps(derive(load_spans(url, f"{tid:032x}")).to_dict()) for tid in trace_ids
        )
        monkeypatch.setattr("otel_bridge.sources._runs.derive", no_derivation)
        fast = tmp_path / "fast"
        done = CliRunner().invoke(main, ["export", url, "-o", str(fast), "--workers", "1"])
        assert done.exit_code == 0, done.output
        derived = CliRunner().invoke(main, ["derive", url, "--all", "--json"])
        assert derived.exit_code == 0, derived.output
        assert sorted(derived.stdout.splitlines()) == expected
        pages = tmp_path / "pages"
        reported = CliRunner().invoke(main, ["report", url, "--all", "-o", str(pages)])
        assert reported.exit_code == 0, reported.output
        assert len(list(pages.glob("*.html"))) == 1 + len(trace_ids)  # the index and a page each
        # Other prices than the bundled ones: every run is derived with them.
        monkeypatch.undo()
        prices = tmp_path / "prices.json"
        prices.write_text(json.dumps({"gpt-4o-mini": {"input_mtok": 1, "output_mtok": 2}}))
        priced = CliRunner().invoke(
            main, ["derive", url, "--all", "--json", "--prices", str(prices)]
        )
        assert priced.exit_code == 0, priced.output
        costs = {json.loads(line)["cost"]["total_usd"] for line in priced.stdout.splitlines()}
        assert costs == {2e-05, 4e-05, 6e-05}  # 10 x $1/M in + 5 x $2/M out per call
    for table in TABLES:
        assert _rows(fast, table) == _rows(slow, table), table
    assert sorted(r["total_tokens"] for r in _rows(fast, "runs")) == [15, 15, 30, 30, 45, 45]


def _rows(directory: Path, table: str) -> list[dict[str, Any]]:
    rows = pq.read_table(directory / table).to_pylist()
    return sorted(rows, key=lambda row: sorted((k, repr(v)) for k, v in row.items()))


def test_kept_runs_are_behind_the_token(tmp_path: Path) -> None:
    tid = f"{0xF6:032x}"
    with Collector(tmp_path / "spans.db", grpc_port=None, token="s3cret") as collector:
        url = collector.http_url
        auth = {"Authorization": "Bearer s3cret"}
        body = to_request(_run(0xF6)).SerializeToString()
        httpx.post(
            f"{url}/v1/traces", content=body, headers={"content-type": PROTOBUF, **auth}
        ).raise_for_status()
        assert _kept(url, [tid]).status_code == 401
        with httpx.Client(headers=auth) as client:
            deadline = time.monotonic() + 10
            while not (kept := derived_runs(url, [tid], client=client)):
                assert time.monotonic() < deadline, "never derived ahead"
                time.sleep(0.05)
    assert kept[tid]["usage"]["total_tokens"] == 15
