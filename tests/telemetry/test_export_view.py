"""What a person sees: the demo's session, and real runs in a real Phoenix read back over its
REST API, exported as OpenInference (the default) and in the GenAI conventions.

In Phoenix the agents show in the span names, no ``_prepare_chat_with_tools`` is an LLM span,
LLM spans last as long as the scripted server took to stream, the root's status is OK and the
demo's session is listed with its trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from support.phoenix_server import PhoenixServer
from support.scenarios import streamed_run

from otel_bridge import Telemetry, load_spans
from otel_bridge.cli import main
from otel_bridge.cli._demo import DemoOptions, run_demo
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.scripted import ScriptedLLMServer
from otel_bridge.spans import iso_ns

SESSION_ID = "session.id"
CLEAN_ENV: dict[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_PROTOCOL": None,
    "OTEL_BRIDGE_SEMCONV": None,
}


# ---- the demo: a session per run, --semconv ----------------------------------------------------


def test_the_demo_runs_in_a_session_and_prints_it(tmp_path: Path) -> None:
    out = tmp_path / "run.otlp.json"
    result = CliRunner().invoke(
        main, ["demo", "--out", str(out), "--semconv", "genai"], env=CLEAN_ENV
    )
    assert result.exit_code == 0, result.output
    spans = load_spans(out)
    sessions = {s.attributes.get(SESSION_ID) for s in spans}
    (session,) = sessions
    assert isinstance(session, str) and session.startswith("otel-bridge-demo-")
    assert f"Session {session} (session.id)." in result.output
    assert "(OTLP/JSON, genai conventions)" in result.output
    assert {s.name for s in spans} >= {"invoke_agent researcher", "invoke_agent writer"}
    assert not any(k.startswith("llm.") for s in spans for k in s.attributes)


def test_the_demo_rejects_an_unknown_semconv(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--out", str(tmp_path / "x.json"), "--semconv", "otel"], env=CLEAN_ENV
    )
    assert result.exit_code == 2
    assert "'otel' is not one of 'openinference', 'genai', 'both'" in result.output


def test_each_demo_run_has_its_own_session(tmp_path: Path) -> None:
    first = run_demo(DemoOptions(out=tmp_path / "a.otlp.json"))
    second = run_demo(DemoOptions(out=tmp_path / "b.otlp.json", session_id="chosen-session"))
    assert first.session_id != second.session_id == "chosen-session"
    assert {s.attributes.get(SESSION_ID) for s in load_spans(tmp_path / "b.otlp.json")} == {
        "chosen-session"
    }


# ---- a real Phoenix ----------------------------------------------------------------------------


def phoenix_spans(phoenix: PhoenixServer, project: str, path: Path) -> list[dict[str, Any]]:
    """Phoenix's JSON of every span of the file's one trace, once Phoenix stored them all."""
    sent = load_spans(path)
    (trace_id,) = {s.trace_id_hex for s in sent}
    return phoenix.fetch_spans(trace_id, project=project, min_spans=len(sent))


def duration_s(span: dict[str, Any]) -> float:
    return (iso_ns(span["end_time"]) - iso_ns(span["start_time"])) / 1e9


@pytest.mark.phoenix
@pytest.mark.parametrize("semconv", ["openinference", "genai"])
def test_the_demo_reads_well_in_phoenix(
    phoenix: PhoenixServer, tmp_path: Path, semconv: str
) -> None:
    project = f"export-view-demo-{semconv}"
    options = DemoOptions(
        out=tmp_path / "run.otlp.json",
        otlp_endpoint=phoenix.http_endpoint,
        project=project,
        semconv=semconv,  # type: ignore[arg-type]
    )
    result = run_demo(options)
    assert result.export_errors == {} and result.trace is not None

    spans = phoenix_spans(phoenix, project, options.out)
    assert len(spans) == len(load_spans(options.out))  # every span ingested
    names = [s["name"] for s in spans]
    if semconv == "genai":
        assert names.count("invoke_agent researcher") == names.count("invoke_agent writer") == 1
        assert {s["span_kind"] for s in spans if s["name"].startswith("invoke_agent ")} == {"AGENT"}
        assert "invoke_workflow AgentWorkflow" in names
        tools = ["execute_tool search", "execute_tool handoff → writer", "execute_tool word_count"]
    else:
        assert names.count("researcher.run_agent_step") == 2
        assert names.count("writer.run_agent_step") == 2
        assert "AgentWorkflow.run_agent_step" not in names
        tools = ["researcher.search", "researcher.handoff → writer", "writer.word_count"]
    # which tool ran, for which agent, and which call was the handoff: in the tree's names
    called = [s for s in spans if s["span_kind"] == "TOOL"]
    assert [s["name"] for s in sorted(called, key=lambda s: s["start_time"])] == tools
    llm = [s for s in spans if s["span_kind"] == "LLM"]
    assert len(llm) == 4  # the four model calls, nothing else
    prepared = [s for s in spans if s["name"].endswith("._prepare_chat_with_tools")]
    assert len(prepared) == 4 and all(s["span_kind"] != "LLM" for s in prepared)
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert (root["name"], root["status_code"]) == ("otel-bridge demo", "OK")
    assert {s["attributes"].get(SESSION_ID) for s in spans} == {result.session_id}

    session = httpx.get(f"{phoenix.http_endpoint}/v1/sessions/{result.session_id}", timeout=10)
    assert session.status_code == 200, session.text
    body = session.json()["data"]
    assert body["session_id"] == result.session_id
    assert [t["trace_id"] for t in body["traces"]] == [result.trace.trace_id]


@pytest.mark.phoenix
@pytest.mark.parametrize("semconv", ["openinference", "genai"])
async def test_streamed_calls_last_in_phoenix_as_long_as_the_server_streamed(
    phoenix: PhoenixServer, llm: ScriptedLLMServer, tmp_path: Path, semconv: str
) -> None:
    delay = 0.1  # the scripted server sleeps this long after each chunk of the answer
    project = f"export-view-stream-{semconv}"
    path = tmp_path / "run.otlp.json"
    telemetry = Telemetry(
        otlp_endpoint=phoenix.http_endpoint,
        project_name=project,
        otlp_json_file=path,
        semconv=semconv,  # type: ignore[arg-type]
    )
    streamed = await streamed_run(telemetry, llm, delay)
    answer, floor = streamed.answer, streamed.floor_s

    spans = phoenix_spans(phoenix, project, path)
    by_id = {s["context"]["span_id"]: s for s in spans}
    shown = by_id[answer.span_id]
    assert shown["span_kind"] == "LLM"
    assert duration_s(shown) >= floor
    assert abs(duration_s(shown) - answer.duration_ns / 1e9) < 2e-6  # Phoenix keeps microseconds
    if semconv == "genai":
        assert shown["name"] == "chat gpt-4o-mini"
        assert shown["attributes"][genai.TIME_TO_FIRST_CHUNK] == pytest.approx(
            (answer.time_to_first_token_ns or 0) / 1e9
        )
        assert shown["attributes"]["llm.token_count.prompt"] == 120  # Phoenix's own conversion
    (root_span,) = [s for s in spans if s["parent_id"] is None]
    assert root_span["status_code"] == "OK"
