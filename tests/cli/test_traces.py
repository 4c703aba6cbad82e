"""`otel-bridge traces` and `list_runs`: the runs a collector, a file, Jaeger and Phoenix hold.

Real labelled runs (scripted model) in a real collector and a real Phoenix; Jaeger's search
answers are recorded from the same runs (its legacy JSON model, as Jaeger serves it).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from support.adapter_fixtures import scripted_server
from support.collector_fixtures import ServedApp
from support.jaeger_answers import jaeger_legacy_body
from support.phoenix_server import PhoenixServer
from support.recorded_runs import OPEN_TRACE, Recorded, record_runs, recorded

from otel_bridge import SourceError, load_spans
from otel_bridge.cli import main
from otel_bridge.collector import Collector
from otel_bridge.otlp import request_to_json, to_request
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.sources import RunSummary, list_runs, search_jaeger

__all__ = ["recorded", "scripted_server"]  # fixtures, imported for pytest
OPEN_ID = f"{OPEN_TRACE:032x}"


def traces(*args: str, columns: int = 80) -> Any:
    return CliRunner().invoke(main, ["traces", *args], env={"COLUMNS": str(columns)})


def newest_first(recorded: Recorded) -> list[str]:
    return [t.trace_id for t in reversed(recorded.traces)]


# ---- the collector --------------------------------------------------------------------------


def table_rows(stdout: str) -> tuple[str, list[list[str]]]:
    """The header, and each run's lines (a run starts with its trace id)."""
    header, *lines = stdout.splitlines()
    rows: list[list[str]] = []
    for line in lines:
        if re.match(r"[0-9a-f]{32} \d\d-\d\d ", line):  # a session id under it has no date
            rows.append([line])
        else:
            rows[-1].append(line)
    return header, rows


def test_the_table_fits_80_columns(recorded: Recorded) -> None:
    result = traces(recorded.url)
    assert result.exit_code == 0, result.output
    header, rows = table_rows(result.stdout)
    # (the session, under the trace id, when the source lists one)
    assert header.replace(" / session, task", "").replace(" / session", "").split() == [
        *("trace", "id", "start", "(UTC)", "status", "agents", "tokens", "time")
    ]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert [row[0].split()[0] for row in rows] == [*newest_first(recorded), OPEN_ID]
    assert [row[0].split()[3] for row in rows] == ["ok", "ok", "ok", "open"]
    # the start to the second; every agent named whole, one per line
    assert all(re.fullmatch(r"\d\d-\d\d \d\d:\d\d:\d\d", " ".join(r[0].split()[1:3])) for r in rows)
    assert all(row[0].split()[-2] == "2,363" for row in rows[:3])
    assert all(
        [row[0].split()[4], row[1].split()[-1]] == ["researcher", "writer"] for row in rows[:3]
    )
    assert result.stderr == ""


def test_json_lines_and_filters(recorded: Recorded) -> None:
    result = traces(recorded.url, "--json")
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [run["trace_id"] for run in runs] == [*newest_first(recorded), OPEN_ID]
    first = runs[0]
    assert {k: first[k] for k in ("status", "name", "service", "agents", "total_tokens")} == {
        "status": "ok",
        "name": "team.run",
        "service": "traces-tests",
        "agents": ["researcher", "writer"],
        "total_tokens": 2363,
    }
    assert runs[-1]["status"] == "open" and runs[-1]["name"] is None
    sessions = dict(zip([t.trace_id for t in recorded.traces], recorded.sessions, strict=True))
    assert [run["session_id"] for run in runs[:-1]] == [sessions[t] for t in newest_first(recorded)]
    # Each run was derived once (ahead, or for the listing above) and its summary kept what
    # the derivation found: the brief listing reads it without deriving again.
    brief_lines = traces(recorded.url, "--json", "--brief").stdout.splitlines()
    brief = [json.loads(line) for line in brief_lines]
    assert (brief[0]["agents"], brief[0]["total_tokens"]) == (["researcher", "writer"], 2363)
    assert brief[0]["session_id"] == runs[0]["session_id"] is not None
    assert brief[0]["spans"] == runs[0]["spans"] > 20
    limited = traces(recorded.url, "--json", "--limit", "1")
    assert [json.loads(line)["trace_id"] for line in limited.stdout.splitlines()] == [
        newest_first(recorded)[0]
    ]
    assert limited.stderr == "otel-bridge: the newest run; --limit 0 lists them all\n"
    session = traces(recorded.url, "--json", "--session", recorded.sessions[0])
    (only,) = [json.loads(line) for line in session.stdout.splitlines()]
    assert (only["trace_id"], only["session_id"]) == (
        recorded.traces[0].trace_id,
        recorded.sessions[0],
    )
    old = traces(recorded.url, "--json", "--until", "2002-01-01")  # only the open run's step
    assert [json.loads(line)["trace_id"] for line in old.stdout.splitlines()] == [OPEN_ID]
    future = traces(recorded.url, "--since", "2099-01-01T00:00:00Z")
    assert (future.exit_code, future.stdout) == (0, "")
    assert future.stderr == f"otel-bridge: no runs that match in {recorded.url}\n"
    ages = traces(recorded.url, "--json", "--since", "1h")
    assert len(ages.stdout.splitlines()) == 3
    bad = traces(recorded.url, "--since", "yesterday")
    assert bad.exit_code == 2
    assert bad.stderr == (
        "otel-bridge: error: since 'yesterday': expected ISO-8601 (2026-11-23T17:00:00Z) or an "
        "age (30m, 2h, 7d)\n"
    )


def test_thousands_of_runs_are_listed_in_pages(tmp_path: Path) -> None:
    with Collector(tmp_path / "spans.db") as collector:
        sent = _store_runs(collector.http_url, 2500)
        got = list(list_runs(collector.http_url, details=False))
        assert [run.trace_id for run in got] == [f"{tid:032x}" for tid in reversed(sent)]
        assert {run.status for run in got} == {"ok"}
        assert len(list(list_runs(collector.http_url, details=False, limit=1200))) == 1200


def test_session_filter_and_limit_on_the_collector(tmp_path: Path) -> None:
    with Collector(tmp_path / "spans.db") as collector:
        sent = _store_runs(collector.http_url, 6, sessions=("a", "b"))  # a, b, a, b, a, b
        got = list(list_runs(collector.http_url, session="a", limit=2, details=False))
        assert [run.trace_id for run in got] == [f"{sent[4]:032x}", f"{sent[2]:032x}"]
        assert {run.session_id for run in got} == {"a"}


def _store_runs(url: str, count: int, sessions: tuple[str, ...] = ()) -> list[int]:
    """``count`` two-span runs, each started a second after the one before."""
    import httpx

    from otel_bridge import SpanRecord

    spans, ids = [], []
    for i in range(count):
        tid = 0xA000_0000_0000_0000_0000_0000_0000_0000 + i
        start = 1_800_000_000 * 10**9 + i * 10**9
        labels = {"session.id": sessions[i % len(sessions)]} if sessions else {}
        spans += [
            SpanRecord(tid, 1, None, "run", start, start + 10, attributes=labels),
            SpanRecord(tid, 2, 1, "step", start + 1, start + 9),
        ]
        ids.append(tid)
    body = to_request(spans).SerializeToString()
    response = httpx.post(
        f"{url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 200
    return ids


# ---- a file ---------------------------------------------------------------------------------


def test_a_file_lists_in_its_order_and_an_empty_one_lists_nothing(
    recorded: Recorded, tmp_path: Path
) -> None:
    path = tmp_path / "runs.otlp.json"
    bodies = [
        request_to_json(to_request(load_spans(recorded.url, t.trace_id))) for t in recorded.traces
    ]
    path.write_text("\n".join(json.dumps(body) for body in bodies))
    runs = [json.loads(line) for line in traces(str(path), "--json").stdout.splitlines()]
    assert [run["trace_id"] for run in runs] == [t.trace_id for t in recorded.traces]
    assert [run["session_id"] for run in runs] == recorded.sessions
    assert {run["total_tokens"] for run in runs} == {2363}
    empty = tmp_path / "empty.json"
    empty.write_text('{"resourceSpans": []}')
    result = traces(str(empty))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"otel-bridge: no runs in {empty}\n"


# ---- Jaeger (recorded answers of its query service) ---------------------------------------------


def jaeger_app(recorded: Recorded, seen: list[dict[str, str]]) -> Starlette:
    """Jaeger's /api/services and /api/traces search over the recorded runs (legacy model)."""
    runs = {t.trace_id: load_spans(recorded.url, t.trace_id) for t in recorded.traces}

    def services(request: Request) -> JSONResponse:
        return JSONResponse({"data": ["traces-tests", "idle"], "total": 2})

    def search(request: Request) -> JSONResponse:
        params = dict(request.query_params)
        seen.append(params)
        found = []
        for spans in runs.values():
            start_us = min(s.start_ns for s in spans) // 1000
            tags = json.loads(params.get("tags", "{}"))
            if (
                params["service"] == "traces-tests"
                and int(params["start"]) <= start_us <= int(params["end"])
                and all(any(s.attributes.get(k) == v for s in spans) for k, v in tags.items())
            ):
                found.append(jaeger_legacy_body(spans)["data"][0])
        found = found[: int(params["limit"])]
        return JSONResponse({"data": found, "total": 0, "limit": 0, "offset": 0, "errors": None})

    def one(request: Request) -> JSONResponse:
        wanted = str(request.path_params["trace_id"]).rjust(32, "0")
        if wanted not in runs:
            return JSONResponse({"data": None, "errors": [{"code": 404}]}, 404)
        return JSONResponse(jaeger_legacy_body(runs[wanted]))

    return Starlette(
        routes=[
            Route("/api/services", services),
            Route("/api/traces", search),
            Route("/api/traces/{trace_id}", one),
        ]
    )


def test_jaeger_search_lists_and_filters(recorded: Recorded) -> None:
    seen: list[dict[str, str]] = []
    with ServedApp(jaeger_app(recorded, seen)) as jaeger:
        source = f"jaeger+{jaeger.url}"
        runs = [json.loads(line) for line in traces(source, "--json").stdout.splitlines()]
        assert [run["trace_id"] for run in runs] == newest_first(recorded)
        assert {run["total_tokens"] for run in runs} == {2363}
        assert [p["service"] for p in seen] == ["idle", "traces-tests"]  # every service
        session = traces(source, "--json", "--session", recorded.sessions[2])
        assert [json.loads(line)["trace_id"] for line in session.stdout.splitlines()] == [
            recorded.traces[2].trace_id
        ]
        assert json.loads(seen[-1]["tags"]) == {"session.id": recorded.sessions[2]}
        idle = traces(source, "--service", "idle")
        assert (idle.exit_code, idle.stderr) == (0, f"otel-bridge: no runs in {source}\n")
        missing = traces(source, "--service", "nope")
        assert missing.exit_code == 2
        assert missing.stderr == (
            f"otel-bridge: error: {jaeger.url}: no service 'nope' in Jaeger; its services: "
            "idle, traces-tests\n"
        )
        spans = list(search_jaeger(jaeger.url, service="traces-tests", limit=2))
        assert [s[0].trace_id_hex for s in spans] == newest_first(recorded)[:2]
        derived = CliRunner().invoke(main, ["derive", source, "--all", "--json"])
        assert derived.exit_code == 0, derived.output
        runs = [json.loads(line) for line in derived.stdout.splitlines()]
        assert [(run["trace_id"], run["usage"]["total_tokens"]) for run in runs] == [
            (trace_id, 2363) for trace_id in newest_first(recorded)
        ]


# ---- Phoenix (a real server) -----------------------------------------------------------------


@pytest.mark.phoenix
def test_phoenix_lists_runs_and_names_its_projects(
    phoenix: PhoenixServer,
    scripted_server: ScriptedLLMServer,
) -> None:
    project = "otel-bridge-traces"
    recorded = record_runs(phoenix.http_endpoint, scripted_server, "phoenix-runs", project)
    source = f"phoenix+{phoenix.http_endpoint}/{project}"
    # Phoenix lists a trace with its first stored span: open until the root is stored too.
    runs = _poll(lambda: [r for r in list_runs(source, details=False) if r.status != "open"], 3)
    assert [run.trace_id for run in runs] == newest_first(recorded)
    assert {run.status for run in runs} == {"ok"}
    result = traces(source, "--json", "--session", recorded.sessions[1])
    (only,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (only["trace_id"], only["total_tokens"]) == (recorded.traces[1].trace_id, 2363)
    assert only["agents"] == ["researcher", "writer"]
    derived = CliRunner().invoke(main, ["derive", source, "--all", "--json"])
    assert [
        json.loads(line)["usage"]["total_tokens"] for line in derived.stdout.split("\n")[:3]
    ] == [2363] * 3
    wrong = traces(f"phoenix+{phoenix.http_endpoint}/nope")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith(
        f"otel-bridge: error: {phoenix.http_endpoint}: no project 'nope' in Phoenix; its projects: "
    )
    assert project in wrong.stderr
    with pytest.raises(SourceError) as error:
        load_spans(source, "f" * 32)
    assert "retry" not in str(error.value) and "otel-bridge traces" in str(error.value)


def _poll(read: Any, count: int, timeout_s: float = 60) -> list[RunSummary]:
    """Phoenix stores spans a moment after acknowledging them (and the project with the first)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            got: list[RunSummary] = read()
        except SourceError:
            if time.monotonic() > deadline:
                raise
            got = []
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.5)
