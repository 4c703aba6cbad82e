"""LlamaIndexAgentAdapter on real LlamaIndex agents: messages, traces, usage, config, failures."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest
from llama_index.core.agent.workflow import CodeActAgent, FunctionAgent, ReActAgent
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI
from maseval import DefaultSeedGenerator, Task
from maseval import TokenUsage as MasevalTokenUsage
from maseval.core.callback import AgentCallback
from opentelemetry import trace as trace_api
from support.adapter_fixtures import (
    CALC_PROMPT,
    add,
    calc_agent,
    calc_replies,
    demo,
    demo_workflow,
    module_telemetry,
    scripted_server,
    server,
)

from otel_bridge import RunTrace, Telemetry
from otel_bridge.errors import ConfigError
from otel_bridge.maseval_adapter import (
    LlamaIndexAgentAdapter,
    default_telemetry,
    maseval_labels,
)
from otel_bridge.maseval_adapter._background_loop import run_sync
from otel_bridge.scripted import (
    ConversationRouter,
    Reply,
    ScriptedLLMServer,
    ToolCallSpec,
    Usage,
    codeact_execute,
    react_action,
    react_answer,
    scripted_openai_llm,
)
from otel_bridge.telemetry import CapturedTrace

__all__ = ["module_telemetry", "scripted_server", "server"]  # fixtures, imported for pytest


def calc_adapter(server: ScriptedLLMServer, module_telemetry: Telemetry, **kwargs: Any) -> Any:
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    return LlamaIndexAgentAdapter(calc_agent(server), "calc", module_telemetry, **kwargs)


# ----------------------------------------------------------------------------- derived data


def test_messages_come_from_spans_with_every_tool_call(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry)
    assert adapter.get_messages().to_list() == []
    assert adapter.run("What is 2 + 3?") == "The sum is 5."

    messages = adapter.get_messages().to_list()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert all(isinstance(m["content"], str) for m in messages)
    call = messages[2]
    assert call["content"] == ""
    (tool_call,) = call["tool_calls"]
    assert tool_call["type"] == "function"
    assert tool_call["function"] == {"name": "add", "arguments": '{"a": 2, "b": 3}'}
    assert messages[3] == {
        "role": "tool",
        "content": "5",
        "tool_call_id": tool_call["id"],
        "name": "add",
        "agent": "calc",
    }
    assert {m["agent"] for m in messages} == {"calc"}


def test_workflow_traces_carry_usage_agents_handoffs_exactly(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    script = demo()
    server.set_script(script.router())
    adapter = LlamaIndexAgentAdapter(demo_workflow(server), "team", module_telemetry)
    assert adapter.run(script.user_msg) == script.answer
    traces = adapter.gather_traces()
    json.dumps(traces)

    # The demo script's usage: researcher 412+21 and 538+27 (384 cached), writer 601+44 and
    # 689+31 (512 cached).
    assert traces["usage"] == {
        "input_tokens": 2240,
        "output_tokens": 123,
        "total_tokens": 2363,
        "cached_input_tokens": 896,
        "reasoning_tokens": 0,
        "complete": True,
        "missing_calls": 0,
    }
    assert server.usage_sent_total() == Usage(2240, 123, 896, 0)  # what the server really sent
    assert {name: a["usage"]["total_tokens"] for name, a in traces["agents"].items()} == {
        "researcher": 998,
        "writer": 1365,
    }
    assert {name: a["tool_calls"] for name, a in traces["agents"].items()} == {
        "researcher": 2,  # search, handoff
        "writer": 1,
    }
    (handoff,) = traces["handoffs"]
    assert (handoff["from"], handoff["to"]) == ("researcher", "writer")
    run = adapter.last_run
    assert run is not None and handoff["trace_id"] == traces["trace_ids"][0] == run.trace_id
    assert [run["trace_id"] for run in traces["runs"]] == traces["trace_ids"]
    assert set(traces["timings"]["per_agent_s"]) == {"researcher", "writer"}
    assert traces["issues"] == []
    tool_names = [m.get("name") for m in traces["messages"] if m["role"] == "tool"]
    assert tool_names == ["search", "handoff", "word_count"]


def test_gather_usage_sums_every_call_of_every_run(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    more = Reply(content="More.", usage=Usage(150, 3))
    server.set_script(ConversationRouter({"First": [*calc_replies(1, 2, seed=3), more]}))
    pricing = PerCallPricing()
    adapter = LlamaIndexAgentAdapter(
        calc_agent(server), "calc", module_telemetry, cost_calculator=pricing
    )
    assert adapter.gather_usage().cost == 0.0  # nothing yet
    adapter.run("First question")
    adapter.run("Second question")
    usage = adapter.gather_usage()
    assert isinstance(usage, MasevalTokenUsage)
    # calc_replies(seed=3): 103+13 (3 cached) and 133+7; then 150+3
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (386, 23, 409)
    assert usage.cached_input_tokens == 3
    assert usage.units == {"llm_calls": 3, "llm_calls_missing_usage": 0, "llm_calls_unpriced": 0}
    # A MASEval cost calculator is asked for each call, with that call's model.
    assert pricing.asked == [("gpt-4o-mini", 116), ("gpt-4o-mini", 140), ("gpt-4o-mini", 153)]
    assert usage.cost == pytest.approx(0.409)


class PerCallPricing:
    """A MASEval cost calculator: a thousandth of a dollar per token, for gpt-4o-mini only."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def calculate_cost(self, usage: MasevalTokenUsage, model_id: str) -> float | None:
        self.asked.append((model_id, usage.total_tokens))
        return usage.total_tokens / 1000 if model_id == "gpt-4o-mini" else None


def test_config_describes_agents_handoffs_and_telemetry_without_secrets(
    server: ScriptedLLMServer,
) -> None:
    with Telemetry(
        otlp_endpoint="http://user:secret-pw@127.0.0.1:9/", headers={"api-key": "secret-key"}
    ) as private:
        adapter = LlamaIndexAgentAdapter(demo_workflow(server), "team", private)
        config = adapter.gather_config()
    text = json.dumps(config)
    assert "secret" not in text
    assert config["telemetry"]["headers"] == ["api-key"]
    workflow = config["llamaindex"]
    assert workflow["root_agent"] == "researcher"
    assert workflow["handoffs"] == {"researcher": ["writer"], "writer": []}
    researcher, writer = workflow["agents"]
    assert researcher["system_prompt"] == demo().researcher_prompt
    assert [t["name"] for t in researcher["tools"]] == ["search"]
    assert [t["name"] for t in writer["tools"]] == ["word_count"]
    assert researcher["llm"] == {
        "class": "llama_index.llms.openai.base.OpenAI",
        "model": "gpt-4o-mini",
        "stream_usage": True,
    }
    assert [u["action"] for u in config["usage_reporting"]["agents"]] == ["enabled", "enabled"]


def test_config_never_raises_on_an_agent_that_refuses_to_be_read(
    module_telemetry: Telemetry,
) -> None:
    class Hostile:
        name = "hostile"

        def run(self, **kwargs: Any) -> None:
            raise NotImplementedError

        @property
        def tools(self) -> list[Any]:
            raise RuntimeError("no tools for you")

        @property
        def system_prompt(self) -> str:
            raise RuntimeError("no prompt either")

    adapter = LlamaIndexAgentAdapter(Hostile(), "hostile", module_telemetry)
    config = adapter.gather_config()
    json.dumps(config)
    (agent,) = config["llamaindex"]["agents"]
    assert agent["tools"] == [] and agent["system_prompt"] is None
    assert "RuntimeError: no tools for you" in config["llamaindex"]["errors"]


def test_rejects_objects_that_are_not_agents(module_telemetry: Telemetry) -> None:
    with pytest.raises(ConfigError, match="workflow agent"):
        LlamaIndexAgentAdapter(object(), "nothing", module_telemetry)
    with pytest.raises(ValueError, match="ctx"):
        LlamaIndexAgentAdapter(calc_agent_stub(), "stub", module_telemetry, run_kwargs={"ctx": 1})


# ----------------------------------------------------------------------------- usage reporting


def test_usage_reporting_uses_a_copy_and_never_touches_the_users_llm(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    workflow = demo_workflow(server)
    user_llm = workflow.agents["researcher"].llm
    assert isinstance(user_llm, OpenAI)
    assert workflow.agents["writer"].llm is user_llm
    LlamaIndexAgentAdapter(workflow, "team", module_telemetry)
    assert "stream_options" not in user_llm.additional_kwargs  # the user's object is unchanged
    copy = workflow.agents["researcher"].llm
    assert isinstance(copy, OpenAI)
    assert copy is not user_llm and workflow.agents["writer"].llm is copy  # still shared
    assert copy.additional_kwargs["stream_options"] == {"include_usage": True}

    own = scripted_openai_llm(
        server, additional_kwargs={"stream_options": {"include_usage": False}}
    )
    agent = calc_agent(server)
    agent.llm = own
    adapter = LlamaIndexAgentAdapter(agent, "calc", module_telemetry)
    assert agent.llm is own and [u.action for u in adapter.usage_reporting] == ["kept"]


def test_without_usage_opt_in_a_streamed_run_says_its_usage_is_incomplete(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry, include_usage=False)
    user_llm = adapter.agent.llm
    adapter.run("What is 2 + 3?")
    assert adapter.agent.llm is user_llm and adapter.usage_reporting == []
    usage = adapter.gather_traces()["usage"]
    assert usage["complete"] is False and usage["missing_calls"] == 2
    assert usage["total_tokens"] == 0  # nothing was reported: none is counted
    assert adapter.gather_traces()["issues"] == ["tokens_missing"]
    assert adapter.gather_usage().units == {
        "llm_calls": 2,
        "llm_calls_missing_usage": 2,
        "llm_calls_unpriced": 2,
    }
    assert server.usage_sent_total().total == 0  # the server really sent none


# ----------------------------------------------------------------------------- calling contexts


async def test_run_inside_a_running_event_loop(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry)
    asyncio.get_running_loop()
    assert adapter.run("What is 2 + 3?") == "The sum is 5."
    assert adapter.last_run is not None and adapter.last_run.usage.complete
    assert len(adapter.last_run.tool_calls) == 1


def test_default_telemetry_is_shared_and_created_once() -> None:
    seen: list[Telemetry] = []
    threads = [threading.Thread(target=lambda: seen.append(default_telemetry())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(t) for t in seen}) == 1
    adapter = LlamaIndexAgentAdapter(calc_agent_stub(), "stub")
    assert adapter.telemetry is seen[0]


def calc_agent_stub() -> Any:
    class Stub:
        def run(self, **kwargs: Any) -> None:
            raise NotImplementedError

    return Stub()


# ----------------------------------------------------------------------------- failures


def test_a_raising_tool_is_an_error_in_the_trace_not_in_the_run(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    server.set_script(
        [
            Reply(tool_calls=[ToolCallSpec("explode", {"reason": "boom"})]),
            Reply(content="The tool failed."),
        ]
    )
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", module_telemetry)
    assert adapter.run("Try the tool.") == "The tool failed."
    run = adapter.last_run
    assert run is not None and run.status == "ok"
    (tool,) = run.tool_calls
    assert tool.status == "error" and "the tool failed: boom" in (tool.error or "")
    assert adapter.gather_traces()["agents"]["calc"]["errors"] == 1
    result = next(m for m in adapter.get_messages() if m["role"] == "tool")
    assert result["name"] == "explode" and "boom" in result["content"]


def test_an_llm_http_500_raises_and_the_run_is_still_recorded(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    server.set_script([Reply(status=500)])
    ends: list[Any] = []

    class End(AgentCallback):
        def on_run_end(self, agent: Any, result: Any) -> None:
            ends.append(result)

    adapter = LlamaIndexAgentAdapter(
        calc_agent(server), "calc", module_telemetry, callbacks=[End()]
    )
    with pytest.raises(openai.InternalServerError):
        adapter.run("What is 2 + 3?")
    assert ends == []  # the error propagates as maseval expects
    run = adapter.last_run
    assert run is not None and run.status == "error"
    assert run.llm_calls[0].status == "error"
    (log,) = adapter.logs
    assert log["status"] == "error" and log["error_type"] == "InternalServerError"
    assert log["trace_id"] == run.trace_id and "500" in log["error"]
    traces = adapter.gather_traces()
    assert traces["runs"][0]["status"] == "error"
    assert [m["content"] for m in traces["messages"] if m["role"] == "user"] == ["What is 2 + 3?"]


class BrokenDerivation(Telemetry):
    def run_trace(self, trace_id: str | int, captured: CapturedTrace | None = None) -> RunTrace:
        raise RuntimeError("derivation broke")


class NoRootSpan(Telemetry):
    @contextmanager
    def start_run(self, name: str, attributes: Any = None) -> Iterator[trace_api.Span]:
        raise RuntimeError("telemetry is down")
        yield  # pragma: no cover


@pytest.mark.parametrize(
    ("telemetry_class", "issue"),
    [(BrokenDerivation, "derive_failed"), (NoRootSpan, "telemetry_unavailable")],
)
def test_telemetry_failure_never_loses_the_answer(
    server: ScriptedLLMServer, telemetry_class: type[Telemetry], issue: str
) -> None:
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    with telemetry_class() as broken:
        adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", broken)
        assert adapter.run("What is 2 + 3?") == "The sum is 5."
    assert adapter.last_run is None
    assert adapter.logs[0]["issues"] == adapter.gather_traces()["issues"] == [issue]
    assert adapter.get_messages().to_list() == [{"role": "user", "content": "What is 2 + 3?"}]


# ----------------------------------------------------------------------------- conversations


def test_multi_turn_continues_and_reset_starts_a_new_conversation(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    server.set_script(
        ConversationRouter(
            {
                "First": [*calc_replies(1, 2), Reply(content="Second answer.")],
                "Fresh": [Reply(content="Fresh answer.")],
            }
        )
    )
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", module_telemetry)
    adapter.run("First question")
    first_session = adapter.session_id
    assert adapter.run("Then a second one") == "Second answer."
    users = [m["content"] for m in adapter.get_messages() if m["role"] == "user"]
    assert users == ["First question", "Then a second one"]
    assert len(adapter.get_messages()) == 7  # system, user, call, result, answer, user, answer
    assert [e.request_json["messages"][1]["content"] for e in server.log] == ["First question"] * 3

    adapter.reset_conversation()
    assert adapter.session_id != first_session and len(adapter.get_messages()) == 0
    assert adapter.run("Fresh start") == "Fresh answer."
    assert [m["role"] for m in server.log[-1].request_json["messages"]] == ["system", "user"]
    assert [m["content"] for m in adapter.get_messages() if m["role"] == "user"] == ["Fresh start"]
    assert len(adapter.runs) == 3 and len(adapter.gather_traces()["runs"]) == 3


def test_every_span_of_a_run_carries_session_and_task_labels(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    task = Task(query="What is 2 + 3?", id="task-7")
    seeds = DefaultSeedGenerator(global_seed=1).for_task(task.id).for_repetition(2)
    labels = maseval_labels(task, seeds)
    assert labels == {"task_id": "task-7", "repetition": 2}
    adapter = calc_adapter(server, module_telemetry, **labels, metadata={"suite": "unit"})
    adapter.run(task.query)
    run = adapter.last_run
    assert run is not None
    spans = module_telemetry.spans(run.trace_id)
    assert len(spans) > 5
    for span in spans:
        assert span.attributes["session.id"] == adapter.session_id, span.name
        assert json.loads(span.attributes["metadata"]) == {
            "adapter": "calc",
            "task_id": "task-7",
            "repetition": 2,
            "suite": "unit",
        }
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.name == "calc.run"
    assert root.attributes["maseval.task.id"] == "task-7"
    assert root.attributes["maseval.task.repetition"] == 2
    assert root.attributes["output.value"] == "The sum is 5."


# ----------------------------------------------------------------------------- other agent types


def test_react_and_codeact_agents(server: ScriptedLLMServer, module_telemetry: Telemetry) -> None:
    server.set_script(
        [
            Reply(content=react_action("add", {"a": 20, "b": 22}), usage=Usage(200, 20)),
            Reply(content=react_answer("42"), usage=Usage(260, 15)),
        ]
    )
    react = LlamaIndexAgentAdapter(
        ReActAgent(tools=[add], llm=scripted_openai_llm(server)), "react", module_telemetry
    )
    assert react.run("What is 20 + 22?") == "42"
    run = react.last_run
    assert run is not None
    assert [(t.name, t.arguments, t.output) for t in run.tool_calls] == [
        ("add", {"a": 20, "b": 22}, "42")
    ]
    assert (run.usage.total_tokens, run.usage.complete) == (495, True)

    async def execute(code: str) -> dict[str, Any]:
        return {"output": "6"}

    server.clear_log()
    server.set_script(
        [
            Reply(content=codeact_execute("print(1 + 2 + 3)"), usage=Usage(300, 30)),
            Reply(content="6", usage=Usage(350, 1)),
        ]
    )
    codeact = LlamaIndexAgentAdapter(
        CodeActAgent(code_execute_fn=execute, llm=scripted_openai_llm(server)),
        "code",
        module_telemetry,
    )
    assert codeact.run("Add 1, 2 and 3.") == "6"
    assert codeact.gather_traces()["usage"]["total_tokens"] == 681


def test_calc_prompt_is_the_system_message(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry)
    adapter.run("What is 2 + 3?")
    assert adapter.get_messages()[0] == {"role": "system", "content": CALC_PROMPT, "agent": "calc"}


# ----------------------------------------------------------------------------- core findings


def test_core_run_trace_tool_messages_name_their_tool(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    adapter = calc_adapter(server, module_telemetry)
    adapter.run("What is 2 + 3?")
    run = adapter.last_run
    assert run is not None
    tool_messages = [m for m in run.messages if m["role"] == "tool"]
    assert tool_messages and all(m.get("name") == "add" for m in tool_messages)


@pytest.mark.parametrize("blocking_in_loop", [False, True])
def test_an_agent_used_as_a_tool_gets_its_own_trace(
    server: ScriptedLLMServer, module_telemetry: Telemetry, blocking_in_loop: bool
) -> None:
    server.set_script(
        ConversationRouter(
            {
                "Outer": [
                    Reply(tool_calls=[ToolCallSpec("expert", {"q": "Inner: what is 2 + 3?"})]),
                    Reply(content="The expert says 5."),
                ],
                "Inner": calc_replies(2, 3),
            }
        )
    )
    inner = LlamaIndexAgentAdapter(calc_agent(server), "inner", module_telemetry)

    def expert(q: str) -> str:
        """Ask the expert agent."""
        return inner.run(q)

    async def expert_blocking(q: str) -> str:
        """Ask the expert agent (blocking the event loop it is called on)."""
        return inner.run(q)

    tool = (
        FunctionTool.from_defaults(async_fn=expert_blocking, name="expert")
        if blocking_in_loop
        else FunctionTool.from_defaults(expert)
    )
    outer_agent = FunctionAgent(name="outer", tools=[tool], llm=scripted_openai_llm(server))
    outer = LlamaIndexAgentAdapter(outer_agent, "outer", module_telemetry)
    assert outer.run("Outer question") == "The expert says 5."

    inner_run, outer_run = inner.last_run, outer.last_run
    assert inner_run is not None and outer_run is not None
    assert inner_run.trace_id != outer_run.trace_id
    assert [c.agent for c in inner_run.llm_calls] == ["calc", "calc"]
    assert [c.agent for c in outer_run.llm_calls] == ["outer", "outer"]  # no inner call leaked
    assert [t.name for t in outer_run.tool_calls] == ["expert"]
    assert outer_run.tool_calls[0].output == "The sum is 5."


def test_core_start_run_inside_a_tool_roots_its_own_trace(
    server: ScriptedLLMServer, module_telemetry: Telemetry
) -> None:
    server.set_script(
        ConversationRouter(
            {
                "Outer": [
                    Reply(tool_calls=[ToolCallSpec("expert", {"q": "Inner: what is 2 + 3?"})]),
                    Reply(content="The expert says 5."),
                ],
                "Inner": calc_replies(2, 3),
            }
        )
    )
    inner_agent = calc_agent(server)
    inner_traces: list[str] = []

    async def ask(q: str) -> Any:
        return await inner_agent.run(user_msg=q)

    def expert(q: str) -> str:
        """Ask the expert agent."""
        with module_telemetry.start_run("inner") as span:
            answer = run_sync(lambda: ask(q))
        inner_traces.append(trace_api.format_trace_id(span.get_span_context().trace_id))
        return str(answer)

    outer_agent = FunctionAgent(
        name="outer", tools=[FunctionTool.from_defaults(expert)], llm=scripted_openai_llm(server)
    )

    async def outer() -> Any:
        return await outer_agent.run(user_msg="Outer question")

    assert str(run_sync(outer)) == "The expert says 5."
    (inner_trace,) = inner_traces
    assert len(module_telemetry.run_trace(inner_trace).llm_calls) == 2


class CountingTelemetry(Telemetry):
    """Keeps the trace ids of the runs it derives, in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.derived_ids: list[str] = []

    @property
    def derivations(self) -> int:
        return len(self.derived_ids)

    def run_trace(self, trace_id: str | int, captured: CapturedTrace | None = None) -> RunTrace:
        self.derived_ids.append(str(trace_id))
        return super().run_trace(trace_id, captured)


def test_a_run_is_derived_once_when_its_data_is_first_read(server: ScriptedLLMServer) -> None:
    """run() keeps the captured spans; the first read derives them, later reads reuse it."""
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    telemetry = CountingTelemetry(claim_unscoped=False)
    with telemetry:
        adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", telemetry)
        assert adapter.run("What is 2 + 3?") == "The sum is 5."
        assert telemetry.derivations == 0
        telemetry.capture.clear()  # what the run captured was kept when it ended
        (log,) = adapter.logs
        assert telemetry.derivations == 1
        assert (log["llm_calls"], log["tool_calls"], log["total_tokens"]) == (2, 1, 247)
        run = adapter.last_run
        assert run is not None and run.output == "The sum is 5." and len(run.tool_calls) == 1
        assert adapter.gather_traces()["runs"] == [run.to_dict()]
        assert [m["role"] for m in adapter.get_messages()][-1] == "assistant"
        assert adapter.gather_usage().input_tokens == run.usage.input_tokens
        assert telemetry.derivations == 1


def test_runs_never_read_are_derived_once_too_many_wait(server: ScriptedLLMServer) -> None:
    """A program that never reads its runs holds at most ``max_pending_runs`` runs' spans."""
    server.set_script(
        ConversationRouter({"First": [*calc_replies(1, 2), Reply(content="Second answer.")]})
    )
    telemetry = CountingTelemetry(claim_unscoped=False)
    with telemetry:
        adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", telemetry)
        adapter.max_pending_runs = 1
        adapter.run("First question")
        assert telemetry.derivations == 0
        assert adapter.run("Then a second one") == "Second answer."
        assert telemetry.derivations == 1  # the oldest waiting run
        first = list(telemetry.derived_ids)
        assert [run.output for run in adapter.runs] == ["The sum is 3.", "Second answer."]
        assert len(adapter.logs) == 2 and telemetry.derivations == 2
        assert first == adapter.gather_traces()["trace_ids"][:1]  # the first run's


def test_a_telemetry_that_exports_derives_the_run_when_it_ends(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    """Its export enriches the spans with the run's agents: derived once, at the run's end."""
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    tel = CountingTelemetry(claim_unscoped=False, otlp_json_file=tmp_path / "spans.jsonl")
    with tel:
        adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", tel)
        assert adapter.run("What is 2 + 3?") == "The sum is 5."
        assert tel.derivations == 1
        run = adapter.last_run
        assert run is not None and "export_pending" not in run.issues
        assert tel.derived.get(tel.spans(run.trace_id)) is run  # what its export reuses
        assert tel.derivations == 1


def test_default_telemetry_keeps_no_spans_and_is_replaced_when_closed(
    server: ScriptedLLMServer,
) -> None:
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc-default")
    first = adapter.telemetry
    assert adapter.run("What is 2 + 3?") == "The sum is 5."
    assert first.capture.trace_ids() == [], "the default keeps no spans once a run ends"
    run = adapter.last_run
    assert run is not None and len(run.tool_calls) == 1
    first.shutdown()
    adapter.reset_conversation()
    adapter.run("What is 2 + 3?")
    assert adapter.telemetry is not first and adapter.telemetry is default_telemetry()
    second = adapter.last_run
    assert second is not None and len(second.llm_calls) == 2 and second.output == "The sum is 5."


def test_a_shut_down_telemetry_of_the_users_is_reported_not_replaced(
    server: ScriptedLLMServer,
) -> None:
    telemetry = Telemetry(claim_unscoped=False)
    telemetry.shutdown()
    server.set_script(ConversationRouter({"What is": calc_replies(2, 3)}))
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc-closed", telemetry)
    assert adapter.run("What is 2 + 3?") == "The sum is 5."  # the answer is never lost
    assert adapter.telemetry is telemetry
    assert adapter.logs[-1]["issues"] == ["telemetry_unavailable"]
