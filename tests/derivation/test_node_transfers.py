"""Control passed by graph nodes rather than tools (LangGraph's ``Command(goto=...)``), on a
recorded LangGraph run (tests/support/record_langgraph.py) edited the way other runs differ:
a node that failed, a routing node before any model call, two nodes passing control in turn.

In the recording, ``planner`` answers, then the ``route`` node returns ``Command(goto="writer")``
and ``writer`` answers.
"""

from __future__ import annotations

import dataclasses

from support.paths import DATA

from otel_bridge import derive, load_spans
from otel_bridge.spans import SpanRecord, freeze

RECORDED = DATA / "langgraph" / "command_goto.otlp.json"
GOTO_WRITER = '{"graph": null, "update": null, "resume": null, "goto": "writer"}'


def recorded() -> list[SpanRecord]:
    spans = load_spans(str(RECORDED))
    assert [s.attributes.get("output.value") for s in spans if s.name == "route"] == [GOTO_WRITER]
    return spans


def route_of(spans: list[SpanRecord]) -> SpanRecord:
    (route,) = [s for s in spans if s.name == "route"]
    return route


def test_a_node_that_failed_passes_no_control() -> None:
    spans = [dataclasses.replace(s, status="ERROR") if s.name == "route" else s for s in recorded()]
    trace = derive(spans)
    assert trace.handoffs == []
    assert "handoff_rejected" in trace.issues
    assert [c.agent for c in trace.llm_calls] == ["planner", "writer"]


def test_a_routing_node_before_any_model_call_hands_off_from_no_agent() -> None:
    """A graph whose first node routes to the planner, then the recorded run: two handoffs,
    the first from no agent (nobody had spoken), the second from the planner."""
    spans = recorded()
    route = route_of(spans)
    root = min(spans, key=lambda s: s.start_ns)
    first_call = min(s.start_ns for s in spans if s.name == "ChatOpenAI")
    entry = dataclasses.replace(
        route,
        span_id=route.span_id + 1,
        name="entry",
        start_ns=root.start_ns + 1,
        end_ns=root.start_ns + 2,
        attributes=freeze(
            {
                **route.attributes,
                "output.value": GOTO_WRITER.replace("writer", "planner"),
                "metadata": route.attributes["metadata"].replace("route", "entry"),
            }
        ),
    )
    assert entry.end_ns < first_call
    trace = derive([*spans, entry])
    assert [(h.from_agent, h.to_agent, h.at_ns) for h in trace.handoffs] == [
        (None, "planner", entry.end_ns),
        ("planner", "writer", route.end_ns),
    ]
    assert "handoff_rejected" not in trace.issues


def test_the_only_routing_node_before_any_model_call_hands_off_from_no_agent() -> None:
    """The planner's spans left out: the graph routes to the writer before anyone spoke."""
    spans = recorded()
    planner = {s.span_id for s in spans if s.name.startswith("planner")}
    planner |= {s.span_id for s in spans if s.parent_id in planner}
    kept = [s for s in spans if s.span_id not in planner]
    trace = derive(kept)
    assert [(h.from_agent, h.to_agent) for h in trace.handoffs] == [(None, "writer")]
    assert [c.agent for c in trace.llm_calls] == ["writer"]
