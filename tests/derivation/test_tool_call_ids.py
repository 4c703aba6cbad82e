"""Each tool span's call id and agent: the id it carries, else the model call that asked for
it (by name, the same arguments first, even when recorded oddly), and the arguments the model
asked with where the span kept only a bare argument."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes as oi
from support.genai_spans import genai_chat
from support.paths import DATA
from support.records import KIND, TraceBuilder, assistant, user
from support.value_log import derive_logged

from otel_bridge import derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.spans import SpanRecord, freeze

SDK_SCOPE = "opentelemetry.instrumentation.genai.openai_agents"  # matches tool spans to calls
DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested deeper than any reader follows


def agent_run(
    b: TraceBuilder, parent: SpanRecord, name: str, start: float, end: float
) -> SpanRecord:
    attrs = {genai.OPERATION: "invoke_agent", genai.AGENT_NAME: name}
    return b.span(f"invoke_agent {name}", start, end, parent, attrs=attrs)


def chat(
    b: TraceBuilder, parent: SpanRecord, start: float, end: float, parts: list[dict[str, Any]]
) -> SpanRecord:
    """A GenAI ``chat`` span whose answer is ``parts`` (text, tool calls)."""
    return b.span("chat gpt-4o-mini", start, end, parent, attrs=genai_chat(parts=parts))


def asks(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def says(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def execute(
    b: TraceBuilder,
    parent: SpanRecord,
    start: float,
    name: str,
    arguments: Any,
    **extra: Any,
) -> SpanRecord:
    attrs = {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: name,
        genai.TOOL_CALL_ARGUMENTS: json.dumps(arguments),
        genai.TOOL_CALL_RESULT: "done",
        **extra,
    }
    return b.span(f"execute_tool {name}", start, start + 2, parent, attrs=attrs)


def ids(b: TraceBuilder) -> list[tuple[str, str | None, str | None]]:
    return [(t.name, t.agent, t.tool_call_id) for t in derive(b.spans).tool_calls]


def test_a_tool_given_more_arguments_than_the_model_asked_for_gets_its_call_id() -> None:
    """The tool ran with a default filled in: no asked call has its arguments, the one asked
    by its name is it."""
    b = TraceBuilder(scope=SDK_SCOPE)
    root = b.span("workflow", 0, 100)
    run = agent_run(b, root, "researcher", 0, 90)
    chat(b, run, 1, 10, [asks("c1", "search", {"q": "otel"})])
    execute(b, run, 11, "search", {"q": "otel", "limit": 10})
    assert ids(b) == [("search", "researcher", "c1")]


def test_a_tool_the_agents_latest_reply_did_not_ask_for_has_no_call_id() -> None:
    b = TraceBuilder(scope=SDK_SCOPE)
    root = b.span("workflow", 0, 100)
    run = agent_run(b, root, "researcher", 0, 90)
    chat(b, run, 1, 10, [asks("c1", "search", {"q": "otel"})])
    execute(b, run, 11, "search", {"q": "otel"})
    chat(b, run, 14, 20, [says("Let me look once more.")])
    execute(b, run, 21, "search", {"q": "otel"})
    assert ids(b) == [("search", "researcher", "c1"), ("search", "researcher", None)]


def test_a_tool_is_matched_to_its_own_agents_call_past_another_agents_later_call() -> None:
    """The researcher asked for the search; the writer, running beside it, called its model
    after that and before the search ran."""
    b = TraceBuilder(scope=SDK_SCOPE)
    root = b.span("workflow", 0, 100)
    researcher = agent_run(b, root, "researcher", 0, 90)
    writer = agent_run(b, root, "writer", 0, 90)
    chat(b, researcher, 1, 10, [asks("c1", "search", {"q": "otel"})])
    chat(b, writer, 5, 12, [says("Drafting.")])
    execute(b, researcher, 13, "search", {"q": "otel"})
    assert ids(b) == [("search", "researcher", "c1")]


def test_a_tool_span_carrying_its_call_id_keeps_it() -> None:
    b = TraceBuilder(scope=SDK_SCOPE)
    root = b.span("workflow", 0, 100)
    run = agent_run(b, root, "researcher", 0, 90)
    chat(b, run, 1, 10, [asks("c1", "search", {"q": "a"}), asks("c2", "search", {"q": "b"})])
    execute(b, run, 11, "search", {"q": "b"}, **{genai.TOOL_CALL_ID: "c2"})
    assert ids(b) == [("search", "researcher", "c2")]


def test_a_tool_span_naming_its_agent_is_that_agents_whoever_asked_for_its_call() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    run = agent_run(b, root, "researcher", 0, 40)
    chat(b, run, 1, 10, [asks("c1", "research", {"topic": "otel"})])
    extra = {genai.TOOL_CALL_ID: "c1", genai.AGENT_NAME: "librarian"}
    execute(b, root, 11, "research", {"topic": "otel"}, **extra)
    assert ids(b) == [("research", "librarian", "c1")]


def test_a_tool_run_inside_an_agent_before_its_first_model_call_is_that_agents() -> None:
    b = TraceBuilder()
    root = b.span("workflow", 0, 100)
    researcher = agent_run(b, root, "researcher", 0, 20)
    chat(b, researcher, 1, 10, [says("Notes.")])
    writer = agent_run(b, root, "writer", 30, 90)
    execute(b, writer, 31, "load_template", {})
    chat(b, writer, 40, 50, [says("The brief.")])
    assert ids(b) == [("load_template", "writer", None)]


def test_a_llama_index_tool_output_nested_too_deep_is_flagged() -> None:
    b = TraceBuilder()
    root = b.root(0, 30)
    step = b.step(root, "solver", 0, 10)
    b.llm(step, 1, 9, [user("q")], [assistant(calls=[("c1", "search", {"q": "otel"})])])
    ct = b.call_tool(root, "c1", 11, 20)
    tool = b.tool(ct, "search", {"q": "otel"}, '{"blocks": ' + DEEP + "}", 12, 15)
    run, logged = derive_logged(b.spans)
    assert "rejected_values" in run.issues
    assert [line.split(": ")[0] for line in logged] == [
        f"span {tool.span_id:016x} attribute output.value"
    ]


# ---- OpenInference on the OpenAI Agents SDK: the answer kept in the response objects -------


def with_first_answer(outputs: list[dict[str, Any]]) -> list[SpanRecord]:
    """The recorded streamed run, its researcher's first answer (a search) replaced."""
    spans = sorted(
        load_spans(str(DATA / "openai_agents" / "team_streamed.otlp.json")),
        key=lambda s: s.start_ns,
    )
    first = next(i for i, s in enumerate(spans) if s.name == "generation")
    (response,) = json.loads(spans[first].attributes["output.value"])
    response["output"] = outputs
    attributes = {**spans[first].attributes, "output.value": json.dumps([response])}
    spans[first] = dataclasses.replace(spans[first], attributes=freeze(attributes))
    return spans


SEARCH_ID = "call_d7b59de276b03fd9b3e50000"  # the recorded search's id


def function_call(call_id: str, arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": "search", "arguments": arguments}


def test_the_search_that_ran_is_told_from_odd_recorded_requests_by_its_arguments() -> None:
    """Four searches asked: arguments cut short (not JSON), none, other arguments, and the
    search that ran, its arguments recorded as an object rather than JSON text. The messages
    hold every request's arguments as JSON text, as OpenAI's format does."""
    spans = with_first_answer(
        [
            function_call("call_cut", '{"query": "ot'),
            {"type": "function_call", "call_id": "call_bare", "name": "search"},
            function_call("call_other", '{"query": "other"}'),
            function_call(SEARCH_ID, {"query": "otel"}),
        ]
    )
    trace = derive(spans)
    search = trace.tool_calls[0]
    assert (search.name, search.tool_call_id) == ("search", SEARCH_ID)
    asked = next(m for m in trace.messages if m.get("tool_calls"))
    assert [(c["id"], c["function"]["arguments"]) for c in asked["tool_calls"]] == [
        ("call_cut", '{"query": "ot'),
        ("call_bare", "{}"),
        ("call_other", '{"query": "other"}'),
        (SEARCH_ID, '{"query": "otel"}'),
    ]


def test_a_recorded_request_with_a_number_for_its_id_is_read_as_text_and_flagged() -> None:
    spans = with_first_answer(
        [{"type": "function_call", "call_id": 17, "name": "search", "arguments": "{}"}]
    )
    trace, logged = derive_logged(spans)
    asked = next(m for m in trace.messages if m.get("tool_calls"))
    assert [c["id"] for c in asked["tool_calls"]] == ["17"]
    assert "coerced_values" in trace.issues
    assert [line.split(" attribute ")[1] for line in logged] == [
        "output.value function_call.call_id: coerced 17 (text)"
    ]


# ---- a bare argument recorded (LangChain's single-argument tools) --------------------------


def bare_tool(
    b: TraceBuilder, parent: SpanRecord, name: str, argument: str, start: float
) -> SpanRecord:
    """A tool span recording the one argument itself, not an object of arguments."""
    attrs = {KIND: "TOOL", oi.TOOL_NAME: name, oi.INPUT_VALUE: argument, oi.OUTPUT_VALUE: "ok"}
    return b.span(name, start, start + 1, parent, attrs=attrs)


@pytest.mark.parametrize("odd_id", ["", "XXXX"])
def test_tools_with_a_bare_argument_get_the_arguments_asked_by_their_call_id_only(
    odd_id: str,
) -> None:
    """The model asked for four calls; ``odd_id`` is an id a model server made up (empty, a
    placeholder) for a call no tool span carries."""
    b = TraceBuilder()
    root = b.root(0, 60)
    step = b.step(root, "solver", 0, 10)
    asking = assistant(
        calls=[
            ("c1", "search", {"query": "otel"}),
            ("c3", "rank", {"query": "otel"}),
            (odd_id, "lookup", {"term": "otel"}),
        ]
    )
    # arguments that are not an object
    asking["tool_calls"].insert(1, {"id": "c2", "name": "fetch", "args": ["https://otel.io"]})
    b.llm(step, 1, 9, [user("q")], [asking])
    for n, (name, argument) in enumerate([("search", "otel"), ("fetch", "https://otel.io")]):
        bare_tool(
            b, b.call_tool(root, f"c{n + 1}", 11 + 5 * n, 15 + 5 * n), name, argument, 12 + 5 * n
        )
    b.tool(b.call_tool(root, "c3", 21, 25), "rank", {"query": "otel", "top": 3}, "ranked", 22, 24)
    bare_tool(b, root, "lookup", "otel", 30)  # no call id of its own
    tools = derive(b.spans).tool_calls
    assert [(t.name, t.tool_call_id, t.arguments) for t in tools] == [
        ("search", "c1", {"query": "otel"}),
        ("fetch", "c2", "https://otel.io"),
        ("rank", "c3", {"query": "otel", "top": 3}),
        ("lookup", None, "otel"),
    ]
