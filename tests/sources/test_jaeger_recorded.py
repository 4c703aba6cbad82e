"""The Jaeger sources on answers recorded from a real Jaeger v2.13.0 (tests/data/jaeger/).

The recordings are one researcher -> writer handoff run (service ``recorded``, root span
``recorded-run``) exported by Telemetry over OTLP/HTTP, read back as API v3 (OTLP/JSON) and as
the legacy JSON model, plus Jaeger's answers to a service list, a trace search and an unknown
trace. ``python tests/support/jaeger_fixtures.py record`` records them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.jaeger_fixtures import RECORDINGS, as_jaeger_legacy_serves

from otel_bridge import derive
from otel_bridge.errors import SourceError
from otel_bridge.scripted import demo_script
from otel_bridge.sources import (
    jaeger_services,
    list_runs,
    read_jaeger,
    records_from_jaeger_json,
    records_from_jaeger_v3,
    search_jaeger,
)
from otel_bridge.spans import SpanRecord

INDEX = json.loads((RECORDINGS / "index.json").read_text())
TRACE_ID: str = INDEX["trace_id"]
UNKNOWN = "00000000000000000000000000000001"


def recorded(name: str) -> str:
    """A recorded answer, as Jaeger served it."""
    return (RECORDINGS / name).read_text()


def status_of(name: str) -> int:
    """The HTTP status Jaeger answered the recorded request with."""
    return int(INDEX["answers"][name]["status"])


def v3_spans() -> list[SpanRecord]:
    return records_from_jaeger_v3(recorded("handoff-v3.json"))


def legacy_spans() -> list[SpanRecord]:
    return records_from_jaeger_json(json.loads(recorded("handoff-legacy.json")))


def by_id(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {s.span_id_hex: s for s in spans}


def test_the_recordings_are_what_jaeger_answered() -> None:
    assert {name: answer["status"] for name, answer in INDEX["answers"].items()} == {
        "handoff-v3.json": 200,
        "handoff-legacy.json": 200,
        "services.json": 200,
        "search.json": 200,
        "unknown-v3.json": 404,
        "unknown-legacy.json": 404,
    }
    assert INDEX["spans"] == 32


# ---- API v3 --------------------------------------------------------------------------------------


def test_v3_answer_derives_to_the_handoff_run() -> None:
    spans = v3_spans()
    assert len(spans) == 32
    assert {s.trace_id_hex for s in spans} == {TRACE_ID}
    run = derive(spans)
    demo = demo_script()
    assert run.status == "ok"
    assert (run.input, run.output) == (demo.user_msg, demo.answer)
    assert [(h.from_agent, h.to_agent, h.reason) for h in run.handoffs] == [
        ("researcher", "writer", "The research notes are ready.")
    ]
    usage = run.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2240, 123, 2363)
    assert (usage.cached_input_tokens, usage.complete) == (896, True)
    assert [c.agent for c in run.llm_calls] == ["researcher", "researcher", "writer", "writer"]
    assert [(t.name, t.agent) for t in run.tool_calls] == [
        ("search", "researcher"),
        ("handoff", "researcher"),
        ("word_count", "writer"),
    ]
    assert run.issues == []


def test_v3_keeps_nanoseconds_names_kinds_statuses_and_the_resource() -> None:
    spans = by_id(v3_spans())
    root = spans["8e4b6b5e2ef5e994"]
    assert (root.name, root.parent_id, root.kind, root.status) == (
        "recorded-run",
        None,
        "INTERNAL",
        "OK",
    )
    assert (root.start_ns, root.end_ns) == (1796102799068383310, 1796102799703242775)
    assert root.scope == "otel_bridge"
    resource = dict(root.resource)
    assert resource.pop("service.instance.id")  # a fresh uuid per process
    assert resource == {
        "service.name": "recorded",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": "1.45.2",
    }
    step = spans["423fc5af4d45576b"]
    assert (step.name, step.parent_id_hex) == ("researcher.run_agent_step", "099ab08bcf056e80")
    llm = spans["654935e9c5b6927a"]
    assert (llm.name, llm.parent_id_hex, llm.scope) == (
        "OpenAI.astream_chat",
        "423fc5af4d45576b",
        "openinference.instrumentation.llama_index",
    )
    assert llm.end_ns == step.end_ns == 1796102799644040055  # the streamed call, exported whole
    (event,) = llm.events
    assert (event.name, event.time_ns, dict(event.attributes)) == (
        "First Token Stream Event",
        1796102799641064347,
        {},
    )


def test_a_tool_span_comes_back_with_every_attribute() -> None:
    handoff = by_id(v3_spans())["69bd76986f4fe1a3"]
    attributes = dict(handoff.attributes)
    expected = {
        "agent.name": "researcher",
        "gen_ai.agent.name": "researcher",
        "gen_ai.transfer.mode": "pass_control",
        "gen_ai.transfer.target.name": "writer",
        "gen_ai.transfer.target.type": "agent",
        "graph.node.id": "researcher",
        "graph.node.name": "researcher",
        "graph.node.parent_id": "AgentWorkflow.run",
        "input.mime_type": "application/json",
        "openinference.span.kind": "TOOL",
        "output.mime_type": "application/json",
        "tool.name": "handoff",
    }
    for key, value in expected.items():
        assert attributes.pop(key) == value, key
    assert json.loads(str(attributes.pop("input.value")))["kwargs"]["to_agent"] == "writer"
    assert json.loads(str(attributes.pop("output.value")))["tool_name"] == "handoff"
    assert str(attributes.pop("tool.description")).startswith("Useful for handing off")
    assert json.loads(str(attributes.pop("tool.parameters")))["required"] == ["to_agent", "reason"]
    assert attributes == {}


# ---- legacy JSON model ---------------------------------------------------------------------------


def test_legacy_answer_is_the_v3_answer_in_microseconds() -> None:
    legacy = sorted(legacy_spans(), key=lambda s: s.span_id)
    v3 = sorted(v3_spans(), key=lambda s: s.span_id)
    assert legacy == as_jaeger_legacy_serves(v3)  # attributes, resource, scope, kind, status...
    # Start and duration are cut to microseconds separately: this end is 1 µs before v3's cut.
    step = by_id(legacy)["423fc5af4d45576b"]
    assert (step.start_ns, step.end_ns) == (1796102799191137000, 1796102799644039000)


def test_legacy_answer_derives_to_the_same_run_but_for_time_precision() -> None:
    from_legacy = derive(legacy_spans()).to_dict()
    from_v3 = derive(v3_spans()).to_dict()
    for key in ("trace_id", "status", "input", "output", "usage", "messages", "issues"):
        assert from_legacy[key] == from_v3[key], key
    assert [(h["from"], h["to"]) for h in from_legacy["handoffs"]] == [("researcher", "writer")]
    assert from_legacy["timings"]["wall_s"] == 0.634859  # µs: v3 says 0.634859465
    assert from_v3["timings"]["wall_s"] == pytest.approx(0.634859465)


def test_legacy_not_found_answer_holds_no_spans() -> None:
    body = json.loads(recorded("unknown-legacy.json"))
    assert body["errors"] == [{"code": 404, "msg": "trace not found"}]
    assert records_from_jaeger_json(body) == []


# ---- read_jaeger, the search and the service list over recorded answers --------------------------


def recorded_jaeger(seen: list[str], *, v3: bool = True) -> httpx.Client:
    """A client whose transport answers with the recordings, as the real Jaeger did."""

    def answer(name: str) -> httpx.Response:
        return httpx.Response(
            status_of(name),
            text=recorded(name),
            headers={"content-type": "application/json"},
        )

    routes: dict[str, Callable[[], httpx.Response]] = {
        f"/api/v3/traces/{TRACE_ID}": lambda: answer("handoff-v3.json"),
        f"/api/traces/{TRACE_ID}": lambda: answer("handoff-legacy.json"),
        f"/api/v3/traces/{UNKNOWN}": lambda: answer("unknown-v3.json"),
        f"/api/traces/{UNKNOWN}": lambda: answer("unknown-legacy.json"),
        "/api/services": lambda: answer("services.json"),
        "/api/traces": lambda: answer("search.json"),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.startswith("/api/v3/") and not v3:
            return httpx.Response(404, text="404 page not found")
        route = routes.get(request.url.path)
        return route() if route else httpx.Response(404, text="404 page not found")

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_read_jaeger_asks_api_v3_first() -> None:
    seen: list[str] = []
    with recorded_jaeger(seen) as client:
        spans = read_jaeger("http://jaeger:16686", TRACE_ID, client=client)
    assert sorted(spans, key=lambda s: s.span_id) == sorted(v3_spans(), key=lambda s: s.span_id)
    assert seen == [f"/api/v3/traces/{TRACE_ID}"]


def test_an_unknown_trace_is_a_clear_error_without_a_second_request() -> None:
    seen: list[str] = []
    with recorded_jaeger(seen) as client, pytest.raises(SourceError) as error:
        read_jaeger("http://jaeger:16686", UNKNOWN, client=client)
    assert str(error.value) == f"http://jaeger:16686: no trace {UNKNOWN} in Jaeger"
    assert seen == [f"/api/v3/traces/{UNKNOWN}"]  # Jaeger's own 404 body: the trace is not there

    seen.clear()
    with recorded_jaeger(seen) as client, pytest.raises(SourceError) as error:
        read_jaeger("http://jaeger:16686", UNKNOWN, api="legacy", client=client)
    assert str(error.value) == f"http://jaeger:16686: no trace {UNKNOWN} in Jaeger"
    assert seen == [f"/api/traces/{UNKNOWN}"]


def test_without_api_v3_the_legacy_api_answers() -> None:
    seen: list[str] = []
    with recorded_jaeger(seen, v3=False) as client:
        spans = read_jaeger("http://jaeger:16686", TRACE_ID, client=client)
    assert seen == [f"/api/v3/traces/{TRACE_ID}", f"/api/traces/{TRACE_ID}"]
    assert sorted(spans, key=lambda s: s.span_id) == sorted(legacy_spans(), key=lambda s: s.span_id)


def test_services_and_search_on_recorded_answers() -> None:
    seen: list[str] = []
    with recorded_jaeger(seen) as client:
        assert jaeger_services("http://jaeger:16686", client=client) == ["recorded"]
        (found,) = list(search_jaeger("http://jaeger:16686", service="recorded", client=client))
    assert {s.trace_id_hex for s in found} == {TRACE_ID}
    assert len(found) == 32
    assert seen == ["/api/services", "/api/services", "/api/traces"]


def test_the_run_list_over_recorded_answers() -> None:
    seen: list[str] = []
    with recorded_jaeger(seen) as client:
        (run,) = list(list_runs("jaeger+http://jaeger:16686", client=client))
    summary: dict[str, Any] = {
        "trace_id": run.trace_id,
        "status": run.status,
        "name": run.name,
        "service": run.service,
        "spans": run.spans,
        "agents": run.agents,
        "total_tokens": run.total_tokens,
        "start_ns": run.start_ns,
        "end_ns": run.end_ns,
    }
    assert summary == {
        "trace_id": TRACE_ID,
        "status": "ok",
        "name": "recorded-run",
        "service": "recorded",
        "spans": 32,
        "agents": ("researcher", "writer"),
        "total_tokens": 2363,
        "start_ns": 1796102799068383000,
        "end_ns": 1796102799703242000,
    }
