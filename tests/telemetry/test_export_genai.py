"""What Telemetry exports in each ``semconv`` mode: real agents against the scripted server,
exported to an OTLP/JSON file and read back.

Every mode derives to the run captured in memory; ``genai``/``both`` speak the GenAI agent
conventions (``chat``/``execute_tool``/``invoke_workflow`` spans, one ``invoke_agent`` span per
agent activation, ``gen_ai.*`` attributes), ``genai`` without OpenInference attributes. The
trace stays a tree in every mode.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openinference.semconv.trace import SpanAttributes as SA
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.adapter_fixtures import calc_agent
from support.records import MS, TraceBuilder, assistant, readable, sys, tool_result, user
from support.runs import traced
from support.scenarios import Run, Scenario, add_and_count, chain, handoff, react

from otel_bridge import Telemetry, derive, load_spans
from otel_bridge.conventions import genai_attributes as genai
from otel_bridge.errors import ConfigError
from otel_bridge.scripted import (
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
)
from otel_bridge.spans import SpanRecord
from otel_bridge.telemetry import TelemetryConfig
from otel_bridge.telemetry._export_view import apply_plan, export_plan
from otel_bridge.telemetry._trace_buffer import EnrichingExporter

MODES = ("openinference", "genai", "both")


# ---- scenarios: real agents, scripted model -------------------------------------------------


def tool_raises(llm: ScriptedLLMServer) -> Run:
    """A tool that raises: its error becomes the tool message, the run goes on."""
    llm.set_script(
        [
            Reply(
                tool_calls=[ToolCallSpec("explode", {"reason": "bad input"})], usage=Usage(50, 5)
            ),
            Reply(content="The tool failed.", usage=Usage(80, 6)),
        ]
    )
    agent = calc_agent(llm, include_usage=True)
    return lambda: agent.run(user_msg="Explode, please.")


def http_error(llm: ScriptedLLMServer) -> Run:
    """The model answers HTTP 500 on the second call: the run fails."""
    llm.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("add", {"a": 1, "b": 2})], usage=Usage(40, 4)),
            Reply(status=500),
        ]
    )
    agent = calc_agent(llm, include_usage=True)
    return lambda: agent.run(user_msg="Add 1 and 2.")


SCENARIOS: dict[str, Scenario] = {
    "handoff": handoff,
    "chain": chain,
    "two_tools": add_and_count,
    "react": react,
    "tool_raises": tool_raises,
}
# The invoke_agent spans each scenario gets, in order.
ACTIVATIONS = {
    "handoff": ["researcher", "writer"],
    "chain": ["planner", "solver", "reviewer"],
    "two_tools": ["calculator"],
    "react": ["reasoner"],
    "tool_raises": ["calc"],
}


@dataclass
class Exported:
    """One run: its result, trace id, the captured spans and the spans as exported."""

    result: Any
    trace_id: str
    captured: list[SpanRecord]
    exported: list[SpanRecord]

    def named(self, prefix: str) -> list[SpanRecord]:
        return sorted(
            (s for s in self.exported if s.name.startswith(prefix)), key=lambda s: s.start_ns
        )

    def by_id(self) -> dict[int, SpanRecord]:
        return {s.span_id: s for s in self.exported}


async def export_run(
    run: Run, mode: str, path: Path, genai_content: bool | None = None
) -> Exported:
    """Run once under a Telemetry exporting to ``path`` in ``mode``; read the file back."""
    telemetry = Telemetry(
        otlp_json_file=path,
        service_name="otel-bridge-export-tests",
        semconv=mode,  # type: ignore[arg-type]
        genai_content=genai_content,
    )
    try:
        result, trace_id = await traced(telemetry, run)
        telemetry.force_flush()
        captured = telemetry.spans(trace_id)
    finally:
        telemetry.shutdown()
    exported = [s for s in load_spans(path) if s.trace_id_hex == trace_id]
    return Exported(result, trace_id, captured, exported)


def assert_tree(spans: list[SpanRecord]) -> SpanRecord:
    """One root, every parent present, no cycle, no duplicate id; returns the root."""
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == len(spans), "duplicate span ids"
    roots = [s for s in spans if s.parent_id is None]
    assert len(roots) == 1, [s.name for s in roots]
    for span in spans:
        seen = {span.span_id}
        current = span
        while current.parent_id is not None:
            assert current.parent_id in by_id, f"{current.name}: parent missing"
            current = by_id[current.parent_id]
            assert current.span_id not in seen, "parent cycle"
            seen.add(current.span_id)
    return roots[0]


# ---- every scenario, every mode ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_export_derives_to_the_captured_run_and_stays_a_tree(
    scenario: str, mode: str, llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    run = await export_run(SCENARIOS[scenario](llm), mode, tmp_path / "run.otlp.json")

    assert derive(run.exported).to_dict() == derive(run.captured).to_dict()
    root = assert_tree(run.exported)
    assert root.name == "test-run" and root.status == "OK"
    assert not any(genai.OPERATION in s.attributes for s in run.captured), "capture unchanged"

    agents = run.named("invoke_agent ")
    if mode == "openinference":
        assert agents == []
        steps = [s for s in run.exported if s.name.endswith(".run_agent_step")]
        assert {s.name.split(".")[0] for s in steps} == set(ACTIVATIONS[scenario])
        assert len(run.exported) == len(run.captured)
        return
    assert [s.name for s in agents] == [f"invoke_agent {a}" for a in ACTIVATIONS[scenario]]
    assert len(run.exported) == len(run.captured) + len(agents)
    (workflow,) = run.named("invoke_workflow ")
    assert workflow.status == "OK"
    assert {s.parent_id for s in agents} == {workflow.span_id}
    assert all(s.kind == "INTERNAL" for s in agents)
    by_id = run.by_id()
    for span in run.exported:  # every step sits under the invoke_agent of its own agent
        if span.name.endswith(".run_agent_step"):
            parent = by_id[span.parent_id or 0]
            assert parent.name == f"invoke_agent {span.attributes[genai.AGENT_NAME]}"
    for earlier, later in itertools.pairwise(agents):
        assert earlier.end_ns <= later.start_ns  # one agent at a time
    if mode == "genai":
        assert not any(
            k.startswith(("llm.", "input.", "output.", "tool."))
            for s in run.exported
            for k in s.attributes
        )
        assert not any(SA.OPENINFERENCE_SPAN_KIND in s.attributes for s in run.exported)


# ---- what one chat, one tool, one agent and the workflow say in GenAI ---------------------------


def parsed(attributes: dict[str, Any], key: str) -> Any:
    return json.loads(attributes.pop(key))


async def test_every_genai_attribute_is_accounted_for(
    llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    run = await export_run(add_and_count(llm), "genai", tmp_path / "run.otlp.json")
    first, second = llm.log
    add_id, count_id = first.tool_call_ids
    chat1, chat2 = run.named("chat ")
    (agent,) = run.named("invoke_agent ")
    (workflow,) = run.named("invoke_workflow ")
    (add_tool,) = run.named("execute_tool add")

    attrs = dict(chat1.attributes)
    ttft = attrs.pop(genai.TIME_TO_FIRST_CHUNK)
    assert isinstance(ttft, float) and 0 < ttft <= (chat1.end_ns - chat1.start_ns) / 1e9
    assert parsed(attrs, genai.INPUT_MESSAGES) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are the calculator."}]},
        {
            "role": "user",
            "parts": [{"type": "text", "content": "What is 2 + 3, and how many words is that?"}],
        },
    ]
    assert parsed(attrs, genai.OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": add_id, "name": "add", "arguments": '{"a": 2, "b": 3}'},
                {
                    "type": "tool_call",
                    "id": count_id,
                    "name": "word_count",
                    "arguments": '{"text": "two plus three"}',
                },
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert [d["name"] for d in parsed(attrs, genai.TOOL_DEFINITIONS)] == ["add", "word_count"]
    assert attrs == {
        genai.OPERATION: "chat",
        genai.PROVIDER: "openai",
        genai.REQUEST_MODEL: "gpt-4o-mini",
        genai.REQUEST_STREAM: True,
        genai.FINISH_REASONS: ("tool_calls",),
        genai.INPUT_TOKENS: 90,
        genai.OUTPUT_TOKENS: 9,
        genai.CACHE_READ_TOKENS: 64,
        genai.REASONING_TOKENS: 3,
        genai.AGENT_NAME: "calculator",
    }
    assert chat1.kind == "CLIENT" and chat1.name == "chat gpt-4o-mini"
    assert [e.name for e in chat1.events] == ["First Token Stream Event"]
    # The second call reported neither cached nor reasoning tokens: none are written.
    assert genai.CACHE_READ_TOKENS not in chat2.attributes
    assert genai.REASONING_TOKENS not in chat2.attributes
    assert (chat2.attributes[genai.INPUT_TOKENS], chat2.attributes[genai.OUTPUT_TOKENS]) == (120, 6)
    assert chat2.attributes[genai.FINISH_REASONS] == ("stop",)
    assert json.loads(chat2.attributes[genai.OUTPUT_MESSAGES])[0]["finish_reason"] == "stop"
    assert [m["role"] for m in json.loads(chat2.attributes[genai.INPUT_MESSAGES])] == [
        "system", "user", "assistant", "tool", "tool"
    ]  # fmt: skip
    assert second.messages[-1]["tool_call_id"] == count_id

    attrs = dict(add_tool.attributes)
    assert attrs == {
        genai.OPERATION: "execute_tool",
        genai.TOOL_NAME: "add",
        genai.TOOL_TYPE: "function",
        genai.TOOL_CALL_ID: add_id,
        genai.TOOL_DESCRIPTION: "add(a: 'int', b: 'int') -> 'int'\nAdd two integers.",
        genai.TOOL_CALL_ARGUMENTS: '{"a": 2, "b": 3}',
        genai.TOOL_CALL_RESULT: "5",
        genai.AGENT_NAME: "calculator",
    }
    assert add_tool.kind == "INTERNAL"

    attrs = dict(agent.attributes)
    assert parsed(attrs, genai.SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "You are the calculator."}
    ]
    assert attrs == {
        genai.OPERATION: "invoke_agent",
        genai.AGENT_NAME: "calculator",
        genai.PROVIDER: "openai",
        genai.REQUEST_MODEL: "gpt-4o-mini",
        genai.INPUT_TOKENS: 210,
        genai.OUTPUT_TOKENS: 15,
        # cached and reasoning tokens: reported by one call of two, so no total
    }
    assert agent.scope == "otel_bridge"

    attrs = dict(workflow.attributes)
    assert parsed(attrs, genai.INPUT_MESSAGES) == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "What is 2 + 3, and how many words is that?"}],
        }
    ]
    assert parsed(attrs, genai.OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "2 + 3 = 5, in three words."}],
            "finish_reason": "stop",
        }
    ]
    assert attrs == {genai.OPERATION: "invoke_workflow", genai.WORKFLOW_NAME: "FunctionAgent"}
    assert workflow.name == "invoke_workflow FunctionAgent"

    root = next(s for s in run.exported if s.parent_id is None)
    assert dict(root.attributes) == {}
    for span in run.exported:
        if span.name.endswith((".run_agent_step", "._prepare_chat_with_tools")):
            assert dict(span.attributes) == {genai.AGENT_NAME: "calculator"}, span.name


async def test_both_keeps_openinference_beside_genai(
    llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    run = await export_run(add_and_count(llm), "both", tmp_path / "run.otlp.json")
    chat1, _ = run.named("chat ")
    (agent,) = run.named("invoke_agent ")
    (add_tool,) = run.named("execute_tool add")
    assert chat1.attributes[SA.OPENINFERENCE_SPAN_KIND] == "LLM"
    assert chat1.attributes[SA.LLM_TOKEN_COUNT_PROMPT] == chat1.attributes[genai.INPUT_TOKENS] == 90
    assert add_tool.attributes[SA.TOOL_NAME] == add_tool.attributes[genai.TOOL_NAME] == "add"
    assert agent.attributes[SA.OPENINFERENCE_SPAN_KIND] == "AGENT"
    assert agent.attributes[SA.AGENT_NAME] == agent.attributes[genai.AGENT_NAME] == "calculator"


async def test_handoff_is_a_transfer_in_every_mode(llm: ScriptedLLMServer, tmp_path: Path) -> None:
    for mode in MODES:
        run = await export_run(handoff(llm), mode, tmp_path / f"{mode}.otlp.json")
        (tool,) = [s for s in run.exported if genai.TRANSFER_MODE in s.attributes]
        assert {k: v for k, v in tool.attributes.items() if k.startswith("gen_ai.transfer.")} == {
            genai.TRANSFER_TARGET_NAME: "writer",
            genai.TRANSFER_TARGET_TYPE: "agent",
            genai.TRANSFER_MODE: "pass_control",
        }, mode
        assert tool.attributes[genai.AGENT_NAME] == "researcher"
        assert tool.name == (
            "researcher.handoff → writer"
            if mode == "openinference"
            else "execute_tool handoff → writer"
        )
        assert not any("gen_ai.agent.handoff" in k for s in run.exported for k in s.attributes)


# ---- what a person sees: no phantom calls, calls as long as they last, run status ----------------


@pytest.mark.parametrize("mode", MODES)
async def test_calls_last_as_long_as_the_model_streamed_and_none_is_a_phantom(
    mode: str, llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    delay = 0.05  # the server waits this long after each chunk of the answer (>= 3 chunks)
    run = await export_run(
        add_and_count(llm, chunk_delay_s=delay), mode, tmp_path / "run.otlp.json"
    )
    trace = derive(run.captured)
    captured = {s.span_id: s for s in run.captured}
    by_id = run.by_id()

    answer = trace.llm_calls[-1]
    span = by_id[int(answer.span_id, 16)]
    assert span.end_ns == answer.end_ns > captured[span.span_id].end_ns
    assert (span.end_ns - span.start_ns) / 1e9 >= 3 * delay
    assert (captured[span.span_id].end_ns - span.start_ns) / 1e9 < 3 * delay  # why we fix it
    assert [e.name for e in span.events] == ["First Token Stream Event"]
    ttft = span.attributes[genai.TIME_TO_FIRST_CHUNK]
    assert ttft == answer.time_to_first_token_ns / 1e9  # type: ignore[operator]
    assert ttft == (span.events[0].time_ns - span.start_ns) / 1e9

    prepared = [s for s in run.exported if s.name.endswith("._prepare_chat_with_tools")]
    assert len(prepared) == 2
    for span in prepared:
        kind = span.attributes.get(SA.OPENINFERENCE_SPAN_KIND)
        assert kind == (None if mode == "genai" else "CHAIN")
        assert genai.OPERATION not in span.attributes
    llm_kind = [s for s in run.exported if s.attributes.get(SA.OPENINFERENCE_SPAN_KIND) == "LLM"]
    assert len(llm_kind) == (0 if mode == "genai" else 2)


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_run_says_so_on_its_root_and_workflow(
    mode: str, llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    run = await export_run(http_error(llm), mode, tmp_path / "run.otlp.json")
    assert isinstance(run.result, Exception)
    assert derive(run.exported).to_dict() == derive(run.captured).to_dict()
    root = assert_tree(run.exported)
    workflow = run.by_id()[
        next(s.parent_id for s in run.exported if s.name.endswith("run_agent_step")) or 0
    ]
    if mode != "openinference":
        workflow = run.by_id()[workflow.parent_id or 0]  # the step hangs under invoke_agent
    for span in (root, workflow):
        assert span.status == "ERROR", span.name
        assert "Error code: 500" in span.status_message, span.name
    if mode == "openinference":
        return
    failed_chat = run.named("chat ")[-1]
    assert failed_chat.status == "ERROR"
    assert failed_chat.attributes[genai.ERROR_TYPE] == "openai.InternalServerError"
    assert workflow.attributes[genai.ERROR_TYPE] == "openai.InternalServerError"
    (agent,) = run.named("invoke_agent ")
    assert (
        agent.status == "ERROR"
        and agent.attributes[genai.ERROR_TYPE] == "openai.InternalServerError"
    )
    # The failed call reported no tokens, so the agent's total is unknown: not written.
    assert genai.INPUT_TOKENS not in agent.attributes
    assert run.named("chat ")[0].attributes[genai.INPUT_TOKENS] == 40


async def test_a_raising_tool_in_genai(llm: ScriptedLLMServer, tmp_path: Path) -> None:
    run = await export_run(tool_raises(llm), "genai", tmp_path / "run.otlp.json")
    (tool,) = run.named("execute_tool explode")
    assert tool.status == "ERROR"
    assert tool.attributes[genai.ERROR_TYPE] == "RuntimeError"
    assert genai.TOOL_CALL_RESULT not in tool.attributes  # no result when it failed
    assert json.loads(tool.attributes[genai.TOOL_CALL_ARGUMENTS]) == {"reason": "bad input"}
    (agent,) = run.named("invoke_agent ")
    assert agent.status == "UNSET"  # the agent went on: a failing tool does not fail it


# ---- message content: opt-in --------------------------------------------------------------------

CONTENT_KEYS = (
    genai.INPUT_MESSAGES,
    genai.OUTPUT_MESSAGES,
    genai.SYSTEM_INSTRUCTIONS,
    genai.TOOL_DEFINITIONS,
    genai.TOOL_CALL_ARGUMENTS,
    genai.TOOL_CALL_RESULT,
)


async def test_content_off_exports_no_message_content(
    llm: ScriptedLLMServer, tmp_path: Path
) -> None:
    run = await export_run(
        add_and_count(llm), "genai", tmp_path / "off.otlp.json", genai_content=False
    )
    assert not any(k in s.attributes for s in run.exported for k in CONTENT_KEYS)
    assert run.named("chat ")[0].attributes[genai.INPUT_TOKENS] == 90  # the rest is there


async def test_content_follows_openinference_by_default(
    llm: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "true")
    run = await export_run(add_and_count(llm), "genai", tmp_path / "hidden.otlp.json")
    assert not any(k in s.attributes for s in run.exported for k in CONTENT_KEYS)
    monkeypatch.undo()
    run = await export_run(
        add_and_count(llm), "genai", tmp_path / "on.otlp.json", genai_content=True
    )
    assert genai.INPUT_MESSAGES in run.named("chat ")[0].attributes


# ---- configuration -------------------------------------------------------------------------------


def test_semconv_from_arguments_and_environment() -> None:
    assert TelemetryConfig().semconv == "openinference"
    assert TelemetryConfig.from_env({"OTEL_BRIDGE_SEMCONV": "GenAI"}).semconv == "genai"
    assert TelemetryConfig.from_env({}).semconv == "openinference"
    with pytest.raises(
        ConfigError, match="unsupported semconv 'otel'; use one of openinference, genai, both"
    ):
        TelemetryConfig.from_env({"OTEL_BRIDGE_SEMCONV": "otel"})
    with pytest.raises(ConfigError):
        Telemetry(semconv="genai2")  # type: ignore[arg-type]


# ---- the export buffer: new spans once, late children under them ---------------------------------


def test_invoke_agent_spans_are_exported_once_and_late_children_join_them() -> None:
    b = TraceBuilder(0xFEED)
    root = b.root(0, 100)
    step = b.step(root, "a", 1, 20)
    b.llm(step, 2, 10, [sys("S"), user("2+3?")], [assistant(calls=[("c1", "add", {})])])
    call_tool = b.call_tool(root, "c1", 21, 30)
    b.tool(call_tool, "add", {"a": 2, "b": 3}, "5", 22, 29)
    step2 = b.step(root, "a", 31, 50)
    b.llm(step2, 32, 40, [sys("S"), user("2+3?"), tool_result("c1", "5")], [assistant("5")])
    late = b.span("AgentWorkflow.parse_agent_output", 51, 52, root)

    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    inner, clock = InMemorySpanExporter(), Clock()
    exporter = EnrichingExporter(inner, clock=clock, timer=False, semconv="genai", grace_s=1.0)
    exporter.export([readable(r) for r in b.spans if r is not late])
    clock.now += 2
    exporter.flush_due()
    exporter.export([readable(late)])
    exporter.force_flush()

    spans = inner.get_finished_spans()
    agents = [s for s in spans if s.name == "invoke_agent a"]
    assert len(agents) == 1
    (exported_late,) = [s for s in spans if s.context.span_id == late.span_id]
    assert exported_late.parent is not None
    assert exported_late.parent.span_id == agents[0].context.span_id
    assert len(spans) == len(b.spans) + 1


def test_an_agent_that_comes_back_gets_a_new_activation() -> None:
    """researcher -> writer -> researcher: three invoke_agent spans tiling the workflow."""
    b = TraceBuilder(0xBEEF)
    root = b.root(0, 100)
    setup = b.span("AgentWorkflow.setup_agent", 1, 2, root)
    for agent, start in (("researcher", 10), ("writer", 40), ("researcher", 70)):
        step = b.step(root, agent, start, start + 10)
        b.llm(step, start + 1, start + 9, [sys(agent), user("go")], [assistant("ok")])
        b.span("AgentWorkflow.parse_agent_output", start + 11, start + 12, root)
    late_end = b.span("AgentWorkflow.parse_agent_output", 95, 120, root)  # ends after its parent

    plan = export_plan(b.spans, "genai")
    agents = plan.added
    assert [(s.name, s.start_ns // MS, s.end_ns // MS) for s in agents] == [
        ("invoke_agent researcher", 10, 40),
        ("invoke_agent writer", 40, 70),
        ("invoke_agent researcher", 70, 120),
    ]
    assert len({s.span_id for s in agents}) == 3
    assert {s.parent_id for s in agents} == {root.span_id}
    moved = {child: parent for child, edit in plan.edits.items() if (parent := edit.parent_id)}
    assert setup.span_id not in moved  # before the first activation: stays under the workflow
    assert moved[late_end.span_id] == agents[2].span_id
    exported = apply_plan(b.spans, plan)
    assert_tree(exported)
    assert derive(exported).to_dict() == derive(b.spans).to_dict()
    assert export_plan(b.spans, "genai").added == agents  # the same ids every time


def test_a_trace_without_agent_steps_gets_no_agent_span() -> None:
    b = TraceBuilder(0xCAFE)
    root = b.span("plain-run", 0, 10)
    b.llm(root, 1, 9, [user("hi")], [assistant("hello")])
    plan = export_plan(b.spans, "both")
    assert plan.added == []
    (chat,) = [s for s in apply_plan(b.spans, plan) if s.span_id != root.span_id]
    assert (chat.name, chat.kind) == ("chat gpt-4o-mini", "CLIENT")
    assert chat.attributes[genai.OPERATION] == "chat"
    assert chat.attributes[SA.OPENINFERENCE_SPAN_KIND] == "LLM"
